"""Read a submission's answers without running it: its definitions, and whether they are its own.

* `load_definitions` executes only a notebook's imports, function and class definitions, literal
  constants and aliases (`f = g`, `f = lambda ...`), never its top-level calls, AFTER patching
  every forbidden library name to fail (at its defining module, at every `robustkeras` module
  that re-exports it, and at the named attribute), so early imports (`from robustkeras.attacks
  import pgd`) and default arguments bind the failing stub. It runs inside the sandbox.
* `own_work_violations` reads the same statements as an AST, in the grader's process: an
  answer's body, decorators, default arguments, the notebook functions it calls (closures),
  class bases and module-level aliases/imports, and reports each way it reaches a forbidden
  name. `importlib` and `getattr` get past it; the run-time patch is the second line.

Example:

```python
from course.checks.notebook import load_definitions, own_work_violations, restore
ns = load_definitions("02_adversarial_examples.ipynb", forbidden=("robustkeras.attacks.fgsm",))
ns["fgsm"]                   # the student's function; robustkeras.attacks.fgsm now raises
restore()                    # undo the patches (tests only: the sandbox never restores)
own_work_violations(open("nb.py").read(), ("fgsm",), ("robustkeras.attacks.fgsm",))
```
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import linecache
import os
import pkgutil
import sys
import threading
from pathlib import Path

__all__ = ["ReferenceUsed", "load_definitions", "own_work_violations", "definition_statements",
           "code_cells", "resolve", "patch_forbidden", "restore"]

# Re-exports of a forbidden name are searched in these packages' loaded modules; other roots
# (`keras.ops.softmax`) are patched at the named attribute only, so the framework's own
# internals keep working.
SCAN_ROOTS = ("robustkeras",)
# Functions under these roots are patched at run time; TensorFlow's and JAX's own functions
# (`tf.nn.softmax`) are what Keras itself calls, and other libraries' classes what it builds, so
# those are refused by the AST check only.
RUNTIME_ROOTS = ("robustkeras", "keras", "scipy")
LIBRARY = "robustkeras"   # the package whose every function and class is refused unless allowed
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_UNDO = []  # (owner, attribute, had_it, old value), in patch order
# What no answer may reach, whatever the exercise: ways to reach code by a name the AST cannot read
# (a computed `getattr`, `importlib`, `sys.modules`, `gc`, pickles, registries that look a function
# up by string) and private or low-level namespaces that hold a second copy of the library's and
# the framework's functions (`keras.src`, `tf.raw_ops`, `tf.compat`). A dotted name is refused when
# it is one of these or lies under one.
INDIRECT = ("builtins.getattr", "builtins.__import__", "builtins.eval", "builtins.exec", "builtins.compile",
            "builtins.globals", "builtins.locals", "builtins.vars", "builtins.__builtins__", "builtins.__loader__",
            "builtins.breakpoint", "importlib", "sys.modules", "sys._getframe", "gc", "pickle", "_pickle", "marshal",
            "copyreg", "dill", "cloudpickle", "joblib", "ctypes", "types", "inspect", "runpy", "pkgutil", "zipimport",
            "operator.attrgetter", "operator.methodcaller", "keras.src", "keras.saving",
            "keras.utils.get_registered_object", "keras.utils.deserialize_keras_object",
            "keras.activations.get", "keras.activations.deserialize", "keras.losses.get", "keras.losses.deserialize",
            "keras.metrics.get", "keras.metrics.deserialize", "tensorflow.raw_ops", "tensorflow.compat",
            "tensorflow.python", "jax._src", "course")
# Attributes that open a namespace or a function's insides (`keras.ops.__dict__["softmax"]`).
INDIRECT_ATTRIBUTES = frozenset({
    "__dict__", "__globals__", "__builtins__", "__getattribute__", "__getattr__", "__subclasses__", "__code__",
    "__closure__", "__loader__", "__spec__", "__reduce__", "__reduce_ex__", "__self__", "__wrapped__", "__func__",
    "__mro__", "__bases__", "__base__", "__import__", "__defaults__", "__kwdefaults__", "f_globals", "f_locals",
    "f_back", "gi_frame", "tb_frame"})
# Names a function may use without a statement binding them (the grader's run defines these).
_FREE_OK = frozenset({"GRADING", "__name__", "display", "get_ipython", "In", "Out"})
INDIRECT_USE = "indirect: "
UNBOUND_USE = "unbound: "


# CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread: two
# threads parsing at once (the grader's `--jobs`) can fail with "SystemError: AST constructor
# recursion depth mismatch". Every parse of the grader's process goes through `parse`.
AST_LOCK = threading.RLock()


def parse(source):
    """`ast.parse(source)`, one thread at a time (see `AST_LOCK`)."""
    with AST_LOCK:
        return ast.parse(source)


class ReferenceUsed(AssertionError):
    """Raised by a patched library name: the answer called the reference implementation."""


# --------------------------------------------------------------------------- reading a notebook
def code_cells(source_or_path):
    """The code cells of a notebook, as source strings.

    Args:
        source_or_path: a `.ipynb` or jupytext `.py` path (str or Path), notebook JSON text, or
            Python source (a `.py` text is split into cells at `# %%` lines).

    Returns:
        list of str, one per code cell.
    """
    text, is_notebook = _read(source_or_path)
    if is_notebook:
        try:
            nb = json.loads(text)
        except ValueError:
            return []
        cells = []
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            cells.append("".join(map(str, src)) if isinstance(src, list) else str(src))
        return cells
    cells, current = [], []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    cells.append("\n".join(current))
    return [c for c in cells if c.strip()]


def _read(source_or_path):
    if isinstance(source_or_path, os.PathLike) or (
            isinstance(source_or_path, str) and "\n" not in source_or_path
            and source_or_path.endswith((".ipynb", ".py")) and os.path.isfile(source_or_path)):
        path = Path(source_or_path)
        return path.read_text(encoding="utf-8", errors="replace"), path.suffix == ".ipynb"
    if not isinstance(source_or_path, str):
        raise TypeError(f"Expected a path or source text. Received: {type(source_or_path).__name__}")
    return source_or_path, source_or_path.lstrip().startswith("{")


def definition_statements(source_or_path):
    """The statements graded code may rely on, in notebook order, as AST nodes.

    Imports (except otter's), `def`, `async def`, `class`, and assignments (annotated or not)
    to plain names of a literal, a name, an attribute, a lambda, or arithmetic on literals,
    names and attributes (`EPS = 8 / 255`; no calls). A cell that does not parse is skipped; IPython
    magics (`%...`, `!...`) are dropped first.
    """
    kept = []
    for src in code_cells(source_or_path):
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = parse("\n".join(lines))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if not _imports_otter(node):
                    kept.append(node)
            elif isinstance(node, _KEEP):
                kept.append(node)
            elif isinstance(node, ast.Assign) and _alias_or_literal(node):
                kept.append(node)
            elif isinstance(node, ast.AnnAssign) and node.simple and node.value is not None \
                    and _alias_or_literal(ast.Assign(targets=[node.target], value=node.value)):
                kept.append(node)   # `DIVISOR: float = 255.0`
    return kept


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.UAdd, ast.USub)


def _alias_or_literal(node):
    if not all(_plain_target(t) for t in node.targets):
        return False
    if isinstance(node.value, (ast.Name, ast.Attribute, ast.Lambda)):
        return True
    try:
        ast.literal_eval(node.value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _constant_arithmetic(node.value)


def _constant_arithmetic(node, depth=0):
    """`8 / 255`, `-EPS`, `(EPS / 4, 2 * np.pi)`: arithmetic on literals, names and attributes (no calls)."""
    if depth > 20:
        return False
    if isinstance(node, (ast.Constant, ast.Name, ast.Attribute)):
        return isinstance(node, ast.Constant) or _chain(node) is not None
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant_arithmetic(e, depth + 1) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _ARITHMETIC) and _constant_arithmetic(node.operand, depth + 1)
    if isinstance(node, ast.BinOp):
        small_power = not isinstance(node.op, ast.Pow) or (
            isinstance(node.right, ast.Constant) and isinstance(node.right.value, (int, float))
            and abs(node.right.value) <= 64)
        return isinstance(node.op, _ARITHMETIC) and small_power and \
            _constant_arithmetic(node.left, depth + 1) and _constant_arithmetic(node.right, depth + 1)
    return False


def _plain_target(target):
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain_target(t) for t in target.elts)


def _imports_otter(node):
    names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
    return any(n and n.split(".")[0] == "otter" for n in names)


# --------------------------------------------------------------------------- forbidden names
def resolve(dotted):
    """Find a dotted library name: `(owner, attribute, object)`.

    `robustkeras.attacks.pgd` is the function the package re-exports; `robustkeras.attacks.pgd.pgd`
    the same function through its module; `robustkeras.attacks.steps.L2Step.project` a method.

    Raises:
        LookupError: if the name does not exist (a library rename: update the Check).
    """
    path = _path(dotted)
    parts = str(dotted).split(".")
    if len(path) < len(parts):
        where = ".".join(parts[:len(path)]) or "(nothing)"
        raise LookupError(f"{dotted!r} does not exist: nothing named {parts[len(path)]!r} in {where}")
    owner = path[-2] if len(path) > 1 else None
    return owner, parts[-1], path[-1]


def installed(dotted):
    """Whether the package a dotted name starts with is installed (`jax` and `scipy` are optional:
    an answer cannot reach a package that is not there)."""
    import importlib.util

    root = str(dotted).split(".")[0]
    try:
        return root in sys.modules or importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


def _path(dotted):
    """The objects a dotted name walks through, as far as they exist. Where `pkg.mod` is both a
    function `pkg` re-exports and a submodule, the submodule is taken when the name goes on."""
    parts = str(dotted).split(".")
    try:
        obj = importlib.import_module(parts[0])
    except Exception:
        return []
    path = [obj]
    for i in range(1, len(parts)):
        part, last = parts[i], i == len(parts) - 1
        value = getattr(obj, part, _MISSING)
        if value is _MISSING or (not last and not _has(value, parts[i + 1])):
            module = _import(".".join(parts[:i + 1]))
            if module is not None:
                value = module
        if value is _MISSING:
            return path
        obj = value
        path.append(obj)
    return path


_MISSING = object()


def _has(obj, name):
    try:
        getattr(obj, name)
        return True
    except Exception:
        return False


def _import(name):
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _stub(name):
    message = f"reference implementation used: `{name}` is the library's answer; write it yourself"

    def reference_used(*args, **kwargs):
        raise ReferenceUsed(message)

    reference_used.__name__ = reference_used.__qualname__ = name.rsplit(".", 1)[-1]
    reference_used.__doc__ = message
    return reference_used


def _set(owner, attribute, value, record=True):
    had = attribute in getattr(owner, "__dict__", {})
    old = owner.__dict__[attribute] if had else None
    if isinstance(old, staticmethod):
        value = staticmethod(value)
    elif isinstance(old, classmethod):
        value = classmethod(lambda cls, *a, **k: value(*a, **k))
    try:
        setattr(owner, attribute, value)
    except (AttributeError, TypeError):
        return
    if record:
        _UNDO.append((owner, attribute, had, old))


def patch_forbidden(forbidden, *, undoable=True):
    """Make every forbidden name raise `ReferenceUsed`, wherever the library exposes it.

    Patched: the named attribute, and, for names under `SCAN_ROOTS`, every attribute of every
    loaded module of that package that holds the same object (its defining module and every
    re-export). Modules imported later copy the patched attribute. `restore()` undoes, unless
    `undoable=False` (the sandbox: the originals are kept nowhere in this module).

    An in-process patch can be got around (`importlib.reload`, a table built at import); the
    sandbox therefore imports a copy of `robustkeras` whose forbidden names are stubs in their
    source (`course.checks.stubbed`), and patches only the other names (`keras.ops.softmax`).

    Raises:
        LookupError: if a name does not exist.
    """
    targets = [(name, *resolve(name)) for name in forbidden   # all found before any is patched
               if str(name).split(".")[0] in RUNTIME_ROOTS and installed(name)]
    # another library's class (`keras.losses.SparseCategoricalCrossentropy`) is what the framework
    # builds itself, and another exercise may need it: the AST check alone refuses it
    targets = [t for t in targets if t[0].split(".")[0] in SCAN_ROOTS or not inspect.isclass(t[3])]
    forbidden = [t[0] for t in targets]
    for root in {name.split(".")[0] for name in forbidden} & set(SCAN_ROOTS):
        _import_all(root)   # every re-export exists now, so it is patched (and restored) too
    for name, owner, attribute, obj in targets:
        stub = _stub(name)
        root = name.split(".")[0]
        if root in SCAN_ROOTS:
            for mod_name, module in list(sys.modules.items()):
                if module is None or not (mod_name == root or mod_name.startswith(root + ".")):
                    continue
                for key, value in list(getattr(module, "__dict__", {}).items()):
                    if value is obj:
                        _set(module, key, stub, undoable)
        if getattr(owner, attribute, None) is not stub:
            _set(owner, attribute, stub, undoable)


def _import_all(root):
    package = sys.modules.get(root) or _import(root)
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=root + "."):
        if info.name not in sys.modules:
            _import(info.name)


def restore():
    """Undo every patch of `patch_forbidden` / `load_definitions` in this process (for tests)."""
    while _UNDO:
        owner, attribute, had, old = _UNDO.pop()
        try:
            if had:
                setattr(owner, attribute, old)
            else:
                delattr(owner, attribute)
        except (AttributeError, TypeError):
            pass


# --------------------------------------------------------------------------- loading
def load_definitions(source_or_path, *, forbidden=(), undoable=True):
    """Execute a notebook's definitions (never its top-level calls) in a fresh namespace.

    Every forbidden name is patched to raise `ReferenceUsed` BEFORE anything runs. A definition
    that raises is skipped (its questions fail on their own). The patches stay in place (the
    sandboxed process ends after its probes); `restore()` undoes them.

    Args:
        source_or_path: a `.ipynb` / jupytext `.py` path, notebook JSON text or Python source.
        forbidden: dotted library names to patch (the union over the questions probed).
        undoable: keep the originals for `restore()` (tests); the sandbox passes False.

    Returns:
        dict: the namespace (`GRADING` is True in it, as in the autograder's run).

    Example:

    >>> ns = load_definitions("def f(x):\\n    return 2 * x\\nprint('never runs')\\n")
    >>> ns["f"](3)
    6
    """
    patch_forbidden(forbidden, undoable=undoable)
    ns = {"__name__": "__submission__", "__builtins__": builtins, "GRADING": True}
    for i, node in enumerate(definition_statements(source_or_path)):
        try:
            # registered like an IPython cell, so `inspect.getsource` (tf.function's autograph) finds it
            src, filename = ast.unparse(node) + "\n", f"<submission-{i}>"
            linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
            exec(compile(src, filename, "exec"), ns)
        except (Exception, SystemExit):  # a broken definition only loses its own questions
            continue
    return ns


# --------------------------------------------------------------------------- own work (AST)
NOT_ALLOWED = "not allowed: "


def _library_definition(obj):
    """Whether `obj` is a function or class defined in `robustkeras` (modules and constants are not)."""
    try:
        obj = inspect.unwrap(obj) if callable(obj) else obj
    except ValueError:
        return False
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        return False
    module = getattr(obj, "__module__", None) or ""
    return module == LIBRARY or module.startswith(LIBRARY + ".")


class _Def:
    """A notebook-level definition (`def`, `class`, `lambda` alias) and the bindings at its definition."""

    def __init__(self, name, node, env):
        self.name, self.node, self.env = name, node, env


def _bindings(statements):
    """Walk the kept statements in order: name -> dotted library name or `_Def`."""
    env = {}
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    env[alias.asname] = alias.name
                else:
                    env[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                continue
            for alias in node.names:
                if alias.name != "*":
                    env[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                else:   # `from m import *`: a name no statement binds is looked up in m (see `_dotted`)
                    env["*"] = [*env.get("*", []), node.module]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            env[node.name] = _Def(node.name, node, dict(env))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = _alias_value(node.value, env)
            for target in getattr(node, "targets", None) or [node.target]:
                for name in _target_names(target):
                    if value is None:
                        env.pop(name, None)
                    else:
                        env[name] = value if not isinstance(value, ast.Lambda) else _Def(name, value, dict(env))
    return env


def _target_names(target):
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _target_names(t)]
    return []


def _alias_value(value, env):
    if isinstance(value, ast.Lambda):
        return value
    chain = _chain(value)
    if chain is None:
        return None
    head, rest = chain[0], chain[1:]
    bound = env.get(head) if head in env else _free(head, env)
    if isinstance(bound, str):
        return ".".join([bound, *rest])
    if isinstance(bound, _Def) and not rest:
        return bound
    return None


def _free(head, env):
    """A name no statement binds: a builtin (`builtins.getattr`), a name of a star-imported module,
    or None (nothing the grader's run defines)."""
    if head == "*":
        return None
    if hasattr(builtins, head):
        return f"builtins.{head}"
    for module in env.get("*", []):   # only a module the grader has loaded: reading never imports
        if _has(_loaded(module) or object(), head):
            return f"{module}.{head}"
    return None


def _loaded(dotted):
    """The object a dotted name names, walked through modules already loaded and attributes only
    (the grader's process never imports a module because a notebook names it); None if not found."""
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    for i in range(1, len(parts)):
        if obj is None:
            return None
        try:
            value = getattr(obj, parts[i], _MISSING)   # a loaded package's lazy attributes are its own
        except Exception:
            value = _MISSING
        if value is _MISSING:
            value = sys.modules.get(".".join(parts[:i + 1]), _MISSING)
        obj = None if value is _MISSING else value
    return obj


def _indirect(dotted):
    """Whether a dotted name is, or lies under, one of `INDIRECT`."""
    return any(dotted == name or dotted.startswith(name + ".") for name in INDIRECT)


def _chain(node):
    """`a.b.c` -> ["a", "b", "c"]; None for anything that is not a name with attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _local_names(func):
    """Names a function binds itself (parameters, assignments, loops, ...) and its local imports."""
    stores, imports = set(), {}
    args = func.args
    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if a is not None:
            stores.add(a.arg)
    body = func.body if isinstance(func.body, list) else [func.body]
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                stores.add(node.id)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                stores.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                stores.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                stores.add(node.rest)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stores.add(node.name)
            elif isinstance(node, ast.arg):
                stores.add(node.arg)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]   # `import a.b` binds `a`; `import a.b as m` binds `a.b`
                    imports[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return stores - set(imports), imports


class _Reach:
    """Which forbidden objects a set of answers reaches; with an allow-list, which `robustkeras`
    functions and classes outside it."""

    def __init__(self, forbidden, allowed=None):
        self.targets = []  # (name, owner, object)
        forbidden = [name for name in forbidden if installed(name)]
        for name in forbidden:
            owner, _, obj = resolve(name)
            self.targets.append((name, owner, obj))
        self.roots = {name.split(".")[0] for name in forbidden}
        self.allowed = None
        self.binds_globals = False   # set by `own_work_violations` (see `_binds_globals`)
        if allowed is not None:
            self.roots.add(LIBRARY)
            self.allowed = [resolve(name)[2] for name in allowed]
        self._cache = {}

    def hits(self, dotted):
        """Forbidden names that `dotted`, or an object on its way, is; and `dotted` itself when it
        is a library function or class that the allow-list does not hold."""
        if dotted.split(".")[0] not in self.roots:
            return []
        path = self.path(dotted)
        found = [name for name, _, target in self.targets if any(obj is target for obj in path)]
        if self.allowed is not None and dotted.split(".")[0] == LIBRARY and not found:
            definitions = [obj for obj in path if _library_definition(obj)]
            if definitions and not any(obj is allowed for obj in path for allowed in self.allowed):
                found.append(NOT_ALLOWED + dotted)
        return found

    def path(self, dotted):
        """`_path(dotted)`, cached."""
        if dotted not in self._cache:
            self._cache[dotted] = _path(dotted)
        return self._cache[dotted]

    def inherited(self, dotted):
        """Forbidden names a class named `dotted` is or inherits (a method of a base class)."""
        if dotted.split(".")[0] not in self.roots:
            return []
        path = _path(dotted)
        obj = path[-1] if len(path) == len(dotted.split(".")) else None
        if not inspect.isclass(obj):
            return []
        return [name for name, owner, _ in self.targets if inspect.isclass(owner) and issubclass(obj, owner)]


def own_work_violations(source, names, forbidden, *, allowed=None, statements=None):
    """Ways the answers `names` reach a forbidden library name, read from the source (AST).

    Followed: each answer's body, decorators, default arguments and annotations, the class
    bases (a class that inherits a forbidden method reaches it), the notebook functions and
    aliases it refers to (transitively), and module-level and local imports. Bindings are taken
    in notebook order: decorators, defaults and bases see the names bound when the definition
    runs, bodies the names bound at the end.

    Args:
        source: what `load_definitions` accepts (path, notebook JSON, Python source).
        names: the answer's notebook names, e.g. `("pgd",)`.
        forbidden: dotted library names, e.g. `("robustkeras.attacks.pgd",)`.
        allowed: None (no allow-list), or the `robustkeras` names the answers may use
            (`Check.allowed`): reaching any other function or class of `robustkeras` is a
            violation too.
        statements: `definition_statements(source)` when already parsed (the grader parses a
            notebook once for all its questions).

    Returns:
        list of str: one message per (answer, forbidden name) reached; empty when clean.

    Example:

    >>> src = "from robustkeras.attacks import fgsm as f\\ndef fgsm(m, x, y, eps):\\n    return f(m, x, y, eps)\\n"
    >>> own_work_violations(src, ("fgsm",), ("robustkeras.attacks.fgsm",))[0][:40]
    '`fgsm` reaches `robustkeras.attacks.fgsm'
    """
    if not forbidden and allowed is None:
        return []
    reach = _Reach(forbidden, allowed)
    statements = definition_statements(source) if statements is None else statements
    final = _bindings(statements)
    reach.binds_globals = _binds_globals(statements)
    messages = []
    for answer in names:
        found = {}
        start = final.get(answer)
        if isinstance(start, str):
            for hit in reach.hits(start):
                found.setdefault(hit, f"`{answer} = {start}`")
        elif isinstance(start, _Def):
            try:
                _walk_def(start, final, reach, found, set())
            except (RecursionError, MemoryError):
                found.setdefault("(unreadable)", "source too deeply nested to check")
        for hit, via in found.items():
            if hit.startswith(INDIRECT_USE):
                messages.append(f"`{answer}` uses `{hit[len(INDIRECT_USE):]}` through {via}, a way around the "
                                "own-work check (computed getattr, importlib, sys.modules, gc, pickle, registries, "
                                "private modules such as keras.src, tf.raw_ops): call what it uses directly.")
            elif hit.startswith(UNBOUND_USE):
                messages.append(f"`{answer}` uses `{hit[len(UNBOUND_USE):]}`, which no import, def, class or constant "
                                "of the notebook defines (the grader runs only those): define it in one of them.")
            elif hit.startswith(NOT_ALLOWED):
                allowed_text = ", ".join(f"`{a}`" for a in allowed) if allowed else "no function of robustkeras"
                messages.append(f"`{answer}` uses `{hit[len(NOT_ALLOWED):]}` through {via}, which this exercise "
                                f"does not allow (allowed from the library: {allowed_text}): write it yourself.")
            elif hit.split(".")[0] == LIBRARY:
                messages.append(f"`{answer}` reaches `{hit}` (the library's reference implementation) through "
                                f"{via}: write it yourself.")
            else:
                messages.append(f"`{answer}` reaches `{hit}` (it computes this exercise's answer for you) through "
                                f"{via}: write it yourself.")
    return messages


_GLOBAL_WRITERS = frozenset({"globals", "vars", "locals", "exec", "eval", "setattr", "__import__", "compile",
                             "__builtins__", "builtins", "importlib", "ctypes", "gc", "inspect", "sys"})


def _binds_globals(statements):
    """Whether the notebook's definitions hold code that can bind a module-level name the AST does not
    see (`global`, a walrus in a default, `globals()`, `setattr`, `sys.modules`, ...). Only then is a
    name that no statement binds a violation: otherwise it is an honest NameError at run time."""
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Global, ast.NamedExpr)):
                return True
            if isinstance(node, ast.Name) and node.id in _GLOBAL_WRITERS:
                return True
            if isinstance(node, ast.Attribute) and node.attr in INDIRECT_ATTRIBUTES:
                return True
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                    (name or "").split(".")[0] in _GLOBAL_WRITERS
                    for name in [getattr(node, "module", None), *(a.name for a in node.names)]):
                return True
    return False


def _walk_def(item, final, reach, found, seen):
    if id(item.node) in seen:
        return
    seen.add(id(item.node))
    node = item.node
    todo = []  # (expression or statement, env, local names, local imports, body)
    if isinstance(node, ast.ClassDef):
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            todo.append((expr, item.env, set(), {}, False))
        for base in node.bases:
            dotted = _dotted(base, item.env, set(), {})
            if isinstance(dotted, str):
                for hit in reach.inherited(dotted):
                    found.setdefault(hit, f"its base class `{ast.unparse(base)}`")
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _function_parts(stmt, item.env, final, todo)
            else:
                todo.append((stmt, item.env, set(), {}, False))
    else:
        _function_parts(node, item.env, final, todo)
    for tree, env, stores, imports, body in todo:
        nodes = list(ast.walk(tree))
        inner = {id(sub.value) for sub in nodes if isinstance(sub, ast.Attribute)}  # judge whole chains only
        for sub in nodes:
            if isinstance(sub, ast.Attribute) and sub.attr in INDIRECT_ATTRIBUTES:
                found.setdefault(INDIRECT_USE + sub.attr, f"`{_short(sub)}`")
            elif isinstance(sub, ast.Call) and _constant_getattr(sub, env, stores, imports):
                inner.add(id(sub.func))   # `getattr(keras.ops, "softmax")` is read as `keras.ops.softmax`
                chain = _dotted(sub.args[0], env, stores, imports)
                if isinstance(chain, str):
                    inner.add(id(sub.args[0]))
                    _judge(f"{chain}.{sub.args[1].value}", sub, reach, found)
        for sub in nodes:
            if id(sub) in inner or not isinstance(sub, (ast.Attribute, ast.Name)) or not isinstance(sub.ctx, ast.Load):
                continue
            target = sub
            bound = _dotted(target, env, stores, imports)
            if isinstance(bound, str):
                _judge(bound, target, reach, found)
            elif isinstance(bound, _Def):
                _walk_def(bound, final, reach, found, seen)
            elif body and reach.binds_globals and isinstance(target, ast.Name) and target.id not in _FREE_OK \
                    and target.id not in stores | set(imports) | set(env):
                found.setdefault(UNBOUND_USE + target.id, f"`{target.id}`")


def _short(node):
    return ast.unparse(node)[:60]


def _constant_getattr(call, env, stores, imports):
    """Whether `call` is `getattr(obj, "literal")` or `getattr(obj, "literal", default)`."""
    return (_dotted(call.func, env, stores, imports) == "builtins.getattr" and 2 <= len(call.args) <= 3
            and not call.keywords and not any(isinstance(a, ast.Starred) for a in call.args)
            and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str))


def _judge(dotted, node, reach, found):
    """Record what the dotted name `dotted` (written as `node`) reaches: forbidden names, names
    outside the allow-list, a way to reach code by name, a module used as a value."""
    for hit in reach.hits(dotted):
        found.setdefault(hit, f"`{_short(node)}`")
    if _indirect(dotted):
        found.setdefault(INDIRECT_USE + dotted, f"`{_short(node)}`")
    elif not dotted.startswith("builtins.") and dotted.count(".") < 8:
        if inspect.ismodule(_loaded(dotted)):
            found.setdefault(INDIRECT_USE + dotted + " (a module as a value)", f"`{_short(node)}`")


def _function_parts(func, def_env, final, todo):
    """Definition-time parts (decorators, defaults, annotations) and the call-time body."""
    args = func.args
    for expr in [*getattr(func, "decorator_list", []), *args.defaults, *(d for d in args.kw_defaults if d is not None)]:
        todo.append((expr, def_env, set(), {}, False))
    stores, imports = _local_names(func)
    body = func.body if isinstance(func.body, list) else [func.body]
    for stmt in body:
        todo.append((stmt, final, stores, imports, True))


def _dotted(node, env, stores, imports):
    """What a name or attribute chain refers to: a dotted library name, a `_Def`, or None."""
    chain = _chain(node)
    if chain is None:
        return None
    head, rest = chain[0], chain[1:]
    if head in imports:
        bound = imports[head]
    elif head in stores:
        return None
    else:
        bound = env.get(head) if head in env else _free(head, env)
    if isinstance(bound, str):
        return ".".join([bound, *rest])
    if isinstance(bound, _Def) and not rest:
        return bound
    return None

"""A copy of the `robustkeras` package whose forbidden names are stubs (grader's process only).

The sandbox imports `robustkeras` from this copy, never from the installed package (which
`course/sandbox.py` hides): each forbidden function, method or class has its body replaced, in
its DEFINING module's source (an AST transform), by `raise ReferenceUsed(...)`. With an
allow-list (`allowed=`, the stage's `Check.allowed`), every top-level function and class of the
package is stubbed except those the allowed names need (`kept_definitions`: what their bodies,
decorators and bases refer to, transitively, and what the modules call while they import). Every way of reaching the reference from inside the
sandbox then finds the stub: re-exports, tables built at import (`LOSSES["dlr"]`),
`importlib.reload`, `inspect.getsource`; the original source is not in the sandbox at all.
Only `robustkeras` names are rewritten; other forbidden names (`keras.ops.softmax`) stay
in-process patches (`course.checks.notebook.patch_forbidden`).

Example:

```python
from course.checks.stubbed import stubbed_copy
root = stubbed_copy(("robustkeras.attacks.fgsm",), "/tmp/lib")   # /tmp/lib/robustkeras
# PYTHONPATH=/tmp/lib python -c "import robustkeras.attacks as a; a.fgsm(None, None, None, 0.1)"
#   -> ReferenceUsed: reference implementation used: `robustkeras.attacks.fgsm` ...
```
"""

import ast
import importlib.util
import inspect
import os
import shutil
from pathlib import Path

__all__ = ["stubbed_copy", "stub_targets", "kept_definitions", "library_stubs", "ROOT"]

ROOT = "robustkeras"
_ERROR = "_RKReferenceUsed"
_HELPER = (f"class {_ERROR}(AssertionError):\n"
           "    '''Raised by a stubbed library name: the answer called the reference implementation.'''\n"
           f"{_ERROR}.__name__ = {_ERROR}.__qualname__ = 'ReferenceUsed'\n"
           "def _rk_message(name):\n"
           "    return f'reference implementation used: `{name}` is the library\\'s answer; write it yourself'\n")


def _parse(source):
    from course.checks.notebook import parse

    return parse(source)


def stub_targets(forbidden):
    """Where each forbidden `robustkeras` name is defined: `{module name: {qualname: dotted name}}`.

    A function or class is stubbed where it is defined (`robustkeras.attacks.pgd` -> module
    `robustkeras.attacks.pgd`, qualname `pgd`); a method at the class named (`L2Step.project`),
    added there when the class inherits it.

    Raises:
        LookupError: a name that does not exist, or is not a function, method or class defined
            in a module's source (update the Check).
    """
    from course.checks.notebook import resolve

    targets = {}
    for name in forbidden:
        if str(name).split(".")[0] != ROOT:
            continue
        owner, attribute, obj = resolve(name)
        if inspect.isclass(owner):
            module, qualname = owner.__module__, f"{owner.__qualname__}.{attribute}"
        else:
            obj = inspect.unwrap(obj) if callable(obj) else obj
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                raise LookupError(f"{name!r} is a {type(obj).__name__}: only functions, methods and classes "
                                  "can be stubbed")
            module, qualname = obj.__module__, obj.__qualname__
        if "<locals>" in qualname or not module.startswith(ROOT):
            raise LookupError(f"{name!r} is defined at {module}.{qualname}: not a top-level definition of {ROOT}")
        targets.setdefault(module, {})[qualname] = name
    return targets


def stubbed_copy(forbidden, dest, allowed=None):
    """Copy the installed `robustkeras` to `dest/robustkeras`, forbidden names stubbed.

    Args:
        forbidden: dotted names (other roots than `robustkeras` are ignored).
        dest: an existing folder; the copy goes into `dest/robustkeras` (world-readable).
        allowed: None, or the allow-list: every definition that `kept_definitions(allowed)`
            does not keep is stubbed too.

    Returns:
        Path: `dest/robustkeras`.
    """
    source = _package_dir()
    target = Path(dest) / ROOT
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info"))
    targets = stub_targets(forbidden)
    if allowed is not None:
        for module, qualnames in _unkept(allowed).items():
            for qualname in qualnames:
                targets.setdefault(module, {}).setdefault(qualname, f"{module}.{qualname}")
    for module, qualnames in targets.items():
        path = target.joinpath(*module.split(".")[1:])
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        path.write_text(_rewrite(path.read_text(encoding="utf-8"), qualnames, module), encoding="utf-8")
    for folder, dirs, files in os.walk(target):
        os.chmod(folder, 0o755)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o644)
    return target


def _rewrite(source, qualnames, module):
    tree = _parse(source)
    for qualname, name in qualnames.items():
        parts = qualname.split(".")
        body = tree.body
        for part in parts[:-1]:   # the class holding a method
            cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
            if cls is None:
                raise LookupError(f"{module}.{qualname}: class {part!r} not found in the source")
            body = cls.body
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == parts[-1]), None)
        if node is None and len(parts) > 1:   # an inherited method: a stub of its own in the class
            body.append(_stub_function(parts[-1], name))
        elif node is None:
            raise LookupError(f"{module}.{qualname}: no def or class of that name in the source")
        else:
            _stub_node(node, name)
    at = 0
    while at < len(tree.body) and (
            (isinstance(tree.body[at], ast.ImportFrom) and tree.body[at].module == "__future__")
            or (at == 0 and isinstance(tree.body[at], ast.Expr) and isinstance(tree.body[at].value, ast.Constant))):
        at += 1
    tree.body[at:at] = _parse(_HELPER).body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _raise(name):
    return _parse(f"raise {_ERROR}(_rk_message({name!r}))").body[0]


def _stub_node(node, name):
    if isinstance(node, ast.ClassDef):   # every method of the class (and of its inner classes)
        for sub in node.body:
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                _stub_node(sub, name)
        return
    doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) and \
        isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str) else None
    node.body = ([doc] if doc else []) + [_raise(name)]


def _stub_function(attribute, name):
    return _parse(f"def {attribute}(*args, **kwargs):\n    raise {_ERROR}(_rk_message({name!r}))").body[0]


# --------------------------------------------------------------------------- the allow-list's closure
def _package_dir():
    return Path(importlib.util.find_spec(ROOT).submodule_search_locations[0])


def _modules():
    """`{module name: source path}` of every module of the package, read from its files."""
    root = _package_dir()
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        found[".".join((ROOT, *parts))] = path
    return found


def _definitions(path):
    """Top-level `def` and `class` nodes of a module's source, by name."""
    tree = _parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}, tree


def _definition_of(obj):
    """`(module, top-level name)` of a `robustkeras` function or class (a method: its class), or None."""
    try:
        obj = inspect.unwrap(obj) if callable(obj) else obj
    except ValueError:
        return None
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    module = getattr(obj, "__module__", None) or ""
    if not (module == ROOT or module.startswith(ROOT + ".")):
        return None
    return module, obj.__qualname__.split(".")[0]


def _local_imports(node, module):
    """`{name: object}` bound by the imports inside `node` (function-level imports)."""
    bound = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                target = alias.name if alias.asname else alias.name.split(".")[0]
                obj = _import_quietly(target)
                if obj is not None:
                    bound[alias.asname or target] = obj
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level:
                package = module.split(".")
                package = package[:len(package) - sub.level + (1 if _is_package(module) else 0)]
                base = ".".join([*package, base] if base else package)
            parent = _import_quietly(base)
            for alias in sub.names:
                obj = getattr(parent, alias.name, None) if parent is not None else None
                if obj is None:
                    obj = _import_quietly(f"{base}.{alias.name}")
                if obj is not None:
                    bound[alias.asname or alias.name] = obj
    return bound


def _is_package(module):
    return hasattr(_import_quietly(module), "__path__")


def _import_quietly(name):
    try:
        return importlib.import_module(name) if name else None
    except Exception:
        return None


def _referenced(node, namespace, module=None):
    """Objects that the names and attribute chains under `node` refer to in `namespace` (and in
    the imports inside `node`)."""
    from course.checks.notebook import _chain

    if module is not None:
        namespace = {**namespace, **_local_imports(node, module)}
    nodes = list(ast.walk(node))
    inner = {id(sub.value) for sub in nodes if isinstance(sub, ast.Attribute)}
    for sub in nodes:
        if id(sub) in inner or not isinstance(sub, (ast.Name, ast.Attribute)):
            continue
        chain = _chain(sub)
        if not chain or chain[0] not in namespace:
            continue
        obj = namespace[chain[0]]
        yield obj
        for part in chain[1:]:
            try:
                obj = getattr(obj, part)
            except Exception:
                break
            yield obj


def _members(obj):
    """A referenced object and, for a class, its `robustkeras` bases; for a table
    (dict, list, tuple, set), its values."""
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    if inspect.isclass(obj):
        return list(obj.__mro__)
    return [obj]


def _import_time_nodes(tree):
    """What a module runs while it imports: calls, decorators, class bases and default
    arguments of its top-level statements (function bodies excluded)."""
    for stmt in tree.body:
        if _is_main_block(stmt):
            continue
        todo = [stmt]
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from getattr(node, "decorator_list", [])
                todo.extend(node.args.defaults)      # a call there runs at import; a reference does not
                todo.extend(d for d in node.args.kw_defaults if d is not None)
                continue
            if isinstance(node, ast.ClassDef):
                yield from node.decorator_list
                yield from node.bases
                yield from (k.value for k in node.keywords)
                todo.extend(node.body)
                continue
            if isinstance(node, ast.Call):
                yield node.func
            todo.extend(ast.iter_child_nodes(node))


def _is_main_block(stmt):
    """`if __name__ == "__main__":` (never runs on import)."""
    return isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare) and \
        isinstance(stmt.test.left, ast.Name) and stmt.test.left.id == "__name__"


def kept_definitions(allowed):
    """The `robustkeras` definitions the sandbox keeps working for an allow-list.

    The allowed names, what their bodies, decorators and bases refer to (transitively, tables
    such as `STEP_RULES` included), and what any module calls, decorates with or inherits from
    while it imports (so the whole package still imports).

    Args:
        allowed: dotted `robustkeras` names.

    Returns:
        set of `(module, top-level name)`.
    """
    from course.checks.notebook import resolve

    modules, keep, todo = _modules(), set(), []

    def add(obj):
        for member in _members(obj):
            key = _definition_of(member)
            if key and key not in keep:
                keep.add(key)
                todo.append(key)

    for name in allowed:
        add(resolve(name)[2])
    for module, path in modules.items():
        namespace = _namespace(module)
        if namespace is None:
            continue
        _, tree = _definitions(path)
        for node in _import_time_nodes(tree):
            for obj in _referenced(node, namespace):
                add(obj)
    while todo:
        module, name = todo.pop()
        namespace, path = _namespace(module), modules.get(module)
        if namespace is None or path is None:
            continue
        node = _definitions(path)[0].get(name)
        if node is None:
            continue
        for obj in _referenced(node, namespace, module):
            add(obj)
    return keep


def _namespace(module):
    try:
        return vars(importlib.import_module(module))
    except Exception:   # an optional dependency missing: the sandbox cannot import it either
        return None


def _unkept(allowed):
    """`{module: [top-level name]}` of every definition the allow-list does not keep."""
    keep = kept_definitions(allowed)
    out = {}
    for module, path in _modules().items():
        for name in _definitions(path)[0]:
            if (module, name) not in keep:
                out.setdefault(module, []).append(name)
    return out


def library_stubs(forbidden, allowed):
    """Dotted names of everything `stubbed_copy(forbidden, dest, allowed)` stubs in `robustkeras`
    (for an in-process imitation of the sandbox: `course.checks.notebook.patch_forbidden`)."""
    names = {str(n) for n in forbidden if str(n).split(".")[0] == ROOT}
    for module, qualnames in _unkept(allowed).items():
        if _namespace(module) is not None:   # a module that cannot import has nothing to patch
            names.update(f"{module}.{q}" for q in qualnames if q in _namespace(module))
    return tuple(sorted(names))

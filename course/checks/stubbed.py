"""A copy of the `robustkeras` package whose forbidden names are stubs (grader's process only).

The sandbox imports `robustkeras` from this copy, never from the installed package: each
forbidden function, method or class has its body replaced, in its DEFINING module's source (an
AST transform), by `raise ReferenceUsed(...)`. Every way of reaching the reference from inside the
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

__all__ = ["stubbed_copy", "stub_targets", "ROOT"]

ROOT = "robustkeras"
_ERROR = "_RKReferenceUsed"
_HELPER = (f"class {_ERROR}(AssertionError):\n"
           "    '''Raised by a stubbed library name: the answer called the reference implementation.'''\n"
           f"{_ERROR}.__name__ = {_ERROR}.__qualname__ = 'ReferenceUsed'\n"
           "def _rk_message(name):\n"
           "    return f'reference implementation used: `{name}` is the library\\'s answer; write it yourself'\n")


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


def stubbed_copy(forbidden, dest):
    """Copy the installed `robustkeras` to `dest/robustkeras`, forbidden names stubbed.

    Args:
        forbidden: dotted names (other roots than `robustkeras` are ignored).
        dest: an existing folder; the copy goes into `dest/robustkeras` (world-readable).

    Returns:
        Path: `dest/robustkeras`.
    """
    source = Path(importlib.util.find_spec(ROOT).submodule_search_locations[0])
    target = Path(dest) / ROOT
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info"))
    for module, qualnames in stub_targets(forbidden).items():
        path = target.joinpath(*module.split(".")[1:])
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        path.write_text(_rewrite(path.read_text(encoding="utf-8"), qualnames, module), encoding="utf-8")
    for folder, dirs, files in os.walk(target):
        os.chmod(folder, 0o755)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o644)
    return target


def _rewrite(source, qualnames, module):
    tree = ast.parse(source)
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
    tree.body[at:at] = ast.parse(_HELPER).body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _raise(name):
    return ast.parse(f"raise {_ERROR}(_rk_message({name!r}))").body[0]


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
    return ast.parse(f"def {attribute}(*args, **kwargs):\n    raise {_ERROR}(_rk_message({name!r}))").body[0]

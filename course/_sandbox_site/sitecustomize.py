"""Loaded by every Python process of a sandboxed submission (course/sandbox.py puts this
folder first on PYTHONPATH): refuse and report writes outside the allowed folders.

An audit hook cannot be removed once added, so the submission cannot switch it off;
Landlock (set up by course/sandbox.py) is what really stops writes from C or a shell.
"""

import os
import sys
import threading

_ALLOWED = tuple(os.path.realpath(p) for p in os.environ.get("ROBUSTKERAS_SANDBOX_ALLOW", "").split(os.pathsep) if p)
_LOG = os.environ.get("ROBUSTKERAS_SANDBOX_LOG", "")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# event -> positions of the paths it changes
_CHANGES = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.truncate": (0,),
            "os.chmod": (0,), "os.chown": (0,), "os.symlink": (1,), "os.link": (1,), "shutil.rmtree": (0,),
            "os.utime": (0,), "os.mkfifo": (0,), "os.mknod": (0,)}
_busy = threading.local()


def _outside(path):
    if isinstance(path, int) or path is None:
        return None
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None
    # The allowed paths include the device files every process may write (course/sandbox.py DEVICES).
    if any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in _ALLOWED):
        return None
    return real


def _report(event, path):
    try:
        fd = os.open(_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{event}\t{path}\n".encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError:
        pass


def _hook(event, args):
    if getattr(_busy, "on", False):
        return
    if event == "open":
        mode, flags = (args[1], args[2]) if len(args) > 2 else (args[1] if len(args) > 1 else None, 0)
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        targets = (args[0],) if writes else ()
    elif event in _CHANGES:
        targets = tuple(args[i] for i in _CHANGES[event] if i < len(args))
    else:
        return
    _busy.on = True
    try:
        for target in targets:
            outside = _outside(target)
            if outside:
                _report(event, outside)
                raise PermissionError(f"graded notebooks may only write inside their working folder, not {outside}")
    finally:
        _busy.on = False


if _ALLOWED and _LOG:
    sys.addaudithook(_hook)

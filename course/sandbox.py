"""Run a command that may only write inside given folders (Linux Landlock), and report its attempts.

    python course/sandbox.py --allow DIR [--allow DIR ...] --log FILE -- COMMAND ...

The grader runs every submission (the otter kernel and the fresh-process re-check)
through this wrapper:

* Containment, by the kernel: before `exec`, the process restricts itself with
  Landlock (Linux >= 5.13, unprivileged, inherited by every child, cannot be
  undone), so nothing it starts can create, change, rename or delete a file
  outside the allowed folders -- not the installed library, not the course, not
  another student's work -- whether from Python, C or a shell. Writes elsewhere
  fail with `PermissionError`.
* Report, by Python: `sitecustomize.py` next to this file installs an audit hook
  in every Python process of the submission; a write outside the allowed folders
  is refused there too and logged to FILE, so the grader can take the points of
  the notebook that tried. (The report is best effort -- a determined notebook
  could skip Python -- the containment is not.)

Where Landlock is missing (older kernels, macOS, some container runtimes)
`--require` makes the wrapper fail; without it only the Python-level refusal and
the grader's integrity check of the library remain (`LANDLOCK_ABI` is 0 then).

Example:
    python course/sandbox.py --allow /tmp/work --log /tmp/work/.writes -- python -c "open('/etc/x', 'w')"
    # PermissionError; /tmp/work/.writes names /etc/x
"""

import argparse
import ctypes
import os
import sys
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent / "_sandbox_site"
ALLOW_ENV = "ROBUSTKERAS_SANDBOX_ALLOW"
LOG_ENV = "ROBUSTKERAS_SANDBOX_LOG"
NO_LANDLOCK_ENV = "ROBUSTKERAS_SANDBOX_NO_LANDLOCK"  # "1": behave as on a kernel without Landlock (tests)
# Device files any Python process may write to (and /dev/shm for multiprocessing locks).
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/shm", "/dev/pts")

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same numbers on x86_64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
_O_PATH = 0o10000000
# Every right that changes the file system (Landlock ABI 1), then REFER (ABI 2) and TRUNCATE (ABI 3).
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << b for b in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_FILE_RIGHTS = _WRITE_FILE | _TRUNCATE  # the rights a rule on a single file may carry


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi():
    """The Landlock ABI version of this kernel; 0 where Landlock is unavailable.

    Returns:
        int: 0, or 1..N.

    Example:
        >>> landlock_abi() >= 0
        True
    """
    if not sys.platform.startswith("linux") or os.environ.get(NO_LANDLOCK_ENV) == "1":
        return 0
    try:
        version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def _write_rights(abi):
    rights = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def restrict_writes(allowed):
    """Forbid this process and its future children to change the file system outside `allowed`.

    Args:
        allowed: folders (and single device files) where writing stays possible.

    Returns:
        int: the Landlock ABI used.

    Raises:
        OSError: Landlock is unavailable or refused the rules.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available on this kernel")
    libc, handled = _libc(), _write_rights(abi)
    attr = _RulesetAttr(handled)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in allowed:
            if not os.path.exists(path):
                continue
            fd = os.open(path, _O_PATH | os.O_CLOEXEC)
            try:
                rights = handled if os.path.isdir(path) else handled & _FILE_RIGHTS
                rule = _PathBeneathAttr(rights, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def sandbox_env(env, allowed, log):
    """`env` plus what the sandboxed processes need: the audit hook, the allowed folders, the log.

    Args:
        env: the environment to extend (not modified).
        allowed: the folders writes may go to.
        log: the file attempted writes elsewhere are reported to (inside an allowed folder).

    Returns:
        dict: the new environment.
    """
    paths = [str(SITE_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join(paths), ALLOW_ENV: os.pathsep.join(map(str, allowed)),
            LOG_ENV: str(log), "PYTHONDONTWRITEBYTECODE": "1"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allow", action="append", required=True, help="a folder writes may go to")
    parser.add_argument("--log", required=True, help="file that attempted writes elsewhere are reported to")
    parser.add_argument("--require", action="store_true", help="fail where Landlock is unavailable")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("COMMAND: expected a command after --")
    writable = [os.path.realpath(p) for p in args.allow] + list(DEVICES)
    os.environ.update(sandbox_env(dict(os.environ), writable, os.path.realpath(args.log)))
    try:
        restrict_writes(writable)
    except OSError as err:
        if args.require:
            raise SystemExit(f"sandbox: {err}; grade inside a container instead, or drop --require")
        print(f"sandbox: {err}; writes are refused from Python only", file=sys.stderr)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()

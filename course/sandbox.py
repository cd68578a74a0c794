"""Run an untrusted command inside a bubblewrap sandbox, with limits, and watch it from outside.

What the sandboxed command gets (`command()` builds the `bwrap` line, `run()` runs it):

* New PID, IPC, network (loopback only), mount, UTS and cgroup namespaces; its own session
  (`--new-session`); killed with the grader (`--die-with-parent`). When its first process
  ends or is killed, the kernel kills every process left in its PID namespace: nothing a
  notebook starts outlives its sandbox.
* An unprivileged uid of its own: as root, `bwrap` builds the mounts and a two-line launcher
  then sets the rlimits and drops to `UID_BASE + slot` (never root: the kernel does not apply
  `RLIMIT_NPROC` to root, and root could remount a read-only bind writable); without root,
  `bwrap` makes a user namespace and the uid is the grader's own. No capabilities, no new
  privileges (`no_new_privs`), and a seccomp filter refusing new user namespaces (one would
  give it mounts of its own: an unbounded tmpfs outside the memory watchdog's sight).
* A read-only view of the system (`/usr` and the library folders), the Python installation,
  the virtual environment (at `/opt/venv`), and the folders the caller binds (`ro_binds`), and
  nothing else of the host: no home (no user site-packages), no repository, no other
  submission, no host `/proc`. Installed copies of the `HIDDEN` packages (the course's library:
  the grader binds its own stubbed copy) are masked wherever the bound folders hold them:
  a package folder (its `.pyc` caches included) under an empty read-only tmpfs, its
  `.dist-info`, `.egg-link`, `.pth` and editable finder under `/dev/null`.
* Size-capped private tmpfs for `$HOME`, `/tmp` and `/dev/shm`; limits on processes (threads
  count too), file size, CPU seconds and core dumps.
* From outside (`run`): a wall-clock limit and a memory limit; output read through pipes, capped.
  Memory: as root where the cgroup-v1 memory controller is mounted (`/sys/fs/cgroup/memory`),
  each sandbox runs in a memory cgroup of its own: the kernel charges it every page its
  processes touch, shared or not (a page shared by 20 forks counts once) and every tmpfs or
  `memfd` page they write, and kills inside it past 1.25 x the limit; a watchdog reads the
  cgroup's resident + shared-memory bytes against the limit itself. Elsewhere the watchdog sums
  the resident memory of the process tree plus the growth of the machine's `Shmem` (memfd and
  tmpfs pages mapped by no process), and `RLIMIT_NOFILE` bounds how many memfds it can hold.

Example:
    >>> argv, fds = command(["/bin/true"], slot=0)   # doctest: +SKIP
    >>> run(argv, fds, time_limit=10).returncode      # doctest: +SKIP
    0
"""

import itertools
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HIDDEN = ("robustkeras",)    # installed anywhere the sandbox can see, these packages are masked
UID_BASE = 1_000_000          # root mode: sandbox uids are UID_BASE + (grader pid % 100000) * 100 + slot
HOME = "/home/student"
VENV = "/opt/venv"
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives")
_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# The launcher runs as root inside the namespaces (root mode), before any untrusted code:
# rlimits (hard = soft, so they cannot be raised again), then the uid and gid, then exec.
_LAUNCHER = ("import os, sys, resource as r\n"
             "u, limits, argv = int(sys.argv[1]), sys.argv[2].split(','), sys.argv[3:]\n"
             "for name, value in zip(('NPROC', 'FSIZE', 'CPU', 'CORE', 'NOFILE'), map(int, limits)):\n"
             "    r.setrlimit(getattr(r, 'RLIMIT_' + name), (value, value))\n"
             "if os.getuid() == 0:\n"
             "    os.setgroups([]); os.setresgid(u, u, u); os.setresuid(u, u, u)\n"
             "assert os.getuid() != 0 and os.geteuid() != 0\n"
             "os.execv(argv[0], argv)\n")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Args:
        processes: tasks (processes and threads) of the sandbox's uid; without root the
            grader's own processes count too, so they are added on top.
        file_mb: largest file it may write.
        cpu_s: CPU seconds per process.
        home_mb, tmp_mb, shm_mb: sizes of the private tmpfs for `$HOME`, `/tmp`, `/dev/shm`.
        files: open files per process (`RLIMIT_NOFILE`; bounds memfds where no cgroup counts them).
    """

    processes: int = 256
    file_mb: int = 64
    cpu_s: int = 1200
    home_mb: int = 256
    tmp_mb: int = 256
    shm_mb: int = 64
    files: int = 1024


@dataclass
class Result:
    """How a sandboxed command ended: exit code, `reason` ("timeout", "memory" or None), its
    stdout (at most `max_output` bytes) and the tail of its stderr."""

    returncode: int
    reason: str
    stdout: bytes
    stderr: str


def available():
    """Whether bubblewrap can sandbox here: `(True, "")` or `(False, why)`.

    Example:
        >>> ok, why = available()
    """
    if not sys.platform.startswith("linux"):
        return False, "bubblewrap needs Linux"
    if shutil.which("bwrap") is None:
        return False, "`bwrap` is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        argv, fds = command(["/bin/true"], slot=99)
        result = run(argv, fds, time_limit=60)
    except OSError as err:
        return False, f"bwrap failed to start: {err}"
    if result.returncode != 0:
        return False, f"bwrap cannot create its namespaces here: {result.stderr.strip()[-300:]}"
    return True, ""


def sandbox_uid(slot):
    """The uid a sandbox runs as: a fresh one per slot as root, else the grader's own."""
    if os.geteuid() != 0:
        return os.getuid()
    return UID_BASE + (os.getpid() % 100_000) * 100 + int(slot) % 100


def command(cmd, *, slot, ro_binds=(), env=None, limits=Limits(), chdir=HOME):
    """The `bwrap` command line that runs `cmd` sandboxed, and the file descriptors it needs.

    Args:
        cmd: the command, with paths as seen inside the sandbox (`python_inside()` is the
            grader's interpreter there).
        slot: which uid to use (root mode): one per concurrently running sandbox.
        ro_binds: `(host_path, sandbox_path)` pairs mounted read-only.
        env: the sandbox's whole environment (PATH, HOME and TMPDIR are set here).
        limits: a `Limits`.
        chdir: working directory inside.

    Returns:
        `(argv, pass_fds)`: give both to `run`.
    """
    args = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    root = os.geteuid() == 0
    if root:  # the launcher needs these two to drop to the sandbox uid; it then has none
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--uid", str(os.getuid()), "--gid", str(os.getgid())]
    for name in _SYSTEM:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    binds = [(sys.base_prefix, sys.base_prefix)]
    if sys.prefix != sys.base_prefix:
        binds.append((sys.prefix, VENV))
    made = set()
    for host, inside in [*binds, *ro_binds]:
        for parent in reversed(Path(inside).parents[:-1]):  # readable parents (the host's may be 0700)
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(host), str(inside)]
    for inside, is_dir in hidden_installs([*[(f"/{n}", f"/{n}") for n in _SYSTEM], *binds]):
        args += ["--perms", "0555", "--size", "4096", "--tmpfs", inside] if is_dir else \
            ["--ro-bind", "/dev/null", inside]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for path, size in ((HOME, limits.home_mb), ("/tmp", limits.tmp_mb), ("/dev/shm", limits.shm_mb)):
        args += ["--size", str(size * 2**20), "--perms", "01777", "--tmpfs", path]
    args += ["--remount-ro", "/", "--chdir", chdir, "--clearenv"]
    env = {"PATH": f"{VENV}/bin:/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "USER": "student", "LOGNAME": "student", **(env or {})}
    for key, value in env.items():
        args += ["--setenv", key, str(value)]
    seccomp = _seccomp_fd()
    args += ["--seccomp", str(seccomp)]
    nproc = limits.processes + (0 if root else _processes_of(os.getuid()))
    caps = ",".join(map(str, (nproc, limits.file_mb * 2**20, limits.cpu_s, 0, limits.files)))
    args += ["--", python_inside(), "-I", "-S", "-c", _LAUNCHER, str(sandbox_uid(slot)), caps, *cmd]
    return args, (seccomp,)


def hidden_installs(binds, names=HIDDEN):
    """`(path inside, is a folder)` of every installed copy of `names` that the binds would show.

    Searched: each `site-packages` / `dist-packages` folder on this interpreter's `sys.path`
    and its standard ones (`site.getsitepackages()`), and those of the bound prefixes
    (`lib*/python*/`), as the sandbox sees them.

    Args:
        binds: `(host path, sandbox path)` pairs.
        names: package names (a distribution's `name-version.dist-info` matches too).

    Example:
        >>> hidden_installs([(sys.prefix, VENV)])   # doctest: +SKIP
        [('/opt/venv/lib/python3.11/site-packages/robustkeras', True), ...]
    """
    import glob
    import site

    folders = {Path(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    folders |= {Path(p) for p in site.getsitepackages()}
    for host, _ in binds:
        for pattern in ("lib*/python*/*-packages", "local/lib*/python*/*-packages", "lib/python3/dist-packages"):
            folders |= {Path(p) for p in glob.glob(os.path.join(str(host), pattern))}
    found = set()
    for folder in folders:
        real = folder.resolve()
        inside = None
        for host, where in binds:
            host = Path(host).resolve()
            if real == host or host in real.parents:
                inside = Path(where) / real.relative_to(host)
                break
        if inside is None or not real.is_dir():
            continue
        try:
            entries = list(real.iterdir())
        except OSError:
            continue
        for entry in entries:
            low = entry.name.lower().replace("-", "_")
            if any(low == n or low.startswith((f"{n}_", f"{n}.")) or
                   (low.startswith("__editable__") and n in low) for n in names):
                found.add((str(inside / entry.name), entry.is_dir() and not entry.is_symlink()))
    return sorted(found)


def python_inside():
    """The grader's interpreter, as seen inside the sandbox (a virtual environment is at /opt/venv)."""
    if sys.prefix != sys.base_prefix:
        return f"{VENV}/bin/python"
    return sys.executable


def _processes_of(uid):
    count = 0
    for pid in os.listdir("/proc"):
        try:
            count += pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid and \
                int(open(f"/proc/{pid}/status").read().split("Threads:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return count


def _seccomp_fd():
    """A pipe holding a classic-BPF seccomp program: creating a user namespace (unshare or clone
    with CLONE_NEWUSER) fails with EPERM, clone3 with ENOSYS (glibc then uses clone), and
    system calls of another architecture (x86's 32-bit and x32 entry points) with EPERM."""
    arch, clone, unshare = {"x86_64": (0xC000003E, 56, 272), "aarch64": (0xC00000B7, 220, 97)}[os.uname().machine]
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, eperm),               # 0-2: foreign arch
            (ld, 0, 0, 0), (jset, 0, 1, 0x40000000), (ret, 0, 0, eperm),        # 3-5: x32
            (jeq, 0, 1, 435), (ret, 0, 0, enosys),                              # 6-7: clone3
            (jeq, 1, 0, clone), (jeq, 0, 2, unshare),                           # 8-9
            (ld, 0, 0, 16), (jset, 1, 0, 0x10000000),                           # 10-11: CLONE_NEWUSER
            (ret, 0, 0, allow), (ret, 0, 0, eperm)]                             # 12-13
    data = b"".join(struct.pack("=HBBI", *op) for op in prog)
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


def run(argv, pass_fds=(), *, time_limit, memory_mb=None, max_processes=None, max_output=80 * 2**20,
        on_stdout=None, stop=lambda: None):
    """Run a `command()` line; kill everything on a limit. Returns a `Result`.

    Args:
        argv, pass_fds: from `command`.
        time_limit: wall-clock seconds.
        memory_mb: memory of the whole sandbox, MB (None: no limit): its memory cgroup's
            resident + shared-memory bytes where one can be made (root), else the process tree's
            resident memory plus the machine's `Shmem` growth.
        max_processes: more processes in the tree kill the sandbox ("processes"); the rlimit
            bounds them anyway, this stops a fork flood before it starves other sandboxes of CPU.
        max_output: stdout beyond this many bytes kills the sandbox ("output").
        on_stdout: called with each chunk of stdout as it arrives (the grader's progress).
        stop: polled every 0.5 s; a non-empty string kills the sandbox with that reason.
    """
    start, reason = time.time(), None
    group = MemoryGroup.create(memory_mb) if memory_mb else None
    shmem_base = _shmem()
    if group:  # the shell joins the cgroup, then becomes bwrap: nothing runs outside it
        argv = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', group.procs, *argv]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            pass_fds=pass_fds, start_new_session=True)
    for fd in pass_fds:
        os.close(fd)
    out, err, size = [], [], [0]

    def read_stdout():
        while chunk := proc.stdout.read1(1 << 16):
            size[0] += len(chunk)
            if size[0] <= max_output:
                out.append(chunk)
                if on_stdout:
                    on_stdout(chunk)

    def read_stderr():
        while chunk := proc.stderr.read1(1 << 16):
            err.append(chunk)
            while len(err) > 1 and sum(map(len, err)) > 16384:
                err.pop(0)

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for t in readers:
        t.start()
    while proc.poll() is None:
        count, rss = _tree(proc.pid, memory_mb and not group)
        rss = group.used() if group else rss + max(0, _shmem() - shmem_base) if memory_mb else 0
        if max_processes and count > max_processes + 2:  # + bwrap's own two
            reason = "processes"
        elif memory_mb and rss > memory_mb * 2**20:
            reason = "memory"
        elif time.time() - start > time_limit:
            reason = "timeout"
        elif size[0] > max_output:
            reason = "output"
        else:
            reason = stop()
        if reason:
            kill(proc)
            break
        try:  # a poll reads every process of the machine (about 10 ms of CPU): twice a second
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
    proc.wait()
    for t in readers:
        t.join(5)
    if group:
        if reason is None and group.oom_killed():
            reason = "memory"
        group.remove()
    return Result(proc.returncode, reason, b"".join(out), b"".join(err).decode("utf-8", "replace")[-8000:])


def _shmem():
    """The machine's shared memory (tmpfs, memfd), bytes (0 where unreadable)."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("Shmem:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 0


class MemoryGroup:
    """A cgroup-v1 memory cgroup of one sandbox (root only; `create` returns None elsewhere).

    Example:
        >>> group = MemoryGroup.create(512)    # doctest: +SKIP
    """

    ROOT = "/sys/fs/cgroup/memory"
    _count = itertools.count(1)  # next() is atomic: parallel slots never share a name

    def __init__(self, path):
        self.path, self.procs = path, os.path.join(path, "cgroup.procs")

    @classmethod
    def create(cls, memory_mb):
        if os.geteuid() != 0 or not os.path.isfile(os.path.join(cls.ROOT, "memory.limit_in_bytes")):
            return None
        path = os.path.join(cls.ROOT, f"robustkeras-grade-{os.getpid()}-{next(cls._count)}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
                f.write(str(int(memory_mb * 1.25 * 2**20)))
        except OSError:
            cls(path).remove()
            return None
        return cls(path)

    @classmethod
    def available(cls):
        """Whether this grader can give each sandbox a memory cgroup."""
        group = cls.create(1)
        if group:
            group.remove()
        return group is not None

    def _read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def used(self):
        """Resident and shared-memory (tmpfs, memfd) bytes charged to the group; page cache not counted."""
        try:
            stat = dict(line.split() for line in self._read("memory.stat").splitlines() if line.count(" ") == 1)
            return int(stat.get("rss", 0)) + int(stat.get("shmem", 0))
        except (OSError, ValueError):
            return 0

    def oom_killed(self):
        try:
            return any(line.split() == ["oom_kill", line.split()[-1]] and int(line.split()[-1]) > 0
                       for line in self._read("memory.oom_control").splitlines())
        except (OSError, ValueError, IndexError):
            return False

    def remove(self):
        for _ in range(50):  # the killed processes leave within moments
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


def _tree(pid, memory):
    """`(processes, resident bytes)` of `pid` and all its descendants (a vanished one counts 0)."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    rss = 0
    for p in tree if memory else ():
        try:
            rss += p.memory_info().rss
        except psutil.Error:
            pass
    return len(tree), rss


def kill(proc):
    """Kill a sandbox: SIGKILL to bwrap's process group; `--die-with-parent` and the end of its
    PID namespace take every process inside with it."""
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass

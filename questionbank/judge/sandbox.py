"""Running one untrusted program under bubblewrap, with resource limits and a wall clock.

What the program gets (one ``bwrap`` call per run):

- every namespace of its own (``--unshare-all``): no network but its own loopback, a
  fresh PID namespace whose end kills every process left in it, its own hostname, IPC
  and cgroup view, and a user namespace that cannot create further ones;
- a root made of read-only binds of ``/usr`` (and the ``/bin``, ``/lib*`` links to it),
  a minimal ``/dev``, the program's own directory at ``/box`` (read-only except while
  compiling) and a size-capped private tmpfs at ``/tmp``, its only writable place. No
  ``/etc``, no ``/proc``, no ``/home``, ``/root`` or project directory, so nothing of the
  host (its users, its files, its database, its processes) is there to read;
- an empty environment (``--clearenv``; bwrap itself is started with only ``PATH`` so not
  even its own ``/proc/1/environ`` carries the worker's secrets), ``--new-session`` (no
  terminal injection) and ``--die-with-parent``;
- limits set by ``prlimit`` inside the sandbox, just before the program starts: CPU
  seconds, address space, processes, file size, open files, no core dumps. Inside,
  because RLIMIT_NPROC counts every process of a user: set outside, it would count the
  worker user's own processes; in the fresh user namespace it counts only the program's;
- a wall clock: past it, the sandbox's init is killed, which ends its whole PID
  namespace, and bwrap with it.

Run as root (a container), the worker starts bwrap as ``nobody`` (``setpriv``): the
program is then an unprivileged user outside the sandbox too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache

NOBODY = 65534
# The paths a sandbox sees besides /usr: kept as the host has them (links on merged-/usr).
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
MIB = 1024 * 1024
_STDERR_KEEP = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one run may use. ``wall_seconds`` defaults to twice the CPU time plus one
    second (a program waiting on nothing still ends)."""

    cpu_seconds: float = 2.0
    memory_mb: int = 256
    wall_seconds: float | None = None
    processes: int = 32
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 4 * MIB
    tmpfs_mb: int = 64

    @property
    def wall(self) -> float:
        return self.wall_seconds or self.cpu_seconds * 2 + 1


# Compiling is trusted less than nothing either, but needs more room than a test.
COMPILE_LIMITS = Limits(cpu_seconds=20, memory_mb=1024, wall_seconds=40, processes=32,
                        file_size_mb=64, open_files=128, output_bytes=MIB, tmpfs_mb=256)


@dataclass
class RunOutcome:
    """How one sandboxed run ended.

    ``exit_code`` is the program's (128 + N when signal N killed it); ``None`` when the
    sandbox never started it (``setup_error`` says why) or it was killed for the wall
    clock or its output (``killed_for``: ``"wall"``, ``"stdout"``, ``"stderr"``).
    """

    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    wall_seconds: float = 0.0
    killed_for: str = ""
    setup_error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def signal(self) -> int | None:
        if self.exit_code is not None and 128 < self.exit_code < 128 + 65:
            return self.exit_code - 128
        return None


def _prlimit_options(limits: Limits) -> list[str]:
    cpu = max(1, math.ceil(limits.cpu_seconds))  # whole seconds: SIGXCPU, then SIGKILL
    memory, size = limits.memory_mb * MIB, limits.file_size_mb * MIB
    return [f"--cpu={cpu}:{cpu + 1}", f"--as={memory}:{memory}", f"--fsize={size}:{size}",
            f"--nproc={limits.processes}:{limits.processes}",
            f"--nofile={limits.open_files}:{limits.open_files}", "--core=0:0"]


def _pidfd(pid: int | None) -> int | None:
    """A pidfd for the sandbox's init (None if it has already gone)."""
    if pid is None:
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


class Sandbox:
    """bubblewrap on this machine. ``unavailable()`` says why it cannot be used, or None.

    Never falls back to running a program without it.
    """

    def __init__(self, *, bwrap: str | None = None, prlimit: str | None = None):
        self.bwrap = bwrap if bwrap is not None else (shutil.which("bwrap") or "")
        self.prlimit = prlimit if prlimit is not None else (
            shutil.which("prlimit", path="/usr/bin:/bin") or "")
        self.as_nobody = os.geteuid() == 0
        self.setpriv = shutil.which("setpriv", path="/usr/bin:/bin") or ""

    def unavailable(self) -> str | None:
        """None when programs can run here; else a sentence for the teacher."""
        if not self.bwrap or not os.access(self.bwrap, os.X_OK):
            return "not available on this server: install bubblewrap"
        if not self.prlimit or (self.as_nobody and not self.setpriv):
            return "not available on this server: install util-linux (prlimit, setpriv)"
        return _probe(self.bwrap, self.prlimit, self.as_nobody)

    def workdir(self) -> tempfile.TemporaryDirectory:
        """A fresh host directory for one program's source and binary (``/box`` inside)."""
        work = tempfile.TemporaryDirectory(prefix="qb-judge-")
        if self.as_nobody:
            os.chown(work.name, NOBODY, NOBODY)
        return work

    def prepare(self, directory: str, name: str, content: str) -> None:
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        if self.as_nobody:
            os.chown(path, NOBODY, NOBODY)

    def argv(self, command: list[str], *, box: str, writable_box: bool, limits: Limits,
             status_fd: int) -> list[str]:
        # setpriv, not Popen(user=...): with no preexec step Python can vfork the worker,
        # much cheaper than fork for a big process.
        args = []
        if self.as_nobody:
            args += [self.setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                     "--"]
        args += [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--hostname", "sandbox", "--clearenv",
                "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
                "--setenv", "LANG", "C.UTF-8", "--ro-bind", "/usr", "/usr"]
        for path in _ROOT_LINKS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        args += ["--dev", "/dev", "--remount-ro", "/dev",
                 "--size", str(limits.tmpfs_mb * MIB), "--tmpfs", "/tmp",
                 "--bind" if writable_box else "--ro-bind", box, "/box",
                 "--remount-ro", "/", "--chdir", "/tmp", "--json-status-fd", str(status_fd),
                 "--", self.prlimit, *_prlimit_options(limits), "--", *command]
        return args

    def run(self, command: list[str], *, box: str, stdin: bytes = b"", limits: Limits,
            writable_box: bool = False) -> RunOutcome:
        """Run ``command`` in a fresh sandbox, feeding ``stdin``; never raises for what the
        program does (only for a bug here)."""
        status_read, status_write = os.pipe()
        with tempfile.TemporaryFile() as feed:
            feed.write(stdin)
            feed.seek(0)
            started = time.monotonic()
            try:
                proc = subprocess.Popen(
                    self.argv(command, box=box, writable_box=writable_box, limits=limits,
                              status_fd=status_write),
                    stdin=feed, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    pass_fds=(status_write,), env={"PATH": "/usr/bin:/bin"},
                    start_new_session=True,
                )
            except OSError as exc:
                os.close(status_read)
                os.close(status_write)
                return RunOutcome(setup_error=f"bubblewrap could not be started ({exc})")
            os.close(status_write)
            return _collect(proc, status_read, limits, started)


def _collect(proc: subprocess.Popen, status_read: int, limits: Limits,
             started: float) -> RunOutcome:
    """Read the program's output until it ends, or kill it at a limit; then reap it."""
    outcome = RunOutcome()
    stdout, stderr, status = bytearray(), bytearray(), bytearray()
    stderr_seen = 0
    child_pid = init = None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
    selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
    selector.register(status_read, selectors.EVENT_READ, "status")
    deadline = started + limits.wall
    try:
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                outcome.killed_for = "wall"
                break
            for key, _ in selector.select(left):
                fd = key.fd if isinstance(key.fileobj, int) else key.fileobj.fileno()
                data = os.read(fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                elif key.data == "stdout":
                    stdout += data
                    if len(stdout) > limits.output_bytes:
                        outcome.killed_for = "stdout"
                elif key.data == "stderr":
                    stderr_seen += len(data)
                    stderr = (stderr + data)[-_STDERR_KEEP:]
                    if stderr_seen > limits.output_bytes:
                        outcome.killed_for = "stderr"
                else:
                    status += data
                    if child_pid is None:
                        child_pid = _child_pid(status)
                        init = _pidfd(child_pid)
            if outcome.killed_for:
                break
    finally:
        selector.close()
        if outcome.killed_for:
            _kill(proc, child_pid)
        proc.stdout.close()
        proc.stderr.close()
        # No CPU time from rusage: bwrap's monitor learns the exit status through an
        # event fd and never reaps the sandbox's init, so its children's usage is lost.
        proc.wait()
        if init is not None:
            # bwrap returns as soon as its init reports the exit status, and the init ends
            # the namespace's other processes (or, after a kill, dies from
            # --die-with-parent) just after: wait for it, so nothing of this run outlives
            # the call. A pidfd turns readable when its process has ended.
            try:
                select.select([init], [], [], 2)
            finally:
                os.close(init)
        try:
            while chunk := os.read(status_read, 65536):
                status += chunk
        finally:
            os.close(status_read)
    outcome.wall_seconds = time.monotonic() - started
    outcome.stdout = bytes(stdout[: limits.output_bytes])
    outcome.stderr = bytes(stderr)
    if not outcome.killed_for:
        code = _status_exit_code(status)
        if code is None:
            outcome.setup_error = (bytes(stderr).decode("utf-8", "replace").strip()
                                   or f"bubblewrap exited with status {proc.returncode}")
        else:
            outcome.exit_code = code
    return outcome


def _json_docs(status: bytes) -> list[dict]:
    docs, decoder, text = [], json.JSONDecoder(), status.decode("utf-8", "replace")
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return docs
        try:
            doc, position = decoder.raw_decode(text, position)
        except ValueError:
            return docs
        if isinstance(doc, dict):
            docs.append(doc)


def _child_pid(status: bytes) -> int | None:
    return next((d["child-pid"] for d in _json_docs(status) if "child-pid" in d), None)


def _status_exit_code(status: bytes) -> int | None:
    return next((d["exit-code"] for d in _json_docs(status) if "exit-code" in d), None)


def _kill(proc: subprocess.Popen, child_pid: int | None) -> None:
    # The sandbox's init first: its death ends every process of the PID namespace.
    if child_pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child_pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@cache
def _probe(bwrap: str, prlimit: str, as_nobody: bool) -> str | None:
    """Whether a sandbox can start here (user namespaces may be disabled), once per process."""
    sandbox = Sandbox(bwrap=bwrap, prlimit=prlimit)
    with sandbox.workdir() as box:
        outcome = sandbox.run(["/usr/bin/true"], box=box, limits=Limits(cpu_seconds=5))
    if outcome.exit_code == 0:
        return None
    detail = outcome.setup_error or f"exit status {outcome.exit_code}"
    return f"not available on this server: bubblewrap cannot create a sandbox here ({detail})"

"""Locks for django-q2's cluster that die with the process holding them (issue 14, defect 2).

A ``qcluster`` passes tasks to its workers, and results to its monitor, through
``multiprocessing`` queues. Each queue guards its pipe with ``multiprocessing.Lock``s (a
POSIX semaphore): a reader holds the queue's read lock for as long as it waits for the
next item, so an idle worker always holds it. SIGKILL that worker (or the OOM killer
does) and the semaphore is never released: the reincarnated workers wait on it forever
and the cluster runs nothing until it is restarted (django-q2 issue #23, open upstream;
the same holds for the monitor and the results queue, and for the small shared counters
guarded by semaphores too).

``install()`` (called from the app's ``ready()``) makes the cluster build its queues,
their size counters and the workers' timers with ``ProcessLock`` instead: a POSIX record
lock (``fcntl.lockf``) on an anonymous temporary file, which the kernel releases when the
holding process dies, however it dies. The next waiter then takes the lock and reads the
pipe, which a reader killed while waiting left untouched. Forked children (django-q2
always forks on POSIX) inherit the file; a record lock belongs to a process, so each
process is a separate holder. Threads of one process are kept apart by a re-entrant
in-process lock, and a ``Synchronized`` value's nested acquire works as with an RLock.

What stays: a process killed in the microseconds between reading an item's header and
its body, or between reading an item and counting it, can still upset the queue; and
an item a killed worker had read is gone. The job table and the sweep (see
``services/generation``) make a lost task harmless.
"""

from __future__ import annotations

import errno
import multiprocessing
import multiprocessing.queues
import os
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # Windows: no fork either, and django-q2 spawns there
    fcntl = None

_POLL_SECONDS = 0.01


class ProcessLock:
    """A re-entrant lock shared with forked children, released by the kernel when the
    process holding it dies (see the module docstring)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the lock)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._mutex = threading.RLock()  # threads of this process
        self._depth = 0

    def _mine(self) -> None:
        if self._pid != os.getpid():  # a forked child starts with nothing held
            self._reset()

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        self._mine()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if block:
            wait = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            got = self._mutex.acquire(timeout=wait)
        else:
            got = self._mutex.acquire(False)
        if not got:
            return False
        if self._depth == 0 and not self._lock_file(block, deadline):
            self._mutex.release()
            return False
        self._depth += 1
        return True

    def _lock_file(self, block: bool, deadline: float | None) -> bool:
        fd = self._file.fileno()
        while True:
            try:
                if block and deadline is None:
                    fcntl.lockf(fd, fcntl.LOCK_EX)
                else:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as err:
                # EDEADLK: the kernel's deadlock check counts processes, not threads, so
                # a worker waiting here while its other thread holds another queue's
                # lock can look like a cycle; it is not one, and it clears.
                if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EDEADLK):
                    raise
                if not block or (deadline is not None and time.monotonic() >= deadline):
                    return False
                time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        self._mine()
        if self._depth == 0:
            raise RuntimeError("release of an unheld ProcessLock")
        self._depth -= 1
        if self._depth == 0:
            fcntl.lockf(self._file.fileno(), fcntl.LOCK_UN)
        self._mutex.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def robust_value(typecode, *args):
    """``multiprocessing.Value`` guarded by a ``ProcessLock``."""
    return multiprocessing.Value(typecode, *args, lock=ProcessLock())


def robust_queue_class():
    """django-q2's ``Queue`` with its read and write locks and its size counter made of
    ``ProcessLock``s (built on first use: django_q.queues imports Django settings)."""
    from django_q.queues import Queue

    class RobustQueue(Queue):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._rlock = ProcessLock()
            if self._wlock is not None:  # None on Windows, which has no fork anyway
                self._wlock = ProcessLock()
            self.size.count = robust_value("i", 0)

    return RobustQueue


def install() -> None:
    """Make django-q2's cluster (``manage.py qcluster``) use the robust locks."""
    if fcntl is None or "fork" not in multiprocessing.get_all_start_methods():
        return
    from django_q import cluster

    if getattr(cluster.Queue, "robust", False):
        return
    queue_class = robust_queue_class()
    queue_class.robust = True
    cluster.Queue = queue_class
    cluster.Value = robust_value

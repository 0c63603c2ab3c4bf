"""The cluster's queue locks die with their holder (issue 14, defect 2), without a cluster:
forked processes, SIGKILL, and a deadline on every wait."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time

import pytest
from django_q import cluster

from questionbank.robust_queues import ProcessLock, robust_queue_class, robust_value

fork = multiprocessing.get_context("fork")


def _read_one(q, out) -> None:
    out.put(q.get())


def _hold(lock, ready) -> None:
    lock.acquire()
    ready.set()
    time.sleep(600)


def _held_elsewhere(lock) -> bool:
    if lock.acquire(block=False):
        lock.release()
        return False
    return True


def _wait_until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_cluster_builds_robust_queues_and_timers():
    assert cluster.Queue.robust
    assert isinstance(cluster.Queue()._rlock, ProcessLock)
    assert isinstance(cluster.Value("f", -1).get_lock(), ProcessLock)


def test_a_reader_killed_while_waiting_does_not_block_the_next_one():
    q = robust_queue_class()(maxsize=2)
    out = fork.Queue()
    first = fork.Process(target=_read_one, args=(q, out))
    first.start()
    _wait_until(lambda: _held_elsewhere(q._rlock), "the first reader to wait")
    second = fork.Process(target=_read_one, args=(q, out))
    second.start()
    os.kill(first.pid, signal.SIGKILL)  # it held the read lock, waiting for an item
    first.join()
    q.put("task")
    try:
        assert out.get(timeout=10) == "task"
    finally:
        second.join(5)
        if second.is_alive():
            second.kill()
    assert q.qsize() == 0


def test_a_lock_is_freed_when_its_holder_dies_and_holds_while_it_lives():
    lock = ProcessLock()
    ready = fork.Event()
    holder = fork.Process(target=_hold, args=(lock, ready))
    holder.start()
    assert ready.wait(10)
    assert not lock.acquire(timeout=0.2)  # another process holds it
    assert not lock.acquire(block=False)
    holder.kill()
    holder.join()
    assert lock.acquire(timeout=10)
    lock.release()


def test_a_value_counts_atomically_across_processes():
    counter = robust_value("i", 0)

    def add(n: int) -> None:
        for _ in range(n):
            with counter.get_lock():  # nested: .value takes the same lock again
                counter.value += 1

    workers = [fork.Process(target=add, args=(500,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert counter.value == 1500


def test_release_without_acquire_is_an_error():
    with pytest.raises(RuntimeError):
        ProcessLock().release()


def test_a_lock_taken_in_one_thread_keeps_other_threads_out():
    lock = ProcessLock()
    lock.acquire()
    got = queue.SimpleQueue()
    thread = threading.Thread(target=lambda: got.put(lock.acquire(timeout=0.2)))
    thread.start()
    thread.join()
    assert got.get() is False
    lock.release()

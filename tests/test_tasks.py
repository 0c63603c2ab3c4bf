"""The tasks through a real ``manage.py qcluster`` process on the test database.

The cluster runs in its own process group against the same (file SQLite or PostgreSQL)
test database; the test enqueues through the ORM broker, polls the job table with a
deadline, and stops the cluster with SIGTERM to its main process only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django_q.models import Success
from django_q.tasks import async_task

from questionbank.models import CallLog, GenerationJob, Solution
from questionbank.services import generation
from tests.factories import make_endpoint, make_problem, make_template

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.cluster,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_cluster(tmp_path, **env):
    environ = dict(os.environ, DATABASE_URL=database_url(), QB_DEBUG="1",
                   **{"QB_LOG_LEVEL": "WARNING", **{k: str(v) for k, v in env.items()}})
    environ.pop("QB_TEST_SQLITE", None)
    log = open(tmp_path / "qcluster.log", "wb")  # noqa: SIM115 (closed by stop_cluster)
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=environ,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_file = log
    proc.log_path = tmp_path / "qcluster.log"
    return proc


def stop_cluster(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the main process only: it drains and stops
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    proc.log_file.close()


def wait_for(predicate, proc, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"qcluster exited while waiting for {what}:\n"
                        f"{proc.log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{proc.log_path.read_text()[-3000:]}")


def test_worker_killed_mid_call_job_completes_exactly_once(pipeline_standins, tmp_path,
                                                           settings):
    settings.QB_JOB_LEASE_SECONDS = 2
    endpoint = make_endpoint(name="stand-in", base_url=pipeline_standins["plain"], stream=False)
    problem = make_problem(statement="What is 5+5? [[standin:delay=3]]", reference_answer="10")
    batch = generation.batch_create(problems=[problem], template=make_template(),
                                    endpoints=[endpoint])  # commits: the task is enqueued
    job = batch.jobs.get()
    cluster = start_cluster(tmp_path, QB_WORKERS=2, QB_JOB_LEASE_SECONDS=2)
    try:
        claimed = wait_for(
            lambda: GenerationJob.objects.filter(pk=job.pk, status="running")
            .values_list("claimed_by", flat=True).first(), cluster, "the job to start")
        worker_pid = int(claimed.split("/")[0].rsplit(":", 1)[1])
        assert worker_pid != cluster.pid
        os.kill(worker_pid, signal.SIGKILL)  # mid-call: the stand-in sleeps 3 s

        # The lease lapses (2 s); the sweep (the schedule's job, run here so the test need
        # not wait a minute) requeues the job and enqueues a runner for the cluster.
        def swept():
            return generation.jobs_sweep()["requeued"]

        wait_for(swept, cluster, "the lease to lapse", timeout=30)
        wait_for(lambda: GenerationJob.objects.filter(pk=job.pk, status="succeeded").exists(),
                 cluster, "the job to succeed")
    finally:
        stop_cluster(cluster)
    job.refresh_from_db()
    assert job.attempts == 2
    assert Solution.objects.filter(job=job).count() == 1
    assert Solution.objects.count() == 1
    rows = list(CallLog.objects.filter(job=job).order_by("id")
                .values_list("attempt", "error_class", "outcome"))
    assert rows == [(1, "WorkerLost", "error"), (2, "", "success")]
    assert job.solution.final_answer == "10"


def test_concurrency_limit_holds_across_worker_processes(pipeline_standins, tmp_path,
                                                         settings):
    url = pipeline_standins["wide"]  # the server itself would take 4 at once
    endpoint = make_endpoint(name="two slots", base_url=url, max_concurrency=2, stream=False)
    problems = [make_problem(statement=f"What is {n}+{n}? [[standin:delay=0.7]]",
                             reference_answer=str(2 * n)) for n in range(8)]
    requests.post(f"{url}/gradio_api/api/reset_stats/", json={"data": []}, timeout=10)
    # One call per runner, so every call in flight is a separate runner claiming through
    # the database; four runners in three worker processes compete for two slots.
    settings.QB_RUNNER_THREADS = 1
    batch = generation.batch_create(problems=problems, template=make_template(),
                                    endpoints=[endpoint])
    for _ in range(2):
        async_task("questionbank.tasks.run_endpoint", endpoint.pk)
    cluster = start_cluster(tmp_path, QB_WORKERS=3, QB_RUNNER_THREADS=1)
    try:
        wait_for(lambda: not batch.jobs.exclude(status="succeeded").exists(), cluster,
                 "the batch to finish")
    finally:
        stop_cluster(cluster)
    stats = requests.post(f"{url}/gradio_api/api/stats/", json={"data": []},
                          timeout=10).json()["data"][0]
    assert stats["calls"] == 8
    assert stats["max_in_flight"] == 2
    assert Solution.objects.filter(job__batch=batch).count() == 8


# --- Killed workers never stall the cluster (issue 14, defect 2) -------------------------
# An idle worker holds its task queue's read lock while it waits; with django-q2's stock
# semaphores a SIGKILL there left every reincarnated worker waiting forever.


def cluster_pids(proc, what: str) -> list[int]:
    """Pids the cluster logged for its workers ("ready for work at"), pusher ("pushing
    tasks at") or monitor ("monitoring at"), oldest first (needs QB_LOG_LEVEL=INFO)."""
    return [int(pid) for pid in re.findall(rf"{what} at (\d+)", proc.log_path.read_text())]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_cluster_recovers_after_its_idle_processes_are_killed(pipeline_standins, tmp_path):
    cluster = start_cluster(tmp_path, QB_WORKERS=1, QB_LOG_LEVEL="INFO")
    try:
        idle = [*wait_for(lambda: cluster_pids(cluster, "ready for work"), cluster,
                          "the worker to start"),
                *wait_for(lambda: cluster_pids(cluster, "pushing tasks"), cluster, "the pusher"),
                *wait_for(lambda: cluster_pids(cluster, "monitoring"), cluster, "the monitor")]
        time.sleep(0.5)  # the worker is now waiting on the task queue, holding its read lock
        for pid in idle:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(cluster_pids(cluster, "ready for work")) == 2
                 and len(cluster_pids(cluster, "monitoring")) == 2, cluster,
                 "the worker and the monitor to be reincarnated")
        endpoint = make_endpoint(name="stand-in", base_url=pipeline_standins["plain"],
                                 stream=False)
        problem = make_problem(statement="What is 4+4?", reference_answer="8")
        batch = generation.batch_create(problems=[problem], template=make_template(),
                                        endpoints=[endpoint])
        wait_for(lambda: batch.jobs.filter(status="succeeded").exists(), cluster,
                 "the job to succeed after the kill")
        # The new monitor reads the results queue too: the runner's result is saved.
        wait_for(lambda: Success.objects.filter(func="questionbank.tasks.run_endpoint").exists(),
                 cluster, "the task's result to be saved")
    finally:
        stop_cluster(cluster)
    assert all(not alive(pid) for pid in idle)


def test_cluster_recovers_after_every_worker_is_killed_mid_call(pipeline_standins, tmp_path,
                                                                 settings):
    settings.QB_JOB_LEASE_SECONDS = 2
    endpoint = make_endpoint(name="stand-in", base_url=pipeline_standins["plain"], stream=False)
    problem = make_problem(statement="What is 6+6? [[standin:delay=3]]", reference_answer="12")
    batch = generation.batch_create(problems=[problem], template=make_template(),
                                    endpoints=[endpoint])
    job = batch.jobs.get()
    cluster = start_cluster(tmp_path, QB_WORKERS=2, QB_JOB_LEASE_SECONDS=2, QB_LOG_LEVEL="INFO")
    try:
        wait_for(lambda: GenerationJob.objects.filter(pk=job.pk, status="running").exists(),
                 cluster, "the job to start")
        workers = cluster_pids(cluster, "ready for work")
        assert len(workers) == 2  # one mid-call, one waiting on the task queue
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: generation.jobs_sweep()["requeued"], cluster,
                 "the lease to lapse", timeout=30)  # the sweep enqueues a runner
        wait_for(lambda: GenerationJob.objects.filter(pk=job.pk, status="succeeded").exists(),
                 cluster, "the job to succeed after the kill")
    finally:
        stop_cluster(cluster)
    assert len(cluster_pids(cluster, "ready for work")) == 4
    job.refresh_from_db()
    assert job.attempts == 2
    assert list(CallLog.objects.filter(job=job).order_by("id")
                .values_list("error_class", flat=True)) == ["WorkerLost", ""]
    assert Solution.objects.filter(job=job).count() == 1

"""django-q2 entry points: each takes ids, calls one service, and nothing else.

Tasks may be delivered twice (the ORM broker redelivers after ``retry``) or lost (Redis
keeps no receipts); the services are written so that neither matters: the job table is
the source of truth and the sweep recovers what a lost task would have done.
"""

from __future__ import annotations

from questionbank.services import generation, judge
from questionbank.services.calllogs import (
    calllog_anchor_log,
    calllog_purge_due,
    calllog_verification_run,
)


def run_endpoint(endpoint_id: int) -> int:
    """Keep one endpoint's free slots busy with waiting jobs; returns jobs finished."""
    return generation.endpoint_run(endpoint_id=endpoint_id)


def run_job(job_id: int) -> int:
    """Run one job (if still waiting), then keep its endpoint busy; returns jobs finished."""
    return generation.job_run(job_id=job_id)


def sweep() -> dict:
    """Requeue jobs whose worker died and start runners where slots are free."""
    return generation.jobs_sweep()


def judge_runs(run_id: int) -> int:
    """Judge queued programs while a judging slot is free (``run_id`` first, 0: any)."""
    return judge.judge_runs_work(first_id=run_id or None)


def judge_sweep() -> dict:
    """Requeue judge runs whose worker died and start judging where runs wait."""
    return judge.judge_sweep()


def purge_call_logs() -> str:
    """Daily retention purge of the call log (schedule made by migration 0006)."""
    return str(calllog_purge_due(created_by="schedule"))


def anchor_call_log() -> dict:
    """Hourly: write the call-log chain head to the application log (migration 0022)."""
    return calllog_anchor_log()


def verify_call_log(verification_id: int) -> str:
    """The tamper check, started from the admin; progress and result in the database."""
    return calllog_verification_run(verification_id=verification_id)

"""Generating worked solutions: batches, the job runner, the breaker and the sweep.

Modules: prompts (what is sent), batches (starting, cancelling, retrying), claims (the
conditional claim, slots and breaker under one lock), runner (calls in flight),
outcomes (call log, breaker, job state, solution) and sweep (the safety net).

The job table (``GenerationJob``) is the source of truth, not django-q2's queue:

- **Starting work** (``batch_create``) writes the batch and its jobs in one transaction
  and enqueues runner tasks on commit.
- **Claiming** is a conditional UPDATE (queued -> running, with a lease and a per-claim
  token) inside a transaction that locks the endpoint row. The endpoint's concurrency
  slots are its running jobs with a live lease, counted under that lock, so the limit
  holds across every worker process and machine sharing the database. The same lock
  guards the circuit breaker (``consecutive_failures`` / ``paused_until``).
- **Running**: a task becomes a *runner* for one endpoint. It keeps up to
  ``QB_RUNNER_THREADS`` calls in flight in a thread pool; the threads only do HTTP, while
  every database write happens in the runner's own thread, with no transaction open
  during a call. When a call ends, the runner claims the next waiting job for that
  endpoint at once (milliseconds, no queue round trip), then logs and finishes the
  ended one. A job that finds no free slot stays queued and ties up no worker: the
  runner that frees a slot picks it up, and the periodic sweep is the safety net.
- **Leases** are renewed while calls are in flight and streamed partial text is saved
  every ``QB_PARTIAL_SAVE_SECONDS``. The sweep (a django-q2 schedule, every minute)
  requeues jobs whose lease lapsed (worker killed, machine restarted) and kicks
  endpoints that have free slots and waiting jobs; this does not depend on the broker
  keeping receipts, so it holds with Redis too.
- **Every attempt** gets one call-log row, in its own transaction, before the job's
  state changes. A job finishes only if it still holds the claim that started the call,
  and ``Solution.job`` is one-to-one: a job never produces two solutions.
- **Retries** are the project's own: transient errors (cannot connect, timed out, 5xx,
  429, an empty reply, a server failure with a hidden reason) requeue the job with full
  jitter backoff (``QB_RETRY_BASE_SECONDS``, capped at ``QB_RETRY_CAP_SECONDS``), up to
  ``QB_JOB_MAX_ATTEMPTS`` attempts in all; permanent ones (4xx, layout mismatch, reply
  too large, cut off at the token budget, sanitization rejected) fail at once with the
  reason. A retry runs when its backoff ends: a runner with nothing in flight waits for
  its endpoint's earliest retry within its budget (not through a pause). A failed call's slot is
  refilled only after the breaker counted it, and a failure right after another job's
  on the same server (an outage) gives the attempt back (``outcomes.server_outage``).
- **Database blips**: every write of the runner and its writers is retried on a fresh
  connection (``runner.with_reconnect``); the model call never is.
"""

from .batches import batch_cancel as batch_cancel
from .batches import batch_create as batch_create
from .batches import batch_retry_failed as batch_retry_failed
from .prompts import PromptPreview as PromptPreview
from .prompts import prompt_preview as prompt_preview
from .prompts import render_job_prompt as render_job_prompt
from .runner import endpoint_run as endpoint_run
from .runner import job_run as job_run
from .sweep import SWEEP_FUNC as SWEEP_FUNC
from .sweep import SWEEP_SCHEDULE_NAME as SWEEP_SCHEDULE_NAME
from .sweep import jobs_sweep as jobs_sweep
from .sweep import sweep_schedule_ensure as sweep_schedule_ensure

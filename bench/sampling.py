"""Benchmark adaptive sampling against fixed sampling through the whole pipeline, in one run.

    .venv/bin/python bench/sampling.py [--problems 200] [--samples 8] [--concurrency 4]
        [--seconds-per-call 0.2] [--milestone-seconds-per-call 0.5] [--seed 17] [--db NAME]
        [--offline]

The model server is the local OpenAI-compatible test server (tests/servers/
openai_server.py) driven by a simulated model instead of the stand-in's canned text:

- **Accuracy per problem** matches the model's published competition-maths figures
  (VibeThinker-1.5B: AIME24 80.3 %, AIME25 74.4 %, HMMT25 50.4 % mean accuracy) as a mix
  of easy problems (accuracy uniform in 90-99 %) and hard ones (30-50 %); the easy
  share, 73 %, gives the AIME24 mean (0.73 x 0.945 + 0.27 x 0.40 = 0.80).
- **Wrong answers** fall on 2-4 distinct values per problem with uneven weights.
- **Call durations** come from solution lengths: log-normal tokens (median 4,000, as the
  issue measured: 14 tokens/s, about 4.5 minutes per solution), scaled so the mean call
  takes ``--seconds-per-call`` (real calls take minutes; the pipeline's own overhead per
  call is milliseconds, so the scaled calls keep it small beside them).

Each problem's k-th call gets the problem's k-th pre-drawn answer and duration (seeded),
so an adaptive run sees a prefix of what the fixed run sees, as in the paper's own
evaluation. A real qcluster (2 workers) runs the pipeline on PostgreSQL; every run uses
its own copy of the problems, so votes never mix. Runs:

1. without reference answers: fixed (every sample), then adaptive;
2. with reference answers: fixed, then adaptive;
3. breadth-first milestone: a batch at C = 1 (``--milestone-policy``, adaptive by
   default; without reference answers no problem stops in the first round, so the order
   is the same as fixed); the time until every problem has one answer, against the
   floor (problems x S, S the mean server-side time of each problem's first call,
   measured by the server in the same run, so the ratio is order plus the pipeline's
   overhead) and, as the anchor, the depth-first job order's time computed from the
   same durations.

Prints the issue's table with each figure beside its goal, and the run's wall time; the
pipeline's calls beside what the stopping rule alone spends on the same draws (the
difference: samples run past a stop); and the stopping rules side by side, replayed
offline (bench/sampling_rules.py; ``--offline`` prints only these, in seconds).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def _db_name() -> str:
    for i, arg in enumerate(sys.argv):
        if arg == "--db" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--db="):
            return arg.split("=", 1)[1]
    return "qb_bench_sampling"


os.environ["DATABASE_URL"] = f"{BASE}/{_db_name()}"
os.environ.setdefault("QB_DEBUG", "0")
os.environ.setdefault("QB_SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("QB_HTTPS", "0")
os.environ.setdefault("QB_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")

from bench._db import ensure_database  # noqa: E402

ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Count, Min, Q  # noqa: E402

from bench.sampling_rules import evaluate, ours, rule_tables  # noqa: E402
from questionbank.models import (  # noqa: E402
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    Solution,
)
from questionbank.services.endpoints import endpoint_create  # noqa: E402
from questionbank.services.generation import batch_cancel, batch_create  # noqa: E402
from questionbank.services.problems import problem_create  # noqa: E402
from questionbank.services.templates import template_create  # noqa: E402
from tests.servers.openai_server import Handler, OpenAIServer, start_server  # noqa: E402

OpenAIServer.request_queue_size = 256
Status = GenerationJob.Status
EASY_SHARE = 0.73
TOKENS_PER_SECOND = 14.0
TAG = re.compile(r"\(sim (\d+)\)")


# --- The simulated model ----------------------------------------------------------------


@dataclass
class Profile:
    """One problem as the simulated model sees it: the k-th call's answer and duration."""

    correct: str
    accuracy: float
    answers: list[str]
    durations: list[float]  # seconds, already scaled


def make_profiles(n: int, samples: int, seconds_per_call: float, seed: int) -> list[Profile]:
    rng = random.Random(seed)
    lengths_mean = 4000 * math.exp(0.5 ** 2 / 2)  # log-normal, median 4,000, sigma 0.5
    scale = seconds_per_call / (lengths_mean / TOKENS_PER_SECOND)
    profiles = []
    for _ in range(n):
        easy = rng.random() < EASY_SHARE
        accuracy = rng.uniform(0.90, 0.99) if easy else rng.uniform(0.30, 0.50)
        correct = rng.randrange(1000)
        wrong = rng.sample([v for v in range(1000) if v != correct], rng.randint(2, 4))
        weights = [rng.random() ** 2 + 0.05 for _ in wrong]
        answers, durations = [], []
        for _ in range(samples):
            value = correct if rng.random() < accuracy else rng.choices(wrong, weights)[0]
            answers.append(str(value))
            tokens = min(16000, rng.lognormvariate(math.log(4000), 0.5))
            durations.append(tokens / TOKENS_PER_SECOND * scale)
        profiles.append(Profile(str(correct), accuracy, answers, durations))
    return profiles


class SimulatedModel:
    """Per problem, hands out the next pre-drawn answer and sleeps its duration."""

    def __init__(self, profiles: list[Profile]):
        self.profiles = profiles
        self.lock = threading.Lock()
        self.calls: dict[int, int] = {}
        self.served: list[tuple[int, int, float]] = []  # (problem, k, seconds slept)
        self.starts: list[float] = []  # time.time() as each call began
        self.server_seconds: dict[tuple[int, int], float] = {}  # (problem, k): measured
        self.ends: list[float] = []  # time.time() as each reply was written

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.served.clear()
            self.starts.clear()
            self.server_seconds.clear()
            self.ends.clear()

    def next(self, index: int) -> tuple[int, str, float]:
        with self.lock:
            k = self.calls.get(index, 0)
            self.calls[index] = k + 1
        profile = self.profiles[index]
        k = min(k, len(profile.answers) - 1)  # a retry past the budget repeats the last
        with self.lock:
            self.served.append((index, k, profile.durations[k]))
            self.starts.append(time.time())
        return k, profile.answers[k], profile.durations[k]

    def record_server_time(self, index: int, k: int, seconds: float) -> None:
        """The server's own time for a problem's k-th call: from its request read to its
        reply written (the drawn duration, the sleep's overshoot and the reply)."""
        with self.lock:
            self.server_seconds[(index, k)] = seconds
            self.ends.append(time.time())


MODEL: SimulatedModel | None = None


class SimulatedHandler(Handler):
    def _complete(self, body):
        user = next((m["content"] for m in reversed(body.get("messages") or [])
                     if m.get("role") == "user"), "")
        found = TAG.search(user)
        began = time.perf_counter()
        index = int(found.group(1)) if found else None
        k, value, seconds = MODEL.next(index) if found else (0, "0", 0.0)
        text = (f"<think>\nSimulated reasoning for {found.group(0) if found else '?'}.\n"
                f"</think>\n\nWorking omitted.\n\nTherefore the final answer is "
                f"$\\boxed{{{value}}}$.")
        time.sleep(seconds)
        self._json(200, {
            "id": "chatcmpl-sim", "object": "chat.completion", "model": "sim",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()),
                      "total_tokens": 10 + len(text.split())},
        })
        if found:
            MODEL.record_server_time(index, k, time.perf_counter() - began)


# --- The pipeline -----------------------------------------------------------------------


def start_cluster(workers: int) -> subprocess.Popen:
    env = dict(os.environ, QB_WORKERS=str(workers))
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_cluster(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def clean() -> None:
    Solution.objects.all().delete()
    GenerationBatch.objects.all().delete()
    CallLog.objects.all().delete()  # a scratch database: the chain does not matter here
    Problem.objects.filter(source="bench-sampling").delete()
    ModelEndpoint.objects.filter(name__startswith="bench sampling").delete()


def make_problems(profiles: list[Profile], label: str, reference: bool) -> list[Problem]:
    return [problem_create(title=f"{label} {i}", statement=f"(sim {i}) [{label}] Find N.",
                           reference_answer=p.correct if reference else "", status="ready",
                           source="bench-sampling")
            for i, p in enumerate(profiles)]


@dataclass
class Run:
    label: str
    problems: list[Problem]
    batch: GenerationBatch
    seconds: float
    calls: int = 0
    gpu_seconds: float = 0.0
    best: dict[int, str] = field(default_factory=dict)  # profile index -> final answer
    agreeing: set[int] = field(default_factory=set)  # profile indexes with an agreeing one
    per_problem: dict[int, int] = field(default_factory=dict)  # profile index -> calls
    top: dict[int, set[str]] = field(default_factory=dict)  # answers of the largest group(s)


def wait_finished(batch: GenerationBatch, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if GenerationBatch.objects.filter(pk=batch.pk, finished_at__isnull=False).exists():
            return
        time.sleep(0.1)
    raise SystemExit(f"batch {batch} not finished after {timeout:.0f} s")


def run_batch(label: str, profiles, template, endpoint, *, reference: bool,
              samples: int) -> Run:
    problems = make_problems(profiles, label, reference)
    MODEL.reset()
    start = time.perf_counter()
    batch = batch_create(problems=problems, template=template, endpoints=[endpoint],
                         samples=samples)
    wait_finished(batch, 3600)
    seconds = time.perf_counter() - start
    failed = batch.jobs.filter(status=Status.FAILED).count()
    if failed:
        raise SystemExit(f"{label}: {failed} jobs failed")
    run = Run(label, problems, batch, seconds, calls=len(MODEL.served),
              gpu_seconds=sum(s for _, _, s in MODEL.served), per_problem=dict(MODEL.calls))
    index = {p.pk: i for i, p in enumerate(problems)}
    for problem_id, answer in (Solution.objects.filter(job__batch=batch, is_best=True)
                               .values_list("problem_id", "final_answer")):
        run.best[index[problem_id]] = answer
    groups: dict[int, dict[int, list[str]]] = {}
    for problem_id, group, answer in (Solution.objects.filter(job__batch=batch)
                                      .values_list("problem_id", "answer_group",
                                                   "final_answer")):
        if group is not None:
            groups.setdefault(index[problem_id], {}).setdefault(group, []).append(answer)
    for i, by_group in groups.items():
        largest = max(len(v) for v in by_group.values())
        run.top[i] = {a for v in by_group.values() if len(v) == largest for a in v}
    run.agreeing = {index[pid] for pid in Solution.objects.filter(
        job__batch=batch, verdict=Solution.Verdict.AGREES).values_list("problem_id", flat=True)}
    print(f"  {label}: {run.calls} calls in {seconds:.1f} s", flush=True)
    return run


def warm_up(template, endpoint) -> None:
    """One untagged call (an instant reply) through the cluster before the milestone's
    clock starts: a cluster still starting (``--only-milestone``) is not the pipeline's
    per-call cost."""
    problem = problem_create(title="warm-up", statement="Warm up.", status="ready",
                             source="bench-sampling")
    wait_finished(batch_create(problems=[problem], template=template, endpoints=[endpoint],
                               samples=1), 600)


def cluster_cpu_seconds(cluster: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by the qcluster's processes (its session):
    what the pipeline costs per call, much less inflated by load than wall time."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == cluster.pid:  # the session id: start_new_session=True
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def milestone_run(profiles, template, endpoint, samples: int, cluster: subprocess.Popen
                  ) -> tuple[float, float, float]:
    """A batch at C = 1 until every problem has an answer: (measured seconds, floor
    seconds = the server time of each problem's first call, depth-first seconds). Prints
    where the rest went: before the first call, and between calls."""
    problems = make_problems(profiles, "milestone", reference=False)
    MODEL.reset()
    cpu = cluster_cpu_seconds(cluster)
    batch = batch_create(problems=problems, template=template, endpoints=[endpoint],
                         samples=samples)
    n = len(problems)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        answered = (batch.jobs.filter(status=Status.SUCCEEDED)
                    .values("problem_id").distinct().count())
        if answered == n:
            break
        time.sleep(0.2)
    cpu = cluster_cpu_seconds(cluster) - cpu
    calls = len(MODEL.starts)
    batch_cancel(batch=batch)
    firsts = (batch.jobs.filter(status=Status.SUCCEEDED).values("problem_id")
              .annotate(t=Min("finished_at")))
    measured = (max(r["t"] for r in firsts) - batch.created_at).total_seconds()
    # S: the server's own measured time for each problem's first call, in this run.
    floor = sum(t for (_, k), t in MODEL.server_seconds.items() if k == 0)
    starts, ends = list(MODEL.starts), list(MODEL.ends)  # C = 1: one call at a time
    gaps = sorted(b - a for a, b in zip(ends, starts[1:], strict=False))
    print(f"  milestone: first call {starts[0] - batch.created_at.timestamp():.2f} s after "
          f"the batch was created; pipeline time between one reply and the next request: "
          f"mean {1000 * sum(gaps) / max(1, len(gaps)):.1f} ms, median "
          f"{1000 * gaps[len(gaps) // 2]:.1f} ms, 90th percentile "
          f"{1000 * gaps[9 * len(gaps) // 10]:.1f} ms; server time per first call "
          f"{floor / n:.3f} s (drawn {sum(p.durations[0] for p in profiles) / n:.3f} s); "
          f"the cluster's CPU {1000 * cpu / calls:.1f} ms per call; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    # The old order (job id: each problem's samples one after another) reaches the last
    # problem's first sample after every sample of the others.
    depth_first = sum(sum(p.durations[:samples]) for p in profiles[:-1]) + \
        profiles[-1].durations[0]
    wait_finished(batch, 600)
    return measured, floor, depth_first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds-per-call", type=float, default=0.2,
                        help="mean simulated call time for the fixed/adaptive runs")
    parser.add_argument("--milestone-seconds-per-call", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--db", default="qb_bench_sampling")
    parser.add_argument("--skip-milestone", action="store_true")
    parser.add_argument("--offline", action="store_true",
                        help="only replay the stopping rules on the draws (no pipeline)")
    parser.add_argument("--only-milestone", action="store_true")
    parser.add_argument("--milestone-policy", choices=["adaptive", "fixed"], default="adaptive",
                        help="the milestone batch's policy (no reference answers, so no "
                        "problem can stop before its third answer: the first round is the "
                        "same; adaptive votes in the write-up threads, fixed in the runner's "
                        "own thread between claims)")
    args = parser.parse_args()

    global MODEL
    began = time.perf_counter()
    if args.offline:
        profiles = make_profiles(args.problems, args.samples, args.seconds_per_call, args.seed)
        print("\n".join(rule_tables(*draws(profiles))))
        return
    call_command("migrate", verbosity=0)
    clean()
    profiles = make_profiles(args.problems, args.samples, args.seconds_per_call, args.seed)
    fixed = template_create(name=f"bench fixed {time.time()}", user_prompt="{statement}",
                            samples=args.samples)
    adaptive = template_create(name=f"bench adaptive {time.time()}",
                               user_prompt="{statement}", samples=args.samples,
                               sampling_policy="adaptive")
    MODEL = SimulatedModel(profiles)
    server, url = start_server(concurrency=args.concurrency, port=8171)
    server.RequestHandlerClass = SimulatedHandler
    cluster = start_cluster(args.workers)
    try:
        endpoint = endpoint_create(name=f"bench sampling C={args.concurrency}",
                                   protocol="openai", base_url=url,
                                   max_concurrency=args.concurrency, stream=False)
        print(f"{args.problems} problems x at most {args.samples} samples, "
              f"C={args.concurrency}, mean call {args.seconds_per_call} s, seed {args.seed}",
              flush=True)
        runs = {}
        plan = [("fixed-noref", fixed, False), ("adaptive-noref", adaptive, False),
                ("fixed-ref", fixed, True), ("adaptive-ref", adaptive, True)]
        for label, template, reference in [] if args.only_milestone else plan:
            runs[label] = run_batch(label, profiles, template, endpoint, reference=reference,
                                    samples=args.samples)
        milestone = None
        if not args.skip_milestone:
            slow = make_profiles(args.problems, args.samples,
                                 args.milestone_seconds_per_call, args.seed)
            MODEL = SimulatedModel(slow)
            server.stop()
            server, url = start_server(concurrency=1, port=8172)
            server.RequestHandlerClass = SimulatedHandler
            endpoint = endpoint_create(name="bench sampling C=1", protocol="openai",
                                       base_url=url, max_concurrency=1, stream=False)
            warm_up(fixed, endpoint)
            milestone = milestone_run(slow, adaptive if args.milestone_policy == "adaptive"
                                      else fixed, endpoint, args.samples, cluster)
    finally:
        server.stop()
        stop_cluster(cluster)
    report(args, runs, milestone, profiles)
    stats = GenerationJob.objects.aggregate(
        not_needed=Count("id", filter=Q(status=Status.NOT_NEEDED)))
    print(f"\n(jobs marked not needed in all runs: {stats['not_needed']})")
    clean()
    print(f"bench wall time: {time.perf_counter() - began:.0f} s")


def draws(profiles):
    """The answer sequences, reference answers and easy flags the offline rules replay."""
    return ([p.answers for p in profiles], [p.correct for p in profiles],
            [p.accuracy >= 0.9 for p in profiles])


def rule_vs_pipeline(run: Run, profiles, reference: bool) -> str:
    """The pipeline's calls beside what the rule alone (questionbank.sampling, the issue's
    defaults, one sample at a time) would use on the same draws: the difference is
    samples that ran past a stop."""
    sequences, references, _ = draws(profiles)
    alone = evaluate(ours(), sequences, references if reference else None)
    past = sum(max(0, run.per_problem.get(i, 0) - used) for i, used in enumerate(alone.used))
    short = sum(max(0, used - run.per_problem.get(i, 0)) for i, used in enumerate(alone.used))
    return (f"  {run.label}: pipeline {run.calls} calls ({run.calls / alone.maximum:.3f} x "
            f"fixed), the rule alone {alone.calls} ({alone.ratio:.3f}): {past} samples past "
            f"the rule's stop, {short} fewer than it")


def report(args, runs, milestone, profiles) -> None:
    n = args.problems
    if not runs:
        measured, floor, depth_first = milestone
        print(f"\nmilestone ({args.milestone_policy}): {measured / floor:.3f} "
              f"({measured:.1f} s / {floor:.1f} s); depth-first {depth_first / floor:.2f}")
        return
    fn, an = runs["fixed-noref"], runs["adaptive-noref"]
    fr, ar = runs["fixed-ref"], runs["adaptive-ref"]
    same = sum(1 for i in range(n) if an.best.get(i) == fn.best.get(i))
    # A tie at the top of the fixed vote has no majority: its pick is the first answer
    # written up, which concurrency orders. There, any of the tied answers counts.
    ties = [i for i in range(n) if len(fn.top.get(i, ())) > 1]
    same_or_tied = sum(1 for i in range(n) if an.best.get(i) == fn.best.get(i)
                       or (i in ties and an.best.get(i) in fn.top[i]))
    easy = [i for i, p in enumerate(profiles) if p.accuracy >= 0.9]
    hard = [i for i, p in enumerate(profiles) if p.accuracy < 0.9]

    def mean_calls(run, indexes):
        return sum(run.per_problem.get(i, 0) for i in indexes) / max(1, len(indexes))

    print(f"\n{'run':<16}{'calls':>7}{'calls/problem':>15}{'easy':>7}{'hard':>7}"
          f"{'server s':>10}{'wall s':>8}")
    for run in (fn, an, fr, ar):
        print(f"{run.label:<16}{run.calls:>7}{run.calls / n:>15.2f}"
              f"{mean_calls(run, easy):>7.2f}{mean_calls(run, hard):>7.2f}"
              f"{run.gpu_seconds:>10.1f}{run.seconds:>8.1f}")
    rows = [
        ("calls per problem, adaptive / fixed, no reference",
         f"{an.calls / fn.calls:.3f}", "<= 0.40", an.calls / fn.calls <= 0.40),
        ("final answer equal to fixed-N majority (no reference)",
         f"{100 * same / n:.1f} % ({same} of {n})", ">= 99 %", same >= 0.99 * n),
        (f"  the same, a tie at the top of the fixed vote ({len(ties)} problems) matching "
         "any tied answer", f"{100 * same_or_tied / n:.1f} % ({same_or_tied} of {n})",
         ">= 99 %", same_or_tied >= 0.99 * n),
        ("calls per problem, adaptive / fixed, with reference",
         f"{ar.calls / fr.calls:.3f}", "<= 0.30", ar.calls / fr.calls <= 0.30),
        ("problems with an explanation agreeing with the reference, adaptive vs fixed",
         f"{len(ar.agreeing)} vs {len(fr.agreeing)}", "same, or within 1 %",
         abs(len(ar.agreeing) - len(fr.agreeing)) <= 0.01 * n),
    ]
    if milestone is not None:
        measured, floor, depth_first = milestone
        rows.append((f"time until every problem has one answer, C = 1, breadth-first / "
                     f"(problems x S) ({args.milestone_policy} policy)",
                     f"{measured / floor:.3f} ({measured:.1f} s / {floor:.1f} s)",
                     "<= 1.05", measured / floor <= 1.05))
        rows.append(("  anchor: depth-first job order (computed from the same durations)",
                     f"{depth_first / floor:.2f}", "-", None))
    print("\nThe pipeline against the stopping rule alone on the same draws:")
    print(rule_vs_pipeline(an, profiles, reference=False))
    print(rule_vs_pipeline(ar, profiles, reference=True))
    print("\n| figure | measured | goal | met |\n|---|---|---|---|")
    for name, value, goal, met in rows:
        print(f"| {name} | {value} | {goal} | {'-' if met is None else 'yes' if met else 'NO'} |")
    print()
    print("\n".join(rule_tables(*draws(profiles))))
    print(f"Problems: {len(easy)} easy (90-99 %), {len(hard)} hard (30-50 %); mean accuracy "
          f"{sum(p.accuracy for p in profiles) / n:.3f}.")


if __name__ == "__main__":
    main()

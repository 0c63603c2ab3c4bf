"""``make mutate``: mutation testing of the code students and auditors rely on.

Usage: ``.venv/bin/python mutation/run.py [MODULE ...] [--max-children N]``; without a
module name every one in :data:`MODULES` runs. See docs/mutation.md.

Each module runs in its own scratch copy of the project (``.mutation/<module>/``) with
mutmut 3, which mutates the listed files' functions, runs only the tests selected for the
module (and, of those, only the ones that execute the mutated function), two mutants at a
time in forked children. Module-level constants are not mutated by mutmut, so the
allow-lists and the hashed-field list are covered by each module's ``constants``: each one is
a one-line edit of the real file in a scratch copy, run against the module's tests.

Prints, per module, every surviving mutant as a diff and the score
``killed / (mutants - listed equivalents)``; exits 1 when a module is under 90 %.
Equivalent mutants are listed in docs/mutation.md as "- `name`: reason".
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import queue
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("MUTATION_DIR", ROOT / ".mutation"))  # scratch copies
VENV_BIN = Path(sys.executable).parent
MUTMUT = VENV_BIN / "mutmut"
EQUIVALENTS_FILE = ROOT / "docs" / "mutation.md"
TEMPLATE_DB = SCRATCH / "template.sqlite3"
GOAL = 0.90
COPIED = ("questionbank", "tests", "templates", "static", "mutation", "manage.py", "docs")


@dataclass(frozen=True)
class Module:
    files: tuple[str, ...]
    tests: tuple[str, ...]
    # fnmatch patterns over mutmut's mutant names; empty: every function of the files.
    only: tuple[str, ...] = ()
    constants: tuple[tuple[str, str, str], ...] = field(default=())


# (file, text as it is, text as mutated): the hand-written mutants of issue 20's table and
# their siblings, for module-level constants mutmut leaves alone.
_R = "questionbank/rendering.py"
_S = "questionbank/sanitize.py"
_C = "questionbank/services/calllogs.py"
_SANITIZER_CONSTANTS = tuple(
    (_S, old, new) for old, new in (
        ("\\u202a-\\u202e", "\\u202b-\\u202e"),   # LRE kept
        ("\\u202a-\\u202e", "\\u202a-\\u202d"),   # RLO kept
        ("\\u2066-\\u2069", "\\u2066\\u2069"),    # RLI/FSI kept
        ("\\u200e\\u200f\\u061c", "\\u200f\\u061c"),  # LRM kept
        ("\\u200f\\u061c]", "\\u061c]"),          # RLM kept
        ("\\u061c]", "]"),                        # ALM kept
        ("\\u200b-\\u200d", "\\u200c-\\u200d"),   # ZWSP kept
        ("\\u2060-\\u2064", "\\u2061-\\u2064"),   # WJ kept
        ("\\ufeff\\u180e", "\\u180e"),            # BOM kept
        ("\\ufeff\\u180e]", "\\ufeff]"),          # MVS kept
        ("\\U000e0000-\\U000e007f", "\\U000e0001-\\U000e007f"),
        ("\\U000e0000-\\U000e007f", "\\U000e0000-\\U000e007e"),
        ("\\x01-\\x08", "\\x02-\\x08"),
        ("\\x0b\\x0c", "\\x0c"),
        ("\\x0e-\\x1f", "\\x0f-\\x1f"),
        ("\\x7f-\\x9f", "\\x80-\\x9f"),
        ("\\x7f-\\x9f", "\\x7f-\\x9e"),
        ('"\\r\\n|\\r|\\u2028|\\u2029"', '"\\r\\n|\\r|\\u2028"'),
        # Issue 14: variation selectors, other invisibles, chat-template control tokens.
        ("\\ufe00-\\ufe0f", "\\ufe00-\\ufe0e"),      # VS16 (emoji style) kept
        ("\\ufe00-\\ufe0f", "\\ufe01-\\ufe0f"),      # VS1 kept
        ("\\U000e0100-\\U000e01ef", "\\U000e0101-\\U000e01ef"),
        ("\\U000e0100-\\U000e01ef", "\\U000e0100-\\U000e01ee"),
        ("\\u180b-\\u180d\\u180f", "\\u180b-\\u180d"),
        ('"[\\u00ad', '"['),                          # soft hyphen kept
        ("\\u034f", ""),                             # combining grapheme joiner kept
        ("\\u115f\\u1160", "\\u1160"),               # Hangul choseong filler kept
        ("\\u3164\\uffa0", "\\uffa0"),               # Hangul filler kept
        ("\\u3164\\uffa0", "\\u3164"),               # halfwidth Hangul filler kept
        ("\\ufff9-\\ufffb", "\\ufffa-\\ufffb"),
        ("\\U000e0080-\\U000e00ff", "\\U000e0081-\\U000e00ff"),
        ("\\U000e01f0-\\U000e0fff", "\\U000e01f0-\\U000e0ffe"),
        ('r"|\\[(?P<n2>/?INST)\\]"', 'r"|\\[(?P<n2>INST)\\]"'),   # [/INST] kept
        ('r"|<<(?P<n3>/?SYS)>>"', 'r"|<<(?P<n3>SYS)>>"'),           # <</SYS>> kept
        ("<[|｜](?P<n1>", "<[|](?P<n1>"),             # DeepSeek's full-width bars kept
        ("\\w.:\\-\\u2581]+)", "\\w.:\\-\\u2581]*)"),  # one-letter names (maths) taken
    )
)
_RENDERING_CONSTANTS = (
    (_R, '"a": {"href", "title"},', '"a": {"href", "title", "style"},'),
    (_R, '"img": {"src", "alt", "title"},', '"img": {"src", "alt", "title", "onerror"},'),
    (_R, '"code": {"title"},', '"code": {"title", "style"},'),
    (_R, '"ol": {"start"},', '"ol": {"start"}, "td": {"style"}, "th": {"style"},'),
    (_R, '"ol": {"start"},', '"ol": {"start"}, "*": {"style"},'),
    (_R, 'url_schemes={"http", "https", "mailto"}',
     'url_schemes={"http", "https", "mailto", "data"}'),
    (_R, 'url_schemes={"http", "https", "mailto"}',
     'url_schemes={"http", "https", "mailto", "javascript"}'),
    (_R, 'url_schemes={"http", "https", "mailto"}',
     'url_schemes={"http", "https", "mailto", "vbscript"}'),
    (_R, 'clean_content_tags={"script", "style"}', 'clean_content_tags={"script"}'),
    (_R, '"a", "img", "table"', '"a", "img", "iframe", "table"'),
    (_R, '"a", "img", "table"', '"a", "img", "form", "table"'),
    (_R, '"div": {"math", "math-display"},', '"div": {"math", "math-display", "x"}, "*": '
     '{"x"},'),
    (_R, 'link_rel="nofollow noopener noreferrer"', 'link_rel="nofollow"'),
    (_R, '"loading": "lazy", "referrerpolicy": "no-referrer"', '"loading": "lazy"'),
    (_R, '"math": {"display": {"block", "inline"}},', '"math": {"display": {"block", '
     '"inline"}}, "a": {"href": {"javascript:alert(1)"}},'),
    (_R, '"separator", "stretchy"', '"separator", "href", "stretchy"'),
    (_R, '_SAFE_ATTRIBUTE_VALUE = re.compile(r"^[\\w .%#+-]{0,64}$")',
     '_SAFE_ATTRIBUTE_VALUE = re.compile(r"^.{0,64}$")'),
)
# EXPORT_FIELDS repeats the names, so each field is dropped from the HASHED_FIELDS block only.
_HASHED_BLOCK = re.search(r"HASHED_FIELDS = \(.*?\n\)\n", (ROOT / _C).read_text(), re.S)[0]
_CALLLOG_CONSTANTS = tuple(
    (_C, _HASHED_BLOCK, re.sub(rf'"{name}",\s?', "", _HASHED_BLOCK, count=1)) for name in (
        "created_at", "endpoint_id", "endpoint_name", "protocol", "method", "url", "route",
        "server_version", "request_headers", "request_body", "response_status",
        "response_body", "response_size", "outcome", "error_class", "error_message",
        "retryable", "latency_ms", "prompt_tokens", "completion_tokens", "attempt",
        "sanitize_report", "job_id", "batch_id", "problem_id", "problem_version",
        "template_id", "user_id",
    )
) + (
    (_C, '"user_id", "prev_hash",', '"user_id",'),
    (_C, '"authorization", ', ""),
    (_C, '"cookie", "set-cookie", ', '"set-cookie", '),
    (_C, '"set-cookie", "x-api-key"', '"x-api-key"'),
    (_C, '"x-api-key", "api-key",', '"api-key",'),
    (_C, '"api-key",\n', "\n"),
    (_C, '"proxy-authorization"}', "}"),
)

MODULES: dict[str, Module] = {
    "sanitize": Module(
        files=(_S,),
        tests=("tests/test_sanitize.py", "tests/test_sanitize_exhaustive.py"),
        constants=_SANITIZER_CONSTANTS,
    ),
    "rendering": Module(
        files=(_R,),
        tests=("tests/test_rendering_allowlist.py", "tests/test_rendering.py",
               "tests/test_rendering_exact.py"),
        constants=_RENDERING_CONSTANTS,
    ),
    "calllogs": Module(
        files=(_C, "questionbank/models/calllogs.py"),
        tests=("tests/services/test_calllogs.py", "tests/services/test_calllog_chain.py",
               "tests/services/test_calllog_keyed.py"),
        # The chain and its verification, what auditors rely on: the keyed hash, the MACs of
        # the head and of checkpoints, the head's update, and verify with its named forgeries
        # and anchors. Out of scope (docs/mutation.md): recording's field plumbing, re-keying,
        # retention, export and the background verification's progress.
        only=("questionbank.services.calllogs.x_row_hash__*",
              "questionbank.services.calllogs.x__row_blob__*",
              "questionbank.services.calllogs.x_unkeyed_row_hash__*",
              "questionbank.services.calllogs.x__mac__*",
              "questionbank.services.calllogs.x_head_mac__*",
              "questionbank.services.calllogs.x_checkpoint_mac__*",
              "questionbank.services.calllogs.x__set_head__*",
              "questionbank.services.calllogs.x__hash_problem__*",
              "questionbank.services.calllogs.x__check_anchors__*",
              "questionbank.services.calllogs.x_calllog_verify__*",
              "questionbank.services.calllogs.x_redact_headers__*",
              "questionbank.services.calllogs.x__clean_text__*",
              "questionbank.services.calllogs.xǁChainReportǁ*"),
        constants=_CALLLOG_CONSTANTS,
    ),
    "breaker": Module(
        files=("questionbank/webui/breaker.py", "questionbank/services/generation/breaker.py",
               "questionbank/services/generation/claims.py",
               "questionbank/services/generation/outcomes.py"),
        tests=("tests/webui/test_units.py", "tests/services/test_generation_breaker.py"),
        only=("questionbank.webui.breaker.*",
              "questionbank.services.generation.breaker.*",
              "questionbank.services.generation.claims.x_claim_jobs__*",
              "questionbank.services.generation.claims.x_busy__*",
              "questionbank.services.generation.outcomes.x_breaker_record__*",
              "questionbank.services.generation.outcomes.x_server_outage__*"),
    ),
    "visibility": Module(
        files=("questionbank/models/problems.py", "questionbank/models/solutions.py"),
        tests=("tests/models/test_visibility.py",),
        only=("questionbank.models.problems.xǁProblemQuerySetǁpublished__*",
              "questionbank.models.solutions.xǁSolutionQuerySetǁpublished__*"),
    ),
    "answers": Module(
        files=("questionbank/answers.py",),
        tests=("tests/test_answers.py", "tests/test_answers_properties.py",
               "tests/test_answers_edges.py"),
    ),
    "interchange": Module(
        files=("questionbank/interchange/__init__.py", "questionbank/interchange/base.py",
               "questionbank/interchange/moodle_xml.py"),
        tests=("tests/interchange/test_files.py", "tests/interchange/test_moodle_xml.py",
               "tests/interchange/test_guards.py", "tests/interchange/test_moodle_parse_edges.py"),
        only=("questionbank.interchange.x_parse_file__*",
              "questionbank.interchange.base.x_check_size__*",
              "questionbank.interchange.base.x__size__*",
              "questionbank.interchange.base.x_decode_bytes__*",
              "questionbank.interchange.moodle_xml.x_parse__*"),
    ),
}


def _pytest_cli() -> list[str]:
    return ["-p", "no:cacheprovider", "-p", "mutation.pytest_plugin", "--reuse-db",
            "-p", "no:randomly", "-q"]


def _env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "QB_TEST_SQLITE"}}
    env.update(QB_DEBUG="1", QB_TEST_SQLITE=str(scratch / ".test-db.sqlite3"),
               PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def _copy_project(scratch: Path) -> None:
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".test-db*")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=ignore)
        else:
            shutil.copy2(source, scratch / name)
    if TEMPLATE_DB.exists():  # migrated once by main(): --reuse-db finds nothing to apply
        shutil.copyfile(TEMPLATE_DB, scratch / ".test-db.sqlite3")


def _migrate_template() -> None:
    """Migrate one SQLite test database for every scratch copy (about 12 s of CPU each)."""
    TEMPLATE_DB.unlink(missing_ok=True)
    env = _env(SCRATCH)
    env["QB_TEST_SQLITE"] = str(TEMPLATE_DB)
    subprocess.run([str(VENV_BIN / "pytest"), *_pytest_cli()[:2], "--reuse-db", "-q",
                    "tests/models/test_visibility.py"], cwd=ROOT, env=env,
                   capture_output=True, check=True)


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _write_config(scratch: Path, module: Module) -> None:
    # mutmut puts mutants/ first on sys.path; pytest's pythonpath "." would put the
    # unmutated project before it.
    text = (ROOT / "pyproject.toml").read_text().replace('pythonpath = ["."]\n', "")
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["questionbank/"]\n'
        f"only_mutate = {_toml_list(module.files)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(module.tests)}\n"
        f"pytest_add_cli_args = {_toml_list(_pytest_cli())}\n"
        # manage.py too: pytest-django puts the folder holding it first on sys.path.
        f"also_copy = {_toml_list(d + '/' if (ROOT / d).is_dir() else d for d in COPIED)}\n"
    )
    (scratch / "pyproject.toml").write_text(text)


def _exists_in(rev: str, path: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{rev}:{path.rstrip('/')}"], cwd=ROOT,
                          capture_output=True, check=False).returncode == 0


def _equivalents() -> dict[str, str]:
    if not EQUIVALENTS_FILE.exists():
        return {}
    found = {}
    for match in re.finditer(r"^- `([^`]+)`: (.+)$", EQUIVALENTS_FILE.read_text(), re.M):
        found[match[1]] = match[2]
    return found


def _results(scratch: Path, env) -> dict[str, str]:
    out = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=scratch, env=env,
                         capture_output=True, text=True, check=False).stdout
    return dict(re.findall(r"^\s*(\S+): (.+?)\s*$", out, re.M))


def _run_mutmut(name: str, module: Module, max_children: int) -> tuple[dict, str]:
    scratch = SCRATCH / name
    _copy_project(scratch)
    _write_config(scratch, module)
    env = _env(scratch)
    log = scratch / "mutmut.log"
    with log.open("w") as out:
        subprocess.run([str(MUTMUT), "run", "--max-children", str(max_children),
                        *module.only], cwd=scratch, env=env, stdout=out,
                       stderr=subprocess.STDOUT, check=False)
    statuses = _results(scratch, env)
    if module.only:
        statuses = {k: v for k, v in statuses.items()
                    if any(fnmatch.fnmatch(k, p) for p in module.only)}
    diffs = []
    for key, status in statuses.items():
        if status not in {"killed", "timeout"}:
            shown = subprocess.run([str(MUTMUT), "show", key], cwd=scratch, env=env,
                                   capture_output=True, text=True, check=False).stdout
            diffs.append(f"--- {key} ({status})\n{shown}")
    return statuses, "\n".join(diffs)


def _run_constant(scratch: Path, env, tests, key: str, path: str, old: str, new: str):
    """One constant mutant in ``scratch``: edit the file, run the tests with -x, undo."""
    target = scratch / path
    original = target.read_text()
    if original.count(old) != 1:
        return "not applicable (text not found once)", f"--- {key}: {old!r} not found exactly once"
    target.write_text(original.replace(old, new, 1))
    try:
        run = subprocess.run(
            [str(VENV_BIN / "pytest"), "-x", *_pytest_cli(), *tests], cwd=scratch, env=env,
            capture_output=True, text=True, check=False, timeout=600)
    finally:
        target.write_text(original)
    status = "killed" if run.returncode == 1 else (
        "survived" if run.returncode == 0 else f"error {run.returncode}")
    if status == "killed":
        return status, ""
    return status, (f"--- {key} ({status})\n-  {old}\n+  {new}\n"
                    + (run.stdout[-2000:] if status.startswith("error") else ""))


def _run_constants(name: str, module: Module, workers: int) -> tuple[dict, str]:
    """Each constant mutant: edit one copy of the file, run the module's tests with -x.

    ``workers`` copies of the project, each with its own test database, run one constant
    mutant each at a time (the mutmut part runs as many children)."""
    if not module.constants:
        return {}, ""
    copies = []
    for number in range(workers):
        scratch = SCRATCH / f"{name}-constants-{number}"
        _copy_project(scratch)
        # pytest's settings (Django, pythonpath) even when MUTATION_DIR is outside the project
        shutil.copy2(ROOT / "pyproject.toml", scratch / "pyproject.toml")
        copies.append((scratch, _env(scratch)))
    pending = queue.SimpleQueue()
    for number, constant in enumerate(module.constants, 1):
        pending.put((f"constant:{constant[0]}:{number}", *constant))
    results: dict[str, tuple[str, str]] = {}

    def work(scratch: Path, env) -> None:
        while True:
            try:
                key, *constant = pending.get_nowait()
            except queue.Empty:
                return
            results[key] = _run_constant(scratch, env, module.tests, key, *constant)

    threads = [threading.Thread(target=work, args=copy) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(results, key=lambda key: int(key.rsplit(":", 1)[1]))
    statuses = {key: results[key][0] for key in ordered}
    return statuses, "\n".join(results[key][1] for key in ordered if results[key][1])


def _score_module(name: str, args, equivalents) -> dict:
    """Run one module (mutmut, then its constants); return its numbers and its report text."""
    module = MODULES[name]
    if args.baseline:
        module = replace(module, tests=tuple(
            t for t in module.tests if _exists_in(args.baseline, t)))
    t0 = time.monotonic()
    statuses, diffs = _run_mutmut(name, module, args.max_children)
    if not args.no_constants:
        constant_statuses, constant_diffs = _run_constants(name, module, args.max_children)
        statuses.update(constant_statuses)
        diffs = "\n".join(d for d in (diffs, constant_diffs) if d)
    equivalent = {k for k in statuses if k in equivalents}
    counted = {k: v for k, v in statuses.items() if k not in equivalent}
    killed = sum(v in {"killed", "timeout"} for v in counted.values())
    score = killed / len(counted) if counted else 1.0
    seconds = time.monotonic() - t0
    survivors = [k for k, v in counted.items() if v not in {"killed", "timeout"}]
    lines = [f"\n=== {name}: {killed}/{len(counted)} killed ({score:.1%}), "
             f"{len(equivalent)} equivalent, {seconds:.0f} s"]
    lines += [f"  survived: {key} ({counted[key]})" for key in survivors]
    if diffs:
        lines.append(diffs)
    return {"name": name, "killed": killed, "total": len(counted),
            "equivalent": len(equivalent), "score": score, "seconds": seconds,
            "report": "\n".join(lines)}


def _run_modules(names, args) -> list[dict]:
    """Each module in a process of its own, ``args.jobs`` at a time, biggest first.

    A process per module lets ``wait4`` report the CPU seconds (user + system) of the
    module and everything it started: unlike wall time, they barely change with the load
    of a shared machine."""
    waiting = sorted(names, key=list(MODULES).index)
    waiting.sort(key=lambda name: -COST_ORDER.get(name, 0))
    running: dict[int, tuple[str, float, Path]] = {}
    rows = {}
    while waiting or running:
        while waiting and len(running) < args.jobs:
            name = waiting.pop(0)
            result_file = SCRATCH / f"{name}.json"
            result_file.unlink(missing_ok=True)
            command = [sys.executable, __file__, "--worker", name, "--max-children",
                       str(args.max_children)]
            command += ["--no-constants"] if args.no_constants else []
            command += ["--baseline", args.baseline] if args.baseline else []
            process = subprocess.Popen(command, cwd=ROOT)
            running[process.pid] = (name, time.monotonic(), result_file)
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        name, t0, result_file = running.pop(pid)
        if result_file.exists():
            row = json.loads(result_file.read_text())
        else:
            row = {"name": name, "killed": 0, "total": 0, "equivalent": 0, "score": 0.0,
                   "report": f"\n=== {name}: failed (exit status {status})"}
        row["seconds"] = time.monotonic() - t0
        row["cpu"] = usage.ru_utime + usage.ru_stime
        print(row["report"], flush=True)
        rows[name] = row
    return [rows[name] for name in names]


# CPU seconds per module measured on 2 December 2026 (docs/mutation.md), to start the
# longest first when modules run side by side.
COST_ORDER = {"sanitize": 7, "calllogs": 6, "rendering": 5, "breaker": 4, "answers": 3,
              "interchange": 2, "visibility": 1}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants tested at once per module (default 2)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="modules run side by side (default 2)")
    parser.add_argument("--no-constants", action="store_true")
    parser.add_argument("--baseline", metavar="REV",
                        help="use only the module's test files that exist in REV (e.g. main)")
    parser.add_argument("--worker", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        row = _score_module(args.worker, args, _equivalents())
        (SCRATCH / f"{args.worker}.json").write_text(json.dumps(row))
        return 0
    names = args.modules or list(MODULES)
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}")
    started = time.monotonic()
    load_at_start = os.getloadavg()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    _migrate_template()
    template = resource.getrusage(resource.RUSAGE_CHILDREN)
    template_cpu = template.ru_utime + template.ru_stime
    table = _run_modules(names, args)
    print(f"\n{'module':<12} {'killed':>7} {'of':>5} {'equiv':>6} {'score':>7} {'wall':>6} "
          f"{'CPU':>6}")
    for row in table:
        print(f"{row['name']:<12} {row['killed']:>7} {row['total']:>5} {row['equivalent']:>6} "
              f"{row['score']:>7.1%} {row['seconds']:>5.0f}s {row['cpu']:>5.0f}s")
    wall = time.monotonic() - started
    everything = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = everything.ru_utime + everything.ru_stime
    # The wall times mean little without the machine's load: print it beside them. The CPU
    # seconds do not depend on it much; spread over the cores they bound a quiet run.
    print(f"migrating the template database: {template_cpu:.0f} s CPU")
    print(f"total: {wall:.0f} s wall, {cpu:.0f} s CPU (user + system of every process) "
          f"= {cpu / os.cpu_count():.0f} s on {os.cpu_count()} idle cores at best; "
          f"load average at the start {load_at_start[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    return 0 if all(row["score"] >= GOAL for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Every bad input of issue 18, run for real under bubblewrap with small limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from questionbank import judge
from questionbank.judge import Limits, Sandbox, TestCase, judge_text

UNAVAILABLE = Sandbox().unavailable()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"sandbox {UNAVAILABLE}")

SMALL = Limits(cpu_seconds=1, wall_seconds=2, memory_mb=128, file_size_mb=4,
               output_bytes=256 * 1024, tmpfs_mb=8)
PROJECT_FILE = Path(__file__).resolve().parents[2] / "questionbank" / "settings.py"


def python(code: str) -> str:
    return f"Here is my solution.\n\n```python\n{code}\n```\n"


def run(code: str, expected: str = "ok", stdin: str = "", limits: Limits = SMALL):
    report = judge_text(python(code), [TestCase(stdin, expected)], limits=limits)
    assert len(report.results) == 1, report.message
    return report, report.results[0]


def survivors(marker: str) -> list[int]:
    """Host processes whose command line carries ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


def assert_still_works():
    report = judge_text(python("print(int(input()) * 2)"), [TestCase("21", "42")], limits=SMALL)
    assert report.outcome == judge.ALL_PASSED, report.results


def test_a_correct_program_passes_and_a_wrong_one_gets_a_short_diff():
    tests = [TestCase("1 2\n", "3\n"), TestCase("2 2", "5")]
    report = judge_text(python("a, b = map(int, input().split())\nprint(a + b)  "), tests,
                        limits=SMALL)
    assert report.outcome == judge.SOME_FAILED
    assert [r.verdict for r in report.results] == [judge.PASSED, judge.WRONG_ANSWER]
    assert report.results[1].message == "Line 1: expected '5', got '4'."
    assert report.message == "Fails 1 of 2 tests."


def test_infinite_loop_is_a_time_limit():
    report, result = run("while True:\n    pass")
    assert result.verdict == judge.TIME_LIMIT, result
    assert_still_works()


def test_sleeping_past_the_wall_clock_is_a_time_limit():
    marker = "543.219"
    report, result = run(f"import subprocess\nsubprocess.run(['sleep', '{marker}'])")
    # This message is written only when the sandbox killed the run for its wall clock.
    assert result.verdict == judge.TIME_LIMIT
    assert result.message.startswith("Still running after 2 s of wall-clock time")
    assert survivors(marker) == []


def test_waiting_for_input_that_never_comes_ends_at_the_wall_clock():
    report, result = run("import sys\nprint(sys.stdin.read())\ninput()", stdin="")
    assert result.verdict == judge.RUNTIME_ERROR  # EOFError: stdin is a file, not a tty
    assert "EOFError" in result.stderr


def test_fork_bomb_is_contained_and_leaves_no_process():
    report, result = run("import os\nwhile True:\n    os.fork()")
    assert result.verdict in (judge.RUNTIME_ERROR, judge.TIME_LIMIT), result
    assert survivors("/box/main.py") == []  # every copy ran as python3 ... /box/main.py
    assert_still_works()


def test_spawning_processes_without_end_is_contained():
    marker = "765.432"
    report, result = run("import subprocess\nwhile True:\n"
                         f"    subprocess.Popen(['sleep', '{marker}'])")
    assert result.verdict == judge.RUNTIME_ERROR, result
    assert "BlockingIOError" in result.stderr  # the process limit, not the host, said no
    assert survivors(marker) == []
    assert_still_works()


def test_allocating_10_gb_is_a_memory_limit():
    report, result = run("data = bytearray(10 * 1024 ** 3)\nprint(len(data))")
    assert result.verdict == judge.MEMORY_LIMIT, result
    assert "128 MB" in result.message


def test_growing_a_list_until_memory_runs_out_is_a_memory_limit():
    report, result = run("x = []\nwhile True:\n    x.append(' ' * 10**6)")
    assert result.verdict == judge.MEMORY_LIMIT, result


def test_a_gigabyte_to_stdout_is_an_output_limit():
    report, result = run("import sys\nchunk = 'x' * 65536\nfor _ in range(16384):\n"
                         "    sys.stdout.write(chunk)")
    # Stopped for its output, not for the 2 s wall clock.
    assert result.verdict == judge.OUTPUT_LIMIT, result
    assert result.message.endswith(" to stdout and was stopped.")
    assert len(result.got) < 1000  # only an excerpt is kept


def test_a_gigabyte_to_a_file_is_an_output_limit():
    report, result = run("chunk = b'x' * 65536\nwith open('/tmp/big', 'wb') as f:\n"
                         "    for _ in range(16384):\n        f.write(chunk)")
    assert result.verdict == judge.OUTPUT_LIMIT, result


def test_many_files_cannot_fill_the_hosts_memory():
    code = ("for n in range(1000):\n    with open(f'/tmp/f{n}', 'wb') as f:\n"
            "        f.write(b'x' * 3 * 1024 * 1024)")
    report, result = run(code)
    assert result.verdict == judge.OUTPUT_LIMIT, result
    assert "scratch space" in result.message


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "1.1.1.1"])
def test_no_network_at_all(host):
    code = (f"import socket\ntry:\n    socket.create_connection(('{host}', 5432), timeout=1)\n"
            "    print('connected')\nexcept OSError as exc:\n    print('blocked')")
    report, result = run(code, expected="blocked")
    assert result.verdict == judge.PASSED, result


def test_no_name_resolution():
    code = ("import socket\ntry:\n    socket.getaddrinfo('example.org', 80)\n"
            "    print('resolved')\nexcept OSError:\n    print('blocked')")
    assert run(code, expected="blocked")[1].verdict == judge.PASSED


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/shadow", "/proc/1/environ",
                                  "/proc/self/environ", str(PROJECT_FILE), "/root/.bashrc",
                                  "/work/main/README.md", "/home"])
def test_host_files_are_not_there(path):
    code = (f"import os\ntry:\n    print(os.listdir({path!r}) if os.path.isdir({path!r})"
            f" else open({path!r}, 'rb').read()[:50])\nexcept OSError:\n    print('absent')")
    report, result = run(code, expected="absent")
    assert result.verdict == judge.PASSED, result


def test_secrets_in_the_environment_do_not_reach_the_program(monkeypatch):
    monkeypatch.setenv("QB_SECRET_KEY", "leak-me-9c1e")
    monkeypatch.setenv("DATABASE_URL", "postgres://leak-me-9c1e@127.0.0.1/qb")
    code = ("import os\nprint(sorted(os.environ))\nfor p in ('/proc/1/environ', "
            "'/proc/self/environ'):\n    try:\n        print(open(p, 'rb').read())\n"
            "    except OSError:\n        pass")
    report, result = run(code, expected="")
    assert "leak-me" not in result.got
    assert "QB_SECRET_KEY" not in result.got and "DATABASE_URL" not in result.got
    assert "PATH" in result.got  # the program did run and print its environment


def test_the_root_and_dev_are_read_only_and_tmp_is_private():
    code = ("import os\nfor p in ('/x', '/dev/x', '/usr/x', '/box/x'):\n    try:\n"
            "        open(p, 'w').write('x')\n        print('wrote', p)\n    except OSError:\n"
            "        pass\nopen('/tmp/ok', 'w').write('x')\nprint('done')")
    report, result = run(code, expected="done")
    assert result.verdict == judge.PASSED, result
    assert not Path("/tmp/ok").exists() or Path("/tmp/ok").read_text() != "x"


def test_a_background_process_does_not_outlive_the_judge():
    marker = "987.654"
    code = ("import subprocess\nsubprocess.Popen(['sleep', '" + marker + "'], "
            "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print('ok')")
    report, result = run(code)
    assert result.verdict == judge.PASSED, result
    assert survivors(marker) == []
    assert_still_works()


def test_a_background_process_holding_stdout_is_killed_with_the_sandbox():
    marker = "876.543"
    code = ("import subprocess\nsubprocess.Popen(['sleep', '" + marker + "'], "
            "start_new_session=True)\nprint('ok')")
    report, result = run(code)
    # Waiting for the sleeper to close stdout would have ended at the wall clock instead.
    assert result.verdict == judge.PASSED, result
    assert survivors(marker) == []


def test_invalid_utf8_and_nul_bytes_are_a_wrong_answer_not_a_crash():
    code = "import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe\\x00\\n')"
    report, result = run(code)
    assert result.verdict == judge.WRONG_ANSWER
    assert "\x00" not in result.got and "\ufffd" in result.got


def test_not_code_at_all():
    report = judge_text("The answer is 42, because reasons.", [TestCase("", "42")])
    assert report.outcome == judge.NOT_RUN
    assert report.message == "Could not run: no code block."
    assert [r.verdict for r in report.results] == [judge.COULD_NOT_RUN]


def test_runtime_error_keeps_the_last_lines_of_stderr():
    report, result = run("def f(n):\n    return 1 // n\nprint(f(0))")
    assert result.verdict == judge.RUNTIME_ERROR
    assert "Exited with status 1" in result.message
    assert result.stderr.rstrip().endswith("ZeroDivisionError: integer division or modulo by zero")


def test_float_tolerance():
    code = "print(1 / 3)"
    strict = judge_text(python(code), [TestCase("", "0.333333")], limits=SMALL)
    loose = judge_text(python(code), [TestCase("", "0.333333", tolerance=1e-6)], limits=SMALL)
    assert strict.outcome == judge.SOME_FAILED
    assert loose.outcome == judge.ALL_PASSED


@pytest.mark.skipif(not judge.languages()["cpp"].tool, reason="g++ is not installed")
def test_cpp_compiles_runs_and_a_crash_is_a_runtime_error():
    ok = judge_text("```cpp\n#include <iostream>\nint main(){long a,b;std::cin>>a>>b;"
                    "std::cout<<a+b<<\"\\n\";}\n```", [TestCase("2 3", "5")], limits=SMALL)
    assert ok.outcome == judge.ALL_PASSED, ok.results
    crash = judge_text("```c\n#include <stdio.h>\nint main(){int *p=0; return *p;}\n```",
                       [TestCase("", "")], limits=SMALL)
    assert crash.results[0].verdict == judge.RUNTIME_ERROR
    assert "SIGSEGV" in crash.results[0].message
    broken = judge_text("```cpp\nint main() { return }\n```", [TestCase("", "")], limits=SMALL)
    assert broken.outcome == judge.NOT_RUN
    assert "did not compile" in broken.results[0].message

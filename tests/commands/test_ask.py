"""`manage.py ask` against real stand-in Gradio servers and the OpenAI test server."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from questionbank import webui
from questionbank.models import CallLog
from questionbank.services.endpoints import endpoint_update
from tests.factories import make_endpoint
from tests.servers.fault_server import refused_port
from tests.servers.fixtures import AUTH, OPENAI_API_KEY

ROOT = Path(__file__).resolve().parents[2]


class Recorder(io.StringIO):
    """A stdout that remembers each write, to see partial text arrive in pieces."""

    def __init__(self):
        super().__init__()
        self.chunks = []

    def write(self, s):
        self.chunks.append(s)
        return super().write(s)


@pytest.fixture(autouse=True)
def _fresh_sessions():
    webui.forget_sessions()
    yield
    webui.forget_sessions()


def ask(*args, stdin=None, monkeypatch=None):
    """Run the command; returns (exit code, stdout, stderr)."""
    out, err = Recorder(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = 0
    try:
        call_command("ask", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    ask.last_stdout = out
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def standin(db, standins):
    return make_endpoint(name="stand-in (no model)", base_url=standins["plain"], is_standin=True)


def test_prints_the_answer_and_logs_the_call(standin):
    code, out, err = ask("--endpoint", standin.name, "What is 2+3?")
    assert code == 0, err
    assert "\\boxed{5}" in out and "<think>" in out
    assert "stand-in" in err  # the stand-in says so
    row = CallLog.objects.get()
    assert row.endpoint == standin and row.user is None and row.attempt == 1
    assert row.outcome == CallLog.Outcome.SUCCESS and "What is 2+3?" in row.request_body
    assert "\\boxed{5}" in row.response_body


def test_stream_prints_partial_text_as_it_arrives(db, standins):
    endpoint = make_endpoint(name="streamer", base_url=standins["stream"])
    code, full, err = ask("--endpoint", endpoint.name, "What is 6*7?")
    assert code == 0, err
    code, streamed, err = ask("--endpoint", endpoint.name, "--stream", "What is 6*7?")
    assert code == 0, err
    assert streamed == full  # the suffixes add up to the answer, nothing printed twice
    pieces = [c for c in ask.last_stdout.chunks if c.strip()]
    assert len(pieces) >= 3  # it arrived in parts
    assert "\\boxed{42}" in streamed


def test_question_from_stdin(standin, monkeypatch):
    code, out, err = ask("--endpoint", standin.name, "-", stdin="What is 7*6?\n",
                         monkeypatch=monkeypatch)
    assert code == 0, err
    assert "\\boxed{42}" in out


def test_the_only_enabled_endpoint_is_used_by_default(standin):
    code, out, _ = ask("What is 1+1?")
    assert code == 0 and "\\boxed{2}" in out


def test_file_prints_json_lines_including_a_failing_one(standin, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("What is 2+3?\n\n   \nx [[standin:fail=gr-error]]\nWhat is 10-4?\n")
    code, out, err = ask("--endpoint", standin.name, "--file", str(questions))
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["question"] for line in lines] == [
        "What is 2+3?", "x [[standin:fail=gr-error]]", "What is 10-4?"]
    for line in lines:
        assert set(line) == {"question", "answer", "seconds", "error", "finish_reason", "tokens"}
        assert line["seconds"] >= 0
    ok, bad, ok2 = lines
    assert "\\boxed{5}" in ok["answer"] and ok["error"] is None
    assert "\\boxed{6}" in ok2["answer"]
    assert bad["answer"] == "" and "stand-in: requested failure" in bad["error"]
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        '1 of 3 questions failed; see the "error" field of their lines.')
    assert CallLog.objects.count() == 3
    assert CallLog.objects.filter(outcome=CallLog.Outcome.ERROR).count() == 1


def test_file_with_openai_reports_tokens_and_truncation(db, openai_server, tmp_path):
    _, url = openai_server
    endpoint = make_endpoint(name="vllm", protocol="openai", base_url=url,
                             api_key=OPENAI_API_KEY, stream=False)
    questions = tmp_path / "q.txt"
    questions.write_text("What is 2+3?\nlong one [[openai:length]]\n")
    code, out, _ = ask("--endpoint", endpoint.name, "--file", str(questions))
    ok, cut = (json.loads(line) for line in out.splitlines())
    assert ok["finish_reason"] == "stop" and ok["tokens"]["completion"] > 0
    assert cut["finish_reason"] == "length" and cut["answer"] and "tokens" in cut["error"]
    assert code == 1
    assert OPENAI_API_KEY not in out


def test_connection_refused_exits_1_with_one_line(db):
    code, out, err = ask("--url", f"http://127.0.0.1:{refused_port()}", "--retries", "0",
                         "What is 2+3?")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "127.0.0.1" in err


def test_gr_error_exits_1_with_the_servers_message(standin):
    code, out, err = ask("--endpoint", standin.name, "x [[standin:fail=gr-error]]")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert "stand-in: requested failure" in lines[-1] and "Traceback" not in err
    row = CallLog.objects.get()
    assert row.outcome == CallLog.Outcome.ERROR and row.error_class == "ServerReportedError"
    assert row.retryable is False and "requested failure" in row.error_message


def test_command_line_failure_has_no_traceback():
    """The real process: exit status 1, one line on stderr, nothing else."""
    env = dict(os.environ, QB_DEBUG="1")
    proc = subprocess.run(
        [sys.executable, "manage.py", "ask", "--url", f"http://127.0.0.1:{refused_port()}",
         "--retries", "0", "hello"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_retryable_failures_are_retried_and_each_attempt_logged(standin):
    code, _, err = ask("--endpoint", standin.name, "--retries", "1",
                       "x [[standin:fail=exception]]")
    assert code == 1 and "hid the reason" in err
    attempts = list(CallLog.objects.order_by("pk").values_list("attempt", "retryable"))
    assert attempts == [(1, True), (2, True)]


def test_breaker_stops_calling_a_failing_server(standin, tmp_path, settings):
    questions = tmp_path / "q.txt"
    questions.write_text("\n".join(f"x{i} [[standin:fail=exception]]" for i in range(4)))
    code, out, _ = ask("--endpoint", standin.name, "--retries", "0", "--file", str(questions))
    errors = [json.loads(line)["error"] for line in out.splitlines()]
    assert code == 1 and len(errors) == 4
    assert all("hid the reason" in e for e in errors[:3])
    assert "failed 3 times in a row" in errors[3]
    assert CallLog.objects.count() == 3  # the refused call never went out


def test_secrets_never_printed_nor_logged(db, standins, openai_server):
    _, url = openai_server
    gradio = make_endpoint(name="locked", base_url=standins["auth"], username=AUTH[0],
                           password=AUTH[1])
    openai = make_endpoint(name="keyed", protocol="openai", base_url=url,
                           api_key=OPENAI_API_KEY)
    outputs = []
    for name in ("locked", "keyed"):
        for extra in ((), ("--stream",)):
            code, out, err = ask("--endpoint", name, *extra, "What is 2+3?")
            assert code == 0, err
            assert "\\boxed{5}" in out
            outputs += [out, err]
    # A wrong password fails with a reason, and the wrong secret is not echoed either.
    endpoint_update(endpoint=gradio, password="wrong-Pass-42")
    code, out, err = ask("--endpoint", "locked", "What is 2+3?")
    assert code == 1 and err.strip()
    outputs += [out, err]
    rows = list(CallLog.objects.values())
    assert len(rows) >= 4
    dumped = json.dumps(rows, default=str)
    for secret in (AUTH[1], OPENAI_API_KEY, "wrong-Pass-42"):
        assert all(secret not in text for text in outputs)
        assert secret not in dumped
    keyed = CallLog.objects.filter(endpoint=openai).first()
    headers = {k.lower(): v for k, v in keyed.request_headers.items()}
    assert headers["authorization"] == "[redacted]"


def test_bad_usage_is_one_line(db):
    code, _, err = ask("--endpoint", "nope", "hi")
    assert code == 1 and "No model endpoint is named 'nope'" in err
    code, _, err = ask("--url", "http://127.0.0.1:9", "--file", "x.txt", "hi")
    assert code == 1 and "not both" in err
    code, _, err = ask("--url", "http://127.0.0.1:9", "--file", "/nonexistent/q.txt")
    assert code == 1 and "Cannot read /nonexistent/q.txt" in err
    code, _, err = ask("--url", "ftp://127.0.0.1:9", "hi")
    assert code == 1 and "http://" in err

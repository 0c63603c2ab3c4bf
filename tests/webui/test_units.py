"""Pure units: layout matching, backoff and retries, the circuit breaker, redaction,
the stand-in's answers."""

from __future__ import annotations

import pytest

from questionbank.webui import (
    CircuitBreaker,
    Client,
    ConnectFailed,
    Endpoint,
    HTTPStatusError,
    InMemoryBreakerStore,
    LayoutError,
    MalformedReply,
    Parameter,
    backoff_delay,
    call_with_retries,
    map_parameters,
)
from questionbank.webui.redact import redact_body, redact_headers
from questionbank.webui.standin import arithmetic, compose_answer
from questionbank.webui.transport import parse_retry_after


def params(*names: str, labels: tuple[str, ...] = ()) -> list[Parameter]:
    labels = labels or ("",) * len(names)
    return [Parameter(index=i, name=n, label=lab) for i, (n, lab) in enumerate(
        zip(names, labels, strict=True))]


# -- layout ---------------------------------------------------------------------------


def test_layout_by_usual_spellings_in_any_order():
    ps = params("stream", "repeat_penalty", "max_length", "Top-p", "temp", "question",
                "sys_prompt")
    assert map_parameters(ps) == {
        "system_prompt": 6, "user_input": 5, "temperature": 4, "top_p": 3,
        "max_new_tokens": 2, "repetition_penalty": 1, "streaming": 0,
    }


def test_layout_by_label_when_names_are_missing_like_gradio_3():
    ps = params("", "", "", "", labels=("Input", "System Message", "Max New Tokens (1-4096)",
                                       "Repetition Penalty"))
    assert map_parameters(ps) == {"user_input": 0, "system_prompt": 1, "max_new_tokens": 2,
                                  "repetition_penalty": 3}


def test_prompt_means_the_user_input_not_the_system_prompt():
    ps = params("system_prompt", "prompt")
    assert map_parameters(ps) == {"system_prompt": 0, "user_input": 1}


def test_missing_user_input_names_what_is_offered():
    with pytest.raises(LayoutError) as info:
        map_parameters(params("image", "seed"), endpoint_label="/predict")
    assert "#0 image" in info.value.message and "#1 seed" in info.value.message
    assert info.value.offered == ["#0 image", "#1 seed"]
    assert not info.value.retryable


def test_override_by_index_label_or_name():
    ps = params("a", "b", "c", labels=("Alpha", "Beta", "Gamma"))
    assert map_parameters(ps, {"user_input": 2, "system_prompt": "Beta",
                               "temperature": "0"}) == {
        "user_input": 2, "system_prompt": 1, "temperature": 0}
    with pytest.raises(LayoutError):
        map_parameters(ps, {"user_input": 9})
    with pytest.raises(LayoutError):
        map_parameters(ps, {"question": 0})


# -- retries --------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered():
    assert [backoff_delay(n, 1.0, 10.0, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [
        1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(3, 1.0, 10.0, lambda: 0.5) == 2.0


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def flaky(errors):
    calls = []

    def fn():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return fn, calls


def test_retries_retryable_errors_then_succeeds():
    t = FakeTime()
    fn, calls = flaky([ConnectFailed("down"), ConnectFailed("down")])
    assert call_with_retries(fn, sleep=t.sleep, rng=lambda: 1.0, clock=lambda: t.now) == "ok"
    assert len(calls) == 3 and t.sleeps == [1.0, 2.0]


def test_does_not_retry_permanent_errors():
    t = FakeTime()
    fn, calls = flaky([MalformedReply("bad")])
    with pytest.raises(MalformedReply):
        call_with_retries(fn, sleep=t.sleep, clock=lambda: t.now)
    assert len(calls) == 1 and t.sleeps == []


def test_retry_count_is_bounded():
    t = FakeTime()
    fn, calls = flaky([ConnectFailed("down")] * 10)
    with pytest.raises(ConnectFailed):
        call_with_retries(fn, attempts=4, sleep=t.sleep, rng=lambda: 1.0, clock=lambda: t.now)
    assert len(calls) == 4


def test_retry_total_time_is_bounded():
    t = FakeTime()
    fn, calls = flaky([ConnectFailed("down")] * 10)
    with pytest.raises(ConnectFailed):
        call_with_retries(fn, attempts=10, base=10, cap=100, total=35, sleep=t.sleep,
                          rng=lambda: 1.0, clock=lambda: t.now)
    assert t.sleeps == [10, 20] and len(calls) == 3


def test_retry_after_is_honoured():
    t = FakeTime()
    fn, _ = flaky([HTTPStatusError("busy", status=429, retry_after=7.0)])
    call_with_retries(fn, sleep=t.sleep, rng=lambda: 0.0, clock=lambda: t.now)
    assert t.sleeps == [7.0]


def test_parse_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# -- breaker --------------------------------------------------------------------------


def test_breaker_opens_probes_once_and_closes():
    now = [1000.0]
    store = InMemoryBreakerStore()
    b = CircuitBreaker(store, "ep1", threshold=3, cooldown=60, clock=lambda: now[0])
    other = CircuitBreaker(store, "ep1", threshold=3, cooldown=60, clock=lambda: now[0])
    for _ in range(2):
        b.record_failure()
    assert b.allow() and b.state() == ("closed", 2, 0.0)
    b.record_failure()
    assert b.state() == ("open", 3, 1060.0)
    assert not b.allow() and not other.allow()
    now[0] = 1060.0
    assert b.allow()  # the one probe
    assert not other.allow() and not b.allow()
    b.record_success()
    assert b.state() == ("closed", 0, 0.0) and other.allow()


def test_breaker_failed_probe_reopens_and_lost_probe_expires():
    now = [0.0]
    b = CircuitBreaker(InMemoryBreakerStore(), "ep", threshold=1, cooldown=10,
                       clock=lambda: now[0])
    b.record_failure()
    now[0] = 10
    assert b.allow()
    b.record_failure()
    assert b.state()[0] == "open" and not b.allow()
    now[0] = 20
    assert b.allow()  # probe taken... and never reported (worker died)
    now[0] = 25
    assert not b.allow()
    now[0] = 30
    assert b.allow()  # lease expired: another probe


def test_success_resets_consecutive_failures():
    b = CircuitBreaker(InMemoryBreakerStore(), "ep", threshold=2, clock=lambda: 0.0)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state() == ("closed", 1, 0.0)


def test_breaker_store_cas_rejects_stale_writes():
    from questionbank.webui import BreakerState

    store = InMemoryBreakerStore()
    assert store.compare_and_set("k", None, BreakerState(failures=1))
    first = store.get("k")
    assert not store.compare_and_set("k", None, BreakerState(failures=9))
    assert store.compare_and_set("k", first, BreakerState(failures=2))
    assert not store.compare_and_set("k", first, BreakerState(failures=3))
    assert store.get("k").failures == 2 and store.get("k").version == 2


# -- secrets --------------------------------------------------------------------------


def test_endpoint_repr_hides_secrets():
    e = Endpoint(name="x", protocol="gradio", base_url="http://h/", username="bob",
                 password="pw-XYZZY", api_key="sk-PLUGH")
    text = repr(e) + str(e) + repr(Client(e, session=object()))
    assert "pw-XYZZY" not in text and "sk-PLUGH" not in text and "bob" not in text
    assert e.base_url == "http://h"


def test_redaction_of_headers_and_bodies():
    headers = redact_headers({"Authorization": "Bearer sk-1", "Cookie": "a=b",
                              "X-Api-Key": "k", "Content-Type": "application/json"})
    assert headers == {"Authorization": "[redacted]", "Cookie": "[redacted]",
                       "X-Api-Key": "[redacted]", "Content-Type": "application/json"}
    body = redact_body({"password": "p", "data": ["has sk-1 inside", 3]}, ["sk-1"])
    assert body == {"password": "[redacted]", "data": ["has [redacted] inside", 3]}


def test_secret_never_in_error_message_or_exchange(openai_server):
    _, url = openai_server
    key = "sk-wrong-but-secret-777"
    e = Endpoint(name="o", protocol="openai", base_url=url, api_key=key)
    with pytest.raises(HTTPStatusError) as info:
        Client(e).discover()
    err = info.value
    everything = " ".join([err.message, str(err), repr(err), repr(err.exchange)])
    assert key not in everything


# -- stand-in answers -----------------------------------------------------------------


@pytest.mark.parametrize(("question", "boxed"), [
    ("What is 2+3?", "5"),
    ("Compute 7*(4-1)/2.", r"\frac{21}{2}"),
    ("What is 2^10?", "1024"),
    ("What is 5 - 8?", "-3"),
])
def test_standin_does_arithmetic(question, boxed):
    text = compose_answer("", question)
    assert text.startswith("<think>\nThis answer comes from the question-bank stand-in")
    assert text.endswith(f"$\\boxed{{{boxed}}}$.")


def test_standin_is_deterministic_and_honours_answer_marker():
    a = compose_answer("", "Prove that there are infinitely many primes.")
    assert a == compose_answer("", "Prove that there are infinitely many primes.")
    assert a != compose_answer("", "Prove that sqrt 2 is irrational.")
    assert arithmetic("Prove that there are infinitely many primes.") is None
    assert compose_answer("", r"Any [[standin:answer=\frac{1}{2}]]").endswith(
        r"$\boxed{\frac{1}{2}}$.")


def test_package_imports_neither_django_nor_gradio():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, questionbank.webui, questionbank.webui.standin; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'gradio')]; "
            "assert not bad, bad")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)

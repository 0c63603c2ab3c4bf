"""questionbank.answers by property (Hypothesis) and at its guards' exact edges."""

from __future__ import annotations

import signal
import threading
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionbank import answers
from questionbank.answers import (
    MAX_ANSWER_CHARS,
    answers_equivalent,
    extract_final_answer,
    group_answers,
    vote,
)

small_ints = st.integers(min_value=-10_000, max_value=10_000)
fractions = st.builds(Fraction, st.integers(-50, 50), st.integers(1, 12))


@settings(max_examples=40, deadline=None)
@given(small_ints)
def test_an_integer_equals_itself_in_every_spelling(n):
    assert answers_equivalent(str(n), str(n)) is True
    assert answers_equivalent(str(n), f"{n}.0") is True
    assert answers_equivalent(f"${n}$", str(n)) is True


@settings(max_examples=40, deadline=None)
@given(small_ints, st.integers(min_value=1, max_value=1000))
def test_different_integers_differ(n, step):
    assert answers_equivalent(str(n), str(n + step)) is False


@settings(max_examples=40, deadline=None)
@given(fractions)
def test_a_fraction_equals_its_tex_form(q):
    tex = f"\\frac{{{q.numerator}}}{{{q.denominator}}}"
    assert answers_equivalent(tex, f"{q.numerator}/{q.denominator}") is True
    assert answers_equivalent(tex, str(q.numerator * 2) + "/" + str(q.denominator * 2)) is True


@settings(max_examples=40, deadline=None)
@given(st.one_of(small_ints.map(str), fractions.map(lambda q: f"{q.numerator}/{q.denominator}"),
                 st.sampled_from(["\\sqrt{8}", "2\\sqrt{2}", "\\pi", "x+1", "\\{1,2\\}", "abc",
                                  "", "   ", "2^{1000000}"])),
       st.one_of(small_ints.map(str), st.sampled_from(["\\sqrt{8}", "0.5", "1+x", "cba"])))
def test_equivalence_is_symmetric(a, b):
    assert answers_equivalent(a, b) == answers_equivalent(b, a)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcxyz0123456789+-=(), ", min_size=1, max_size=30).filter(str.strip))
def test_the_last_box_is_extracted_verbatim(content):
    text = f"Working \\boxed{{wrong}} then \\boxed{{{content}}} done."
    assert extract_final_answer(text) == content.strip()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["1", "2", "\\frac{2}{2}", "0.5", "\\frac12", None, " ", "x"]),
                max_size=6))
def test_vote_shares_are_group_sizes(candidates):
    result = vote(candidates)
    assert len(result.groups) == len(result.shares) == len(candidates)
    for group, share in zip(result.groups, result.shares, strict=True):
        if group is None:
            assert share == 0.0
        else:
            assert share == result.groups.count(group) / len(candidates)
    if candidates:
        assert result.majority_share == max(result.shares)
        assert result.shares[result.best] == result.majority_share
    else:
        assert (result.best, result.majority_share) == (None, 0.0)


def test_groups_are_numbered_by_first_appearance():
    assert group_answers(["2", "1", "\\frac{4}{2}", None, "1.0", "  "]) == [0, 1, 0, None, 1,
                                                                              None]
    assert group_answers(["Foo Bar", "foobar", "FOO  BAR"]) == [0, 0, 0]


def test_all_blank_candidates_vote_for_the_first():
    result = vote([None, " "])
    assert (result.best, result.majority_share, result.shares) == (0, 0.0, [0.0, 0.0])


# --- Guards at their exact edges ----------------------------------------------------------


def _padded(length: int) -> str:
    return "1" + "+0" * ((length - 1) // 2) + "0" * ((length - 1) % 2)


def test_an_answer_of_exactly_the_cap_is_checked_and_one_more_is_not():
    at_cap, over = _padded(MAX_ANSWER_CHARS), _padded(MAX_ANSWER_CHARS + 1)
    assert (len(at_cap), len(over)) == (MAX_ANSWER_CHARS, MAX_ANSWER_CHARS + 1)
    assert answers_equivalent(at_cap, "1") is True
    assert answers_equivalent(over, "1") is None


@pytest.mark.parametrize(
    ("answer", "checked"),
    [("2^{99999}", True), ("2^{100000}", False), ("2**100000", False), ("2^ ( 123456", False),
     ("9999!", True), ("10000!", False), ("\\binom{10000}{2}", False),
     ("\\binom{9999}{2}", True), ("\\uparrow 12345", False), ("\\choose{99999}", False)],
)
def test_huge_numbers_are_refused_before_parsing(answer, checked):
    assert (answers._TOO_EXPENSIVE.search(answer) is None) is checked


def test_missing_or_blank_answers_are_unchecked():
    assert answers_equivalent(None, "1") is None
    assert answers_equivalent("1", "  ") is None
    assert answers._parse(None) is None


def test_timeouts_are_off_in_worker_threads():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(answers._timeout_seconds()))
    thread.start()
    thread.join()
    assert seen == [None]


@pytest.mark.timeout(0)
def test_timeouts_are_on_in_the_main_thread_without_an_alarm():
    assert answers._timeout_seconds() == answers.TIMEOUT_SECONDS == 5


def test_timeouts_are_off_while_another_alarm_is_pending():
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        assert answers._timeout_seconds() is None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

"""questionbank.answers: final-answer extraction, equivalence, voting, verdicts."""

from __future__ import annotations

import threading

import pytest

from questionbank.answers import (
    AGREES,
    DISAGREES,
    UNCHECKED,
    answers_equivalent,
    extract_final_answer,
    group_answers,
    verdict,
    vote,
)

# --- Extraction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"So $x = \boxed{\frac{\sqrt{3}}{2}}$.", r"\frac{\sqrt{3}}{2}"),
        (r"First \boxed{1}, then \boxed{2}, finally \boxed{3}.", "3"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{ \left\{ x \mid x > 0 \right\} }", r"\left\{ x \mid x > 0 \right\}"),
        (r"\fbox{42}", "42"),
        (r"\boxed {7}", "7"),
        (r"Earlier \boxed{5}; then the output stops mid-box \boxed{\frac{1", "5"),
        (r"<think>maybe \boxed{4}</think> The answer is \boxed{6}.", "6"),
        ("Therefore, the answer is 12.", "12"),
        ("**Answer:** $42$.", "42"),
        ("**Final Answer**: $\\frac{1}{2}$", r"\frac{1}{2}"),
        ("Final answer: \\(x = 3\\)", "x = 3"),
        ("The answer is: $$7$$", "7"),
        ("Answer: B", "B"),
        ("The answer is 1.\nLater: the final answer is 2.", "2"),
    ],
)
def test_extract_final_answer(text, expected):
    assert extract_final_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "No box and no statement of the result.",
        r"\boxed{}",
        r"\boxed{unclosed",
        "To answer this we first factor.",
    ],
)
def test_extract_final_answer_none(text):
    assert extract_final_answer(text) is None


# --- Equivalence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (r"\frac{1}{2}", "0.5"),
        (r"2\sqrt{2}", r"\sqrt{8}"),
        (r"\frac{\sqrt{3}}{2}", r"\sqrt{3}/2"),
        ("x^2+2x+1", "(x+1)^2"),
        (r"\{1,2\}", r"\{2,1\}"),
        ("-0.5", r"-\frac{1}{2}"),
        ("x = 2", "2"),
    ],
)
def test_equivalent_forms_agree(a, b):
    assert answers_equivalent(a, b) is True
    assert answers_equivalent(b, a) is True


@pytest.mark.parametrize(("a", "b"), [("3", "4"), (r"\frac{1}{3}", "0.5"), ("x+1", "x-1")])
def test_different_answers_disagree(a, b):
    assert answers_equivalent(a, b) is False


@pytest.mark.parametrize(
    ("a", "b"),
    [(None, "3"), ("3", None), ("", "3"), ("   ", "3"), ("10^{100000000}", "3"), ("1" * 400, "1")],
)
def test_cannot_check_gives_none(a, b):
    # 10^{100000000} would make SymPy build a 100-million-digit integer: refused up front.
    assert answers_equivalent(a, b) is None


def test_works_outside_the_main_thread():
    # math-verify's default signal-based timeout raises ValueError in a worker thread.
    results: list[bool | None] = []
    worker = threading.Thread(
        target=lambda: results.append(answers_equivalent(r"\frac{1}{2}", "0.5"))
    )
    worker.start()
    worker.join(timeout=60)
    assert results == [True]


# --- Grouping and voting -----------------------------------------------------------------------


def test_group_answers_by_equivalence_in_order_of_first_appearance():
    answers = [r"\frac{1}{2}", "3", "0.5", None, "1/2", "  ", "3"]
    assert group_answers(answers) == [0, 1, 0, None, 0, None, 1]


def test_unparseable_answers_grouped_by_text():
    assert group_answers(["Yes", "yes ", "No"]) == [0, 0, 1]


def test_vote_majority_share_and_best():
    result = vote(["3", r"\frac{1}{2}", "0.5", None, "1/2"])
    assert result.groups == [0, 1, 1, None, 1]
    assert result.shares == [0.2, 0.6, 0.6, 0.0, 0.6]
    assert result.best == 1
    assert result.majority_share == 0.6


def test_vote_tie_goes_to_the_first_candidate_of_the_earliest_group():
    result = vote(["4", "3", "3", "4"])
    assert result.best == 0
    assert result.majority_share == 0.5


def test_none_answers_never_win_unless_all_are_none():
    result = vote([None, None, "5"])
    assert result.best == 2
    assert result.majority_share == pytest.approx(1 / 3)
    all_none = vote([None, None])
    assert (all_none.best, all_none.majority_share, all_none.groups) == (0, 0.0, [None, None])
    empty = vote([])
    assert (empty.best, empty.shares, empty.majority_share) == (None, [], 0.0)


# --- Verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("0.5", r"\frac{1}{2}", AGREES),
        (r"\sqrt{8}", r"2\sqrt{2}", AGREES),
        ("3", "4", DISAGREES),
        (None, "4", UNCHECKED),
        ("4", None, UNCHECKED),
        ("4", "", UNCHECKED),
        ("10^{1000000}", "1", UNCHECKED),
    ],
)
def test_verdict(answer, reference, expected):
    assert verdict(answer, reference) == expected


def test_verdict_values_are_the_three_strings():
    assert (AGREES, DISAGREES, UNCHECKED) == ("agrees", "disagrees", "unchecked")


@pytest.mark.parametrize(
    ("answer", "reference", "alternatives", "expected"),
    [
        ("4", "four", ["4"], AGREES),  # a GIFT {=four =4}: the number is accepted
        ("Four", "four", [], AGREES),  # plain words compare without case, as in Moodle
        ("4.0", "four", ["4"], AGREES),  # alternatives are compared as maths too
        ("5", "four", ["4"], DISAGREES),
        ("five", "four", ["4"], DISAGREES),
        ("X", "x", [], AGREES),  # not plain words: math-verify decides (same symbol)
        ("4", "", ["4"], AGREES),
        ("4", "", [], UNCHECKED),
    ],
)
def test_verdict_accepts_alternative_answers(answer, reference, alternatives, expected):
    assert verdict(answer, reference, alternatives=alternatives) == expected

"""questionbank.answers at the edges issue 20's mutation testing found unpinned: the answer
line's clean-up, symmetry of the check whichever direction math-verify accepts, text
grouping, the verdict's fallbacks, and what is handed to and logged from math-verify."""

from __future__ import annotations

import logging

import math_verify
import pytest

from questionbank import answers
from questionbank.answers import (
    AGREES,
    UNCHECKED,
    answers_equivalent,
    extract_final_answer,
    group_answers,
    verdict,
)

LONG = "x" * (answers.MAX_ANSWER_CHARS + 1)  # too long to check as maths


@pytest.mark.parametrize(("text", "expected"), [
    (r"\boxed{x \} y}", r"x \} y"),  # an escaped brace does not close the box
    ("Answer: X", "X"),
    ("The answer is 5。", "5"),
    ("The answer is $X.$", "X"),  # the period inside the maths goes too
    ("The answer is 12$", "12$"),  # a closing $ alone is not a wrapper
    ("The answer is $$", "$$"),  # nor is an empty pair
    ("The answer is 7.\nThanks for reading.", "7"),  # a later line without a statement
])  # fmt: skip
def test_the_stated_answer_is_cleaned_exactly(text, expected):
    assert extract_final_answer(text) == expected


@pytest.fixture
def one_way(monkeypatch):
    """math-verify stand-in that accepts only gold "a" against target "b"."""
    monkeypatch.setattr(answers, "_parse", lambda answer: [answer] if answer else None)
    monkeypatch.setattr(answers, "_verify", lambda gold, target: (gold, target) == (["a"], ["b"]))


def test_equivalence_holds_when_either_direction_verifies(one_way):
    assert answers_equivalent("a", "b") is True
    assert answers_equivalent("b", "a") is True
    assert answers_equivalent("a", "c") is False


def test_grouping_holds_when_either_direction_verifies(one_way):
    assert group_answers(["a", "b", "c"]) == [0, 0, 1]
    assert group_answers(["b", "a", "c"]) == [0, 0, 1]


def test_answers_that_are_not_maths_group_by_text_without_case_or_spaces():
    first = "a" * 200 + " " + "b" * 200
    assert group_answers([first, "A" * 200 + "B" * 200, "a" * 200 + "c" * 200]) == [0, 0, 1]


@pytest.mark.parametrize(("answer", "accepted", "same"), [
    ("x + 1", "x+1", True), ("x+1", "x + 1", True), ("Four", "four", True),
    ("New  York", "new york", True), ("X+1", "x+1", False), ("4", "four", False),
])  # fmt: skip
def test_same_text_ignores_spaces_and_the_case_of_words(answer, accepted, same):
    assert answers._same_text(answer, accepted) is same


def test_an_answer_written_as_the_reference_agrees_even_when_it_is_not_maths():
    assert verdict(LONG, LONG) == AGREES
    assert verdict(LONG.replace("x", "x ", 3), LONG) == AGREES


def test_a_reference_that_cannot_be_checked_leaves_the_answer_unchecked():
    assert verdict("4", LONG) == UNCHECKED
    # ... but an accepted alternative after it still counts.
    assert verdict("4", LONG, alternatives=["4.0"]) == AGREES


def test_main_thread_time_limits_are_passed_to_math_verify(monkeypatch):
    seen = {}

    def parse(text, **kwargs):
        seen["parse"] = (text, kwargs)
        return [text]

    def verify(gold, target, **kwargs):
        seen["verify"] = kwargs
        return True

    monkeypatch.setattr(math_verify, "parse", parse)
    monkeypatch.setattr(math_verify, "verify", verify)
    monkeypatch.setattr(answers, "_timeout_seconds", lambda: 7)
    assert answers_equivalent("1", "1") is True
    text, options = seen["parse"]
    # Boxed, with the boxed match first: that is what makes math-verify read all of it.
    assert text == "\\boxed{1}" and options["parsing_timeout"] == 7
    latex, expr = options["extraction_config"]
    assert isinstance(latex, math_verify.LatexExtractionConfig)
    assert latex.boxed_match_priority == 0
    assert isinstance(expr, math_verify.ExprExtractionConfig)
    assert seen["verify"] == {"timeout_seconds": 7}


def test_math_verify_errors_are_logged_and_count_as_no_answer(monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise ValueError("boom")

    caplog.set_level(logging.DEBUG, logger="questionbank.answers")
    monkeypatch.setattr(math_verify, "parse", fail)
    assert answers._parse("1+1") is None
    monkeypatch.setattr(math_verify, "verify", fail)
    assert answers._verify([1], [1]) is False
    assert [(r.name, r.levelno, r.getMessage(), r.exc_info[0]) for r in caplog.records] == [
        ("questionbank.answers", logging.DEBUG, "could not parse answer '1+1'", ValueError),
        ("questionbank.answers", logging.DEBUG, "math-verify failed", ValueError),
    ]

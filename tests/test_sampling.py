"""The stopping rule as pure functions, against posteriors computed by hand.

Notation: counts per answer group; the posterior is Dirichlet(count + 1 per group, 1 for
an answer not seen yet); the predictive over the R samples left is its
Dirichlet-multinomial, P(k) = prod C(k_i + a_i - 1, k_i) / C(R + A - 1, R).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from questionbank import sampling
from questionbank.sampling import (
    Policy,
    decide,
    majority_stays_probability,
    reference_reach_probability,
)

ADAPTIVE = Policy(maximum=8, adaptive=True)  # defaults: 2 agreeing, 0.95, minimum 3
FIXED = Policy(maximum=8)


def test_one_sample_with_seven_left():
    # Leader a=2 against "unseen" a=1: P(unseen gets k of 7) = 2(8-k)/72. The leader
    # stays ahead when 1 + 7 - k > k, i.e. k <= 3: (8+7+6+5)/36.
    assert majority_stays_probability([1], 7) == Fraction(26, 36)


def test_three_of_three_with_five_left_settles_at_095():
    # Unseen a=1 against a=4: P(k) = C(5,k) B(k+1, 9-k) / B(1,4); k=4: 2/63, k=5: 1/126.
    p = majority_stays_probability([3], 5)
    assert p == 1 - Fraction(2, 63) - Fraction(1, 126) == Fraction(121, 126)
    d = decide(ADAPTIVE, groups=[0, 0, 0], remaining=5)
    assert d.stop and d.reason == sampling.SETTLED and d.agreeing == 3 and d.answered == 3
    assert d.probability == pytest.approx(121 / 126)


def test_a_tie_with_one_sample_left():
    # a = (2, 2, 1): the next sample goes to the first group with 2/5; a tie never stays.
    assert majority_stays_probability([1, 1], 1) == Fraction(2, 5)
    assert majority_stays_probability([2, 2], 0) == 0
    assert majority_stays_probability([2, 2], 3) < Fraction(1, 2)


def test_all_different():
    # a = (2, 2, 2, 1): only a next sample in the first group breaks the three-way tie.
    assert majority_stays_probability([1, 1, 1], 1) == Fraction(2, 7)
    assert majority_stays_probability([1, 1, 1], 0) == 0
    d = decide(ADAPTIVE, groups=[0, 1, 2], remaining=5)
    assert not d.stop and d.probability < 0.5


def test_a_lead_larger_than_the_samples_left_is_certain():
    assert majority_stays_probability([5, 1], 3) == 1
    assert majority_stays_probability([4, 1], 3) < 1  # 4+0 vs 1+3: a tie is possible


def test_budget_exhausted_stops_with_budget_whatever_the_counts():
    for groups in ([0, 1, 0, 1], [0, 0, 0, 0], [None, None]):
        d = decide(ADAPTIVE, groups=groups, remaining=0)
        assert d.stop and d.reason == sampling.BUDGET
    assert decide(FIXED, groups=[0] * 8, remaining=0).reason == sampling.BUDGET


def test_never_before_the_minimum():
    d = decide(ADAPTIVE, groups=[0, 0], remaining=6)
    assert not d.stop and d.probability is None
    relaxed = Policy(maximum=8, adaptive=True, minimum=2, threshold=0.85)
    # [2] with 6 left: a = (3, 1); the leader stays unless unseen gets >= 4 of 6 (0.881):
    # P(k) = C(k, k) C(6-k+2, 6-k) / C(6+3, 6) = C(8-k, 2) / 84 -> k>=4: (6+3+1)/84.
    assert majority_stays_probability([2], 6) == 1 - Fraction(10, 84)
    assert decide(relaxed, groups=[0, 0], remaining=6).reason == sampling.SETTLED


def test_answers_without_a_group_use_budget_but_take_no_side():
    d = decide(ADAPTIVE, groups=[0, None, None], remaining=5)
    assert not d.stop and d.agreeing == 1 and d.answered == 3


def test_fixed_never_stops_early():
    assert not decide(FIXED, groups=[0, 0, 0, 0, 0, 0, 0], remaining=1).stop
    assert not decide(FIXED, groups=[0, 0, 0], remaining=5, agrees=[True] * 3).stop
    assert not decide(FIXED, groups=[0], remaining=7, passes_all_tests=True).stop


def test_with_a_reference_two_agreeing_settle_it():
    d = decide(ADAPTIVE, groups=[0, 0], remaining=6, agrees=[True, True])
    assert d.stop and d.reason == sampling.REFERENCE and d.agreeing == 2
    assert not decide(ADAPTIVE, groups=[0, 1], remaining=6, agrees=[True, False]).stop


def test_reference_reach_probability_by_hand():
    # Beta(1, 7) after 0 of 6 agree; both of 2 left must agree: B(3,7)/B(1,7) = 1/36.
    assert reference_reach_probability(0, 6, 2, 2) == Fraction(1, 36)
    # Beta(1, 4), 2 of 5 needed: 1 - P(0) - P(1) = 1 - 4/9 - 5/18 = 5/18.
    assert reference_reach_probability(0, 3, 2, 5) == Fraction(5, 18)
    assert reference_reach_probability(1, 0, 1, 1) == Fraction(2, 3)
    assert reference_reach_probability(0, 0, 3, 2) == 0
    assert reference_reach_probability(2, 0, 0, 4) == 1


def test_reference_agreement_unlikely_within_the_budget_needs_attention():
    d = decide(ADAPTIVE, groups=[0, 1, 0, 1, 2, 0], remaining=2, agrees=[False] * 6)
    assert d.stop and d.reason == sampling.UNLIKELY
    assert d.probability == pytest.approx(1 / 36)
    # 0 of 3 with 5 left: 5/18 is not unlikely enough.
    assert not decide(ADAPTIVE, groups=[0, 1, 0], remaining=5, agrees=[False] * 3).stop
    # Before the minimum nothing stops, even when it could not succeed.
    assert not decide(ADAPTIVE, groups=[0, 1], remaining=1, agrees=[False] * 2).stop


def test_a_sample_passing_all_tests_settles_a_programming_problem():
    d = decide(ADAPTIVE, groups=[0], remaining=7, passes_all_tests=True)
    assert d.stop and d.reason == sampling.TESTS

"""Adaptive sampling: when a problem has enough answers. Pure functions, Django-free.

A batch's samples per problem are a maximum. After each finished sample the problem's
answers (grouped as the vote groups them) go to :func:`decide`, which says whether more
samples are needed:

- **Code checks**: a sample that passes all of a programming problem's tests settles it.
- **With a reference answer**: stop once ``agree_with_reference`` samples agree with it;
  stop as well (after the minimum) when reaching that many within the remaining budget
  is very unlikely (posterior predictive probability below ``1 - threshold``), so the
  teacher hears early that the problem needs attention.
- **Without a reference**: the Adaptive-Consistency rule (Aggarwal et al., EMNLP 2023):
  a Dirichlet posterior over the answer groups (uniform prior: one pseudo-count per
  group seen, plus one for answers not seen yet) gives the probability that the current
  majority is still the strict majority when the whole budget is spent; stop when it
  reaches ``threshold``, never before ``minimum`` answers. Measuring against the budget
  left (rather than the paper's unbounded "p1 > p2") means the stopped problem's answer
  is the one the fixed-N vote would have given, with that probability.

Every probability is exact (integer pseudo-counts make the Dirichlet-multinomial a ratio
of binomial coefficients), so the tests can check hand-computed values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb

FIXED = "fixed"
ADAPTIVE = "adaptive"

# Why sampling stopped (stored codes; the words are the site's).
SETTLED = "settled"  # no reference: the majority is settled
REFERENCE = "reference"  # enough samples agree with the reference
UNLIKELY = "unlikely"  # agreement with the reference is very unlikely within the budget
TESTS = "tests"  # a sample passes all of the problem's tests
BUDGET = "budget"  # every sample was used
REASONS = (SETTLED, REFERENCE, UNLIKELY, TESTS, BUDGET)


@dataclass(frozen=True)
class Policy:
    """A template's sampling policy; ``maximum`` is the batch's samples per problem."""

    maximum: int
    adaptive: bool = False
    agree_with_reference: int = 2
    threshold: float = 0.95
    minimum: int = 3


@dataclass(frozen=True)
class Decision:
    """``stop``: no more samples are needed; ``reason`` one of :data:`REASONS` (empty
    while sampling goes on); ``agreeing``: the samples in the majority group (with a
    reference: agreeing with it); ``answered``: samples counted; ``probability``: the
    rule's posterior probability (``None`` when no probability was needed)."""

    stop: bool
    reason: str = ""
    agreeing: int = 0
    answered: int = 0
    probability: float | None = None


def _polya(alpha: int, k: int) -> int:
    """Weight of ``k`` draws into a category with integer pseudo-count ``alpha``:
    the rising factorial alpha^(k) / k! = C(k + alpha - 1, k)."""
    return comb(k + alpha - 1, k)


def majority_stays_probability(counts: Sequence[int], remaining: int) -> Fraction:
    """P(the group with the most answers still has strictly the most after ``remaining``
    more samples), under a Dirichlet(count + 1 per group, 1 for an unseen answer)
    posterior and its Dirichlet-multinomial predictive. Ties count as not staying.

    ``counts``: answers per group (any order; zeros ignored). No answers at all: 0.
    """
    counts = sorted((c for c in counts if c > 0), reverse=True)
    if not counts:
        return Fraction(0)
    leader, others = counts[0], counts[1:]
    alphas_others = [c + 1 for c in others] + [1]  # the last: an answer not seen yet
    alpha_total = leader + 1 + sum(alphas_others)
    total = 0
    for j in range(remaining + 1):  # the leader gets j of the remaining samples
        # The others share remaining - j, each staying below leader + j.
        ways = [1]  # polynomial coefficients over the draws given out so far
        for count, alpha in zip([*others, 0], alphas_others, strict=True):
            cap = leader + j - 1 - count
            if cap < 0:
                ways = []
                break
            term = [_polya(alpha, k) for k in range(min(cap, remaining - j) + 1)]
            merged = [0] * min(len(ways) + len(term) - 1, remaining - j + 1)
            for a, wa in enumerate(ways):
                for b, wb in enumerate(term):
                    if a + b < len(merged):
                        merged[a + b] += wa * wb
            ways = merged
        if len(ways) > remaining - j:
            total += _polya(leader + 1, j) * ways[remaining - j]
    return Fraction(total, comb(remaining + alpha_total - 1, remaining))


def reference_reach_probability(agree: int, disagree: int, needed: int,
                                remaining: int) -> Fraction:
    """P(at least ``needed`` of ``remaining`` more samples agree with the reference),
    under a Beta(agree + 1, disagree + 1) posterior on the agreement rate (its
    beta-binomial predictive). ``needed <= 0``: 1."""
    if needed <= 0:
        return Fraction(1)
    if needed > remaining:
        return Fraction(0)
    a, b = agree + 1, disagree + 1
    hits = sum(_polya(a, x) * _polya(b, remaining - x) for x in range(needed, remaining + 1))
    return Fraction(hits, comb(remaining + a + b - 1, remaining))


def decide(policy: Policy, *, groups: Sequence[int | None], remaining: int,
           agrees: Sequence[bool] | None = None, passes_all_tests: bool = False
           ) -> Decision:
    """Whether a problem needs more samples.

    ``groups``: the answer group of each finished sample (``None``: no answer found;
    it uses budget but takes no side). ``remaining``: samples that may still come
    (waiting or running). ``agrees``: per finished sample, whether its answer agrees with
    the reference, or ``None`` when the problem has none. ``passes_all_tests``: a sample
    passed every one of the problem's tests. A fixed policy never stops early.
    """
    answered = len(groups)
    sizes = Counter(g for g in groups if g is not None)
    leader = max(sizes.values(), default=0)
    if passes_all_tests and policy.adaptive:
        return Decision(True, TESTS, leader, answered)
    if agrees is not None:
        hits = sum(1 for a in agrees if a)
        if policy.adaptive and hits >= policy.agree_with_reference:
            return Decision(True, REFERENCE, hits, answered)
        if remaining <= 0:
            return Decision(True, BUDGET, hits, answered)
        if not policy.adaptive or answered < policy.minimum:
            return Decision(False, "", hits, answered)
        p = reference_reach_probability(hits, answered - hits,
                                        policy.agree_with_reference - hits, remaining)
        if p < 1 - Fraction(policy.threshold).limit_denominator(10_000):
            return Decision(True, UNLIKELY, hits, answered, float(p))
        return Decision(False, "", hits, answered, float(p))
    if remaining <= 0:
        return Decision(True, BUDGET, leader, answered)
    if not policy.adaptive or answered < policy.minimum:
        return Decision(False, "", leader, answered)
    p = majority_stays_probability(list(sizes.values()), remaining)
    stop = p >= Fraction(policy.threshold).limit_denominator(10_000)
    return Decision(stop, SETTLED if stop else "", leader, answered, float(p))

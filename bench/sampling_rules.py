"""Stopping rules replayed offline on pre-drawn answers: what a rule alone would spend.

bench/sampling.py runs the pipeline; this module takes the very same per-problem answer
sequences and asks each rule, one sample at a time (C = 1, so "remaining" is exactly
``maximum - answered``), when it would stop. The pipeline's calls minus these are
samples run past a stop (pipeline waste); the rules side by side show what the issue's
goals cost. Django-free; ``bench/sampling.py --offline`` prints only these tables.

The paper's two criteria (Aggarwal et al., EMNLP 2023, "Adaptive-Consistency") are
computed exactly here, not by numerical integration:

- **Dirichlet**: p ~ Dirichlet(count + 1 per answer seen); stop when
  P(p_leader > every other p) > threshold. Not budget-aware.
- **Beta**: only the two largest counts v1, v2; p ~ Beta(v1 + 1, v2 + 1); stop when
  P(p > 1/2) > threshold, which is P(Binomial(v1 + v2 + 1, 1/2) <= v1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb, factorial

from questionbank.sampling import Policy, decide

# --- The paper's criteria, exact --------------------------------------------------------


def dirichlet_leader_probability(counts: Sequence[int]) -> Fraction:
    """P(the leader's share exceeds every other share) under Dirichlet(count + 1 per group
    seen). With Gamma(a_i) draws G_i, it is the integral over x of the leader's density
    times each other group's CDF; integer shapes make every factor a sum of terms
    c x^n e^(-r x), and the integral of x^n e^(-r x) is n! / r^(n+1)."""
    counts = sorted((c for c in counts if c > 0), reverse=True)
    if len(counts) <= 1:
        return Fraction(1) if counts else Fraction(0)
    a1 = counts[0] + 1
    terms = {(a1 - 1, 1): Fraction(1, factorial(a1 - 1))}  # (power, rate) -> coefficient
    for count in counts[1:]:
        cdf = {(0, 0): Fraction(1)}  # Gamma(a) CDF: 1 - e^-x sum_{m<a} x^m / m!
        for m in range(count + 1):
            cdf[(m, 1)] = -Fraction(1, factorial(m))
        product: dict[tuple[int, int], Fraction] = {}
        for (n1, r1), c1 in terms.items():
            for (n2, r2), c2 in cdf.items():
                key = (n1 + n2, r1 + r2)
                product[key] = product.get(key, 0) + c1 * c2
        terms = product
    return sum((c * Fraction(factorial(n), r ** (n + 1)) for (n, r), c in terms.items()),
               Fraction(0))


def beta_leader_probability(counts: Sequence[int]) -> Fraction:
    """P(p > 1/2) for p ~ Beta(v1 + 1, v2 + 1), v1 >= v2 the two largest counts."""
    top = sorted((c for c in counts if c > 0), reverse=True) + [0, 0]
    v1, v2 = top[0], top[1]
    n = v1 + v2 + 1
    return Fraction(sum(comb(n, k) for k in range(v1 + 1)), 2 ** n)


# --- Replaying a rule -------------------------------------------------------------------

# A rule: (answers so far, samples left, reference answer or "") -> stop?
Rule = Callable[[Sequence[str], int, str], bool]


def ours(**fields) -> Rule:
    """questionbank.sampling.decide with the issue's defaults, or ``fields`` changed."""
    def rule(answers, remaining, reference):
        policy = Policy(maximum=len(answers) + remaining, adaptive=True, **fields)
        groups = list(answers)
        index = {a: i for i, a in enumerate(dict.fromkeys(groups))}
        agrees = [a == reference for a in answers] if reference else None
        return decide(policy, groups=[index[a] for a in groups], remaining=remaining,
                      agrees=agrees).stop
    return rule


def paper(probability: Callable[[Sequence[int]], Fraction], threshold: float = 0.95,
          minimum: int = 3) -> Rule:
    """The paper's criterion (no reference answer: it is not used)."""
    def rule(answers, remaining, reference):
        if remaining <= 0:
            return True
        if len(answers) < minimum:
            return False
        return probability(list(Counter(answers).values())) > Fraction(threshold)
    return rule


def replay(rule: Rule, answers: Sequence[str], reference: str = "") -> int:
    """Samples the rule uses before it stops (at most ``len(answers)``)."""
    for used in range(1, len(answers) + 1):
        if rule(answers[:used], len(answers) - used, reference):
            return used
    return len(answers)


def oracle(answers: Sequence[str], reference: str = "", minimum: int = 3,
           agree: int = 2) -> int:
    """A lower bound, not a rule: it knows every answer to come. Without a reference it
    stops at the first n >= ``minimum`` whose strict leader is the fixed-N majority (all
    samples when that vote is a tie); with one, at the ``agree``-th agreeing answer, at
    the only one, or at the minimum when none will agree. No rule that sees only the
    past can do better on average while matching the fixed run on every problem."""
    if reference:
        hits = [i + 1 for i, a in enumerate(answers) if a == reference]
        if len(hits) >= agree:
            return hits[agree - 1]
        return max(minimum, hits[0]) if hits else minimum
    full = majority(answers)
    if len(full) == 1:
        for used in range(minimum, len(answers)):
            if majority(answers[:used]) == full:
                return used
    return len(answers)


def majority(answers: Sequence[str]) -> set[str]:
    """The largest group(s): one answer, or the tied ones."""
    sizes = Counter(answers)
    top = max(sizes.values())
    return {a for a, n in sizes.items() if n == top}


@dataclass
class Outcome:
    calls: int  # samples used over all problems
    maximum: int  # problems x samples: the fixed run's calls
    same: int  # problems whose majority is the fixed-N majority
    same_or_tied: int  # ... or one of the fixed vote's tied answers
    agreeing: int  # with a reference: problems with an answer agreeing with it
    used: list[int]  # per problem

    @property
    def ratio(self) -> float:
        return self.calls / self.maximum


def evaluate(rule: Rule | None, sequences: Sequence[Sequence[str]],
             references: Sequence[str] | None = None) -> Outcome:
    """The rule replayed on every problem (``None``: the oracle bound)."""
    used, same, same_or_tied, agreeing = [], 0, 0, 0
    for i, answers in enumerate(sequences):
        reference = references[i] if references else ""
        n = oracle(answers, reference) if rule is None else replay(rule, answers, reference)
        used.append(n)
        mine, full = majority(answers[:n]), majority(answers)
        same += mine == full  # a tie only when every sample was used: the same vote
        same_or_tied += mine == full or (len(mine) == 1 and mine <= full)
        agreeing += bool(reference) and reference in answers[:n]
    total = sum(len(a) for a in sequences)
    return Outcome(sum(used), total, same, same_or_tied, agreeing, used)


def rule_tables(sequences: Sequence[Sequence[str]], references: Sequence[str],
                easy: Sequence[bool]) -> list[str]:
    """The lines to print: the rules without a reference, then with one."""
    n, samples = len(sequences), len(sequences[0])
    full_agreeing = sum(1 for a, r in zip(sequences, references, strict=True) if r in a)

    def split(out: Outcome) -> str:
        e = [u for u, k in zip(out.used, easy, strict=True) if k]
        h = [u for u, k in zip(out.used, easy, strict=True) if not k]
        return f"{sum(e) / max(1, len(e)):>5.2f}{sum(h) / max(1, len(h)):>6.2f}"

    lines = [f"Stopping rules replayed offline on the same draws ({n} problems, at most "
             f"{samples}; C = 1, no sample past a stop):",
             "", "No reference (goal: calls <= 0.40 x fixed at >= 99 % the fixed-N majority)",
             f"{'rule':<44}{'calls':>7}{'easy':>6}{'hard':>6}{'same':>8}{'same/tied':>11}"]
    no_ref = [
        ("ours: budget-aware Dirichlet, 0.95, min 3 *", ours()),
        ("paper Dirichlet P(p1 > rest) > 0.95, min 3", paper(dirichlet_leader_probability)),
        ("paper Beta P(p1 > p2) > 0.95, min 3", paper(beta_leader_probability)),
        ("ours, threshold 0.80, min 3", ours(threshold=0.80)),
        ("paper Dirichlet, 0.95, no minimum", paper(dirichlet_leader_probability,
                                                    minimum=1)),
        ("bound: knows the future, min 3", None),
    ]
    for name, rule in no_ref:
        out = evaluate(rule, sequences)
        lines.append(f"{name:<44}{out.ratio:>7.3f}{split(out)}{100 * out.same / n:>7.1f}%"
                     f"{100 * out.same_or_tied / n:>10.1f}%")
    lines += ["", f"With a reference (goal: calls <= 0.30 x fixed, problems with an agreeing "
              f"answer as fixed: {full_agreeing})",
              f"{'rule':<44}{'calls':>7}{'easy':>6}{'hard':>6}{'agreeing':>10}"]
    with_ref = [
        ("ours: 2 agree, unlikely < 0.05, min 3 *", ours()),
        ("ours, 2 agree, unlikely < 0.20 (0.80)", ours(threshold=0.80)),
        ("ours, 1 agrees", ours(agree_with_reference=1)),
        ("bound: knows the future, 2 agree, min 3", None),
    ]
    for name, rule in with_ref:
        out = evaluate(rule, sequences, references)
        lines.append(f"{name:<44}{out.ratio:>7.3f}{split(out)}{out.agreeing:>10}")
    lines += ["", "* the issue's defaults. Exact floors they imply (every problem settled as "
              f"early as the rule allows): no reference {min(3, samples)}/{samples} = "
              f"{min(3, samples) / samples:.3f}; with a reference {min(2, samples)}/{samples}"
              f" = {min(2, samples) / samples:.3f}."]
    return lines

"""The vote between programming samples: grouped by which tests they pass."""

from __future__ import annotations

from questionbank.answers import VoteResult

Signature = tuple[bool, ...]


def vote_by_tests(signatures: list[Signature | None]) -> VoteResult:
    """Group samples by their pass/fail signature over the tests and pick the best one.

    ``signatures[i]`` says, test by test, whether sample ``i`` passed (``None``: not
    judged). The best is the sample that passes the most tests (so one passing them all
    is preferred whatever the others do); between equals, the one in the larger group,
    then the first. Shares are group sizes over all samples, as in the answer vote.
    """
    groups: list[int | None] = []
    seen: dict[Signature, int] = {}
    for signature in signatures:
        if signature is None:
            groups.append(None)
        else:
            groups.append(seen.setdefault(signature, len(seen)))
    if not groups:
        return VoteResult(groups=[], shares=[], best=None, majority_share=0.0)
    sizes: dict[int, int] = {}
    for group in groups:
        if group is not None:
            sizes[group] = sizes.get(group, 0) + 1
    shares = [sizes[g] / len(groups) if g is not None else 0.0 for g in groups]
    judged = [i for i, g in enumerate(groups) if g is not None]
    if not judged:
        return VoteResult(groups=groups, shares=shares, best=0, majority_share=0.0)
    best = min(judged, key=lambda i: (-sum(signatures[i]), -sizes[groups[i]], i))
    return VoteResult(groups=groups, shares=shares, best=best, majority_share=shares[best])

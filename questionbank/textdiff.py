"""Comparing texts: the diff between two revisions and how much a teacher changed one.

Both work on words and lines with :mod:`difflib`; nothing here produces HTML. The diff
is a list of rows the template renders with autoescaping, so a revision's text (model
output, teacher input) can never become markup on the page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
_NON_SPACE = re.compile(r"\w+|[^\w\s]", re.UNICODE)  # _WORDS without the whitespace
# Unchanged lines kept around each change; longer unchanged runs are folded.
CONTEXT_LINES = 3


def _tokens(text: str) -> list[str]:
    return _NON_SPACE.findall(text or "")


# The changed middle of two texts (their common beginning and end set aside) is matched by
# difflib only while the product of its lengths in words stays under this: difflib's
# matching is quadratic (48 KB took 2.5 s, 96 KB 10 s, a 2.4 MB model reply over 300 s).
EXACT_BUDGET = 4_000_000


def normalized_edit_distance(a: str, b: str) -> float:
    """Words inserted, deleted or replaced to turn ``a`` into ``b``, over the longer length.

    0.0 means unchanged and 1.0 entirely rewritten. Linear in the length of the texts
    except for a bounded part, so it is fast for a model reply of any size:

    1. The common beginning and end (in words) are set aside: a teacher's edits usually
       leave most of the text alone, and an untouched text costs one comparison.
    2. A changed middle small enough (:data:`EXACT_BUDGET`) is counted from difflib's edit
       script, an upper bound of the Levenshtein distance and the same in the usual case.
    3. A larger one is counted from the words' multisets: the larger of "words of ``a``
       missing from ``b``" and the converse. That is a lower bound of the Levenshtein
       distance: exact when words were only replaced one for one, only added or only
       removed; lower when words were removed in one place and added in another, and
       blind to words that only moved.
    """
    ta, tb = _tokens(a), _tokens(b)
    longest = max(len(ta), len(tb))
    if longest == 0:
        return 0.0
    shortest = min(len(ta), len(tb))
    start = 0
    while start < shortest and ta[start] == tb[start]:
        start += 1
    end = 0
    while end < shortest - start and ta[-1 - end] == tb[-1 - end]:
        end += 1
    middle_a, middle_b = ta[start:len(ta) - end], tb[start:len(tb) - end]
    if len(middle_a) * len(middle_b) <= EXACT_BUDGET:
        edits = _script_edits(middle_a, middle_b)
    else:
        edits = _multiset_edits(middle_a, middle_b)
    return min(1.0, edits / longest)


def _script_edits(ta: list[str], tb: list[str]) -> int:
    edits = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "replace":
            edits += max(i2 - i1, j2 - j1)
        elif op == "delete":
            edits += i2 - i1
        elif op == "insert":
            edits += j2 - j1
    return edits


def _multiset_edits(ta: list[str], tb: list[str]) -> int:
    surplus = Counter(ta)  # > 0: words a has more of than b; < 0: the converse
    surplus.subtract(Counter(tb))
    return max(sum(n for n in surplus.values() if n > 0),
               -sum(n for n in surplus.values() if n < 0))


@dataclass
class DiffRow:
    """One line of a diff. ``kind`` is "same", "removed", "added" or "fold"."""

    kind: str
    old_number: int | None = None
    new_number: int | None = None
    # (text, changed) pieces; changed pieces are highlighted inside a changed line.
    segments: list[tuple[str, bool]] = field(default_factory=list)
    folded: int = 0


@dataclass
class Diff:
    rows: list[DiffRow]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        return not self.added and not self.removed


def _word_segments(old: str, new: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    pa, pb = _WORDS.findall(old), _WORDS.findall(new)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, pa, pb, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(("".join(pa[i1:i2]), False))
            right.append(("".join(pb[j1:j2]), False))
        else:
            if i2 > i1:
                left.append(("".join(pa[i1:i2]), True))
            if j2 > j1:
                right.append(("".join(pb[j1:j2]), True))
    return left, right


def line_diff(old: str, new: str, *, context: int = CONTEXT_LINES) -> Diff:
    """A line diff of ``old`` -> ``new`` with changed words marked and long runs folded."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    rows: list[DiffRow] = []
    added = removed = 0
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            span = i2 - i1
            head = 0 if index == 0 else context
            tail = 0 if index == len(opcodes) - 1 else context
            if span > head + tail + 1:
                keep = list(range(head)) + [None] + list(range(span - tail, span))
            else:
                keep = list(range(span))
            for k in keep:
                if k is None:
                    rows.append(DiffRow("fold", folded=span - head - tail))
                else:
                    rows.append(DiffRow("same", i1 + k + 1, j1 + k + 1, [(a[i1 + k], False)]))
            continue
        old_lines, new_lines = a[i1:i2], b[j1:j2]
        removed += len(old_lines)
        added += len(new_lines)
        if op == "replace" and len(old_lines) == len(new_lines):
            pairs = [_word_segments(x, y) for x, y in zip(old_lines, new_lines, strict=True)]
            for k, (left, _right) in enumerate(pairs):
                rows.append(DiffRow("removed", i1 + k + 1, None, left))
            for k, (_left, right) in enumerate(pairs):
                rows.append(DiffRow("added", None, j1 + k + 1, right))
            continue
        for k, line in enumerate(old_lines):
            rows.append(DiffRow("removed", i1 + k + 1, None, [(line, False)]))
        for k, line in enumerate(new_lines):
            rows.append(DiffRow("added", None, j1 + k + 1, [(line, False)]))
    return Diff(rows=rows, added=added, removed=removed)

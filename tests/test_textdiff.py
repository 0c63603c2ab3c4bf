"""questionbank.textdiff: edit distance and line diffs (no HTML is produced there)."""

from __future__ import annotations

import pytest

from questionbank.textdiff import line_diff, normalized_edit_distance


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("", "", 0.0),
    ("same words here", "same words here", 0.0),
    ("a b c d", "a b c e", 0.25),
    ("a b c d", "w x y z", 1.0),
    ("a b", "a b c d", 0.5),
    ("a b c d", "", 1.0),
    ("x = 1 + 2", "x = 1 + 3", 0.2),  # punctuation and numbers are words
    ("Hello   world\n\n", "Hello world", 0.0),  # whitespace does not count
])
def test_normalized_edit_distance(a, b, expected):
    assert normalized_edit_distance(a, b) == pytest.approx(expected)


def test_edit_distance_is_bounded_and_fast_enough_for_long_texts():
    long_a = " ".join(f"w{i}" for i in range(20_000))
    long_b = long_a.replace("w1 ", "v1 ")
    assert 0 < normalized_edit_distance(long_a, long_b) < 0.01


def test_line_diff_marks_changed_words_and_folds_unchanged_runs():
    old = "\n".join(f"line {i}" for i in range(1, 21))
    new = old.replace("line 10", "line ten")
    diff = line_diff(old, new)
    assert (diff.added, diff.removed) == (1, 1)
    kinds = [r.kind for r in diff.rows]
    assert kinds.count("fold") == 2
    removed = next(r for r in diff.rows if r.kind == "removed")
    added = next(r for r in diff.rows if r.kind == "added")
    assert (removed.old_number, added.new_number) == (10, 10)
    assert ("10", True) in removed.segments and ("ten", True) in added.segments
    assert "".join(t for t, _ in added.segments) == "line ten"


def test_line_diff_of_identical_and_unequal_blocks():
    assert line_diff("a\nb", "a\nb").identical
    diff = line_diff("a\nb\nc", "a\nX\nY\nZ\nc")
    assert (diff.added, diff.removed) == (3, 1)
    assert [r.kind for r in diff.rows] == ["same", "removed", "added", "added", "added", "same"]


def test_line_diff_keeps_markup_as_text():
    diff = line_diff("<b>", "<script>alert(1)</script>")
    # Word-level pieces, joined back they are the raw text; the template escapes them.
    assert "".join(t for t, _ in diff.rows[-1].segments) == "<script>alert(1)</script>"

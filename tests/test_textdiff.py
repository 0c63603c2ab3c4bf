"""questionbank.textdiff: edit distance and line diffs (no HTML is produced there)."""

from __future__ import annotations

import pytest

from questionbank import textdiff
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


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("a a", "a a a", 1 / 3),  # the common beginning and end overlap
    ("a b a", "a a", 1 / 3),
    ("x y", "x y z", 1 / 3),
    ("z x y", "x y", 1 / 3),
    ("p q r", "p z r", 1 / 3),
])
def test_common_beginning_and_end_are_set_aside_exactly(a, b, expected):
    assert normalized_edit_distance(a, b) == pytest.approx(expected)


# Issue 14, defect 3: a 2.4 MB reply (about 400,000 words) took over 300 s.
def test_a_2_4_mb_text_edited_near_both_ends():
    words = [f"word{i % 5000}" for i in range(400_000)]
    edited = ["v0", *words[1:-1], "v1", "extra"]
    assert len(" ".join(words)) > 2_400_000
    assert normalized_edit_distance(" ".join(words), " ".join(edited)) == pytest.approx(
        3 / 400_001)


def test_a_large_changed_middle_is_counted_from_the_multisets(monkeypatch):
    a = " ".join(f"w{i}" for i in range(200))
    b = a.replace("w10 ", "x10 ").replace("w150 ", "").replace("w190", "w190 y z")
    assert normalized_edit_distance(a, b) == pytest.approx(4 / 201)  # difflib's script
    replaced = a.replace("w10 ", "x10 ").replace("w150 ", "x150 ")
    monkeypatch.setattr(textdiff, "EXACT_BUDGET", 0)
    # Words replaced one for one are counted exactly...
    assert normalized_edit_distance(a, replaced) == pytest.approx(2 / 200)
    # ...a removal here and additions there are counted as the larger side: a lower bound.
    assert normalized_edit_distance(a, b) == pytest.approx(3 / 201)
    # Blind to moves, which difflib counts: a lower bound.
    moved = " ".join(a.split()[100:] + a.split()[:100])
    assert normalized_edit_distance(a, moved) == 0.0
    monkeypatch.setattr(textdiff, "EXACT_BUDGET", 10**9)
    assert normalized_edit_distance(a, moved) == 1.0  # difflib: half deleted, half added


def test_the_budget_is_the_product_of_the_changed_middles(monkeypatch):
    # 3 x 3 changed words, moved (the multisets would see no change): difflib at 9, not 8.
    monkeypatch.setattr(textdiff, "EXACT_BUDGET", 9)
    assert normalized_edit_distance("s a b c e", "s c b a e") > 0
    monkeypatch.setattr(textdiff, "EXACT_BUDGET", 8)
    assert normalized_edit_distance("s a b c e", "s c b a e") == 0.0


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

"""questionbank.sanitize, exhaustively and by property: every removed code point one at a
time, every kept one around them, and Hypothesis over arbitrary text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionbank.sanitize import (
    NON_ENGLISH_MIN_LETTERS,
    SanitizationError,
    detect_non_english,
    sanitize_fields,
    sanitize_prompt,
    sanitize_text,
)

# What each report counter must remove, spelled out code point by code point.
REMOVED = {
    "nul": [0x00],
    "control": [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)],
    "bidi": [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C],
    "zero_width": [*range(0x200B, 0x200E), *range(0x2060, 0x2065), 0xFEFF, 0x180E],
    "tag_chars": list(range(0xE0000, 0xE0080)),
    "variation_selectors": [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0),
                            0x180B, 0x180C, 0x180D, 0x180F],
    "invisible": [0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5,
                  *range(0x206A, 0x2070), 0xFFF9, 0xFFFA, 0xFFFB, *range(0x1BCA0, 0x1BCA4),
                  *range(0x1D173, 0x1D17B), *range(0xE0080, 0xE0100),
                  *range(0xE01F0, 0xE1000)],
}
# One test per code point, except inside the long plane-14 runs, where the ends and the
# middle stand for the rest (test_every_removed_code_point_at_once covers all of them).
_LONG_RUNS = [(0xE0100, 0xE01EF), (0xE0080, 0xE00FF), (0xE01F0, 0xE0FFF)]


def _sampled(cps):
    def inside(cp):
        return any(lo < cp < hi and cp != (lo + hi) // 2 for lo, hi in _LONG_RUNS)
    return [cp for cp in cps if not inside(cp)]
ALL_REMOVED = {cp for cps in REMOVED.values() for cp in cps}
# Neighbours of every removed range that must survive (plus tab and newline).
KEPT_NEIGHBOURS = [0x09, 0x0A, 0x20, 0x7E, 0xA0, 0x061B, 0x061D, 0x180A, 0x1810, 0x200A,
                   0x2010, 0x2029 - 2, 0x202F, 0x205F, 0x2065, 0x2070, 0xFEFE, 0xFF00,
                   0xDFFFF, 0xE1000, 0xAC, 0xAE, 0x034E, 0x0350, 0x115E, 0x1161, 0x3163,
                   0x3165, 0xFF9F, 0xFFA1, 0x17B3, 0x17B6, 0xFDFF, 0xFE10,
                   0xFFF8, 0xFFFC, 0x1BC9F, 0x1BCA4, 0x1D172, 0x1D17B]


CONTROL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
                  "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "[INST]",
                  "[/INST]", "<<SYS>>", "<</SYS>>", "<｜begin▁of▁sentence｜>",
                  "<start_of_turn>", "<end_of_turn>", "<|x|>", "<s>", "</s>"]


def clean(value, max_length=None):
    return sanitize_text(value, field="statement", max_length=max_length)


@pytest.mark.parametrize(
    ("counter", "cp"),
    [(counter, cp) for counter, cps in REMOVED.items() for cp in _sampled(cps)],
    ids=lambda v: f"U+{v:04X}" if isinstance(v, int) else v,
)
def test_each_removed_code_point_alone(counter, cp):
    result = clean(f"a{chr(cp)}b{chr(cp)}")
    assert result.text == "ab"
    removed = {name: 0 for name in REMOVED} | {counter: 2}
    assert result.report["removed"] == removed
    assert result.report["characters"] == {f"U+{cp:04X}": 2}
    assert result.report["control_tokens"] == {}
    assert result.report["changed"] is True
    assert result.report["length"] == 2
    assert result.report["line_endings_normalised"] == 0
    assert result.report["nfc_normalised"] is False


@pytest.mark.parametrize("counter", REMOVED)
def test_every_removed_code_point_at_once(counter):
    cps = REMOVED[counter]
    result = clean("x" + "".join(chr(cp) for cp in cps) + "y")
    assert result.text == "xy"
    assert result.report["removed"][counter] == len(cps)
    assert sum(result.report["characters"].values()) == len(cps)


@pytest.mark.parametrize("cp", KEPT_NEIGHBOURS, ids=lambda v: f"U+{v:04X}")
def test_each_neighbour_of_a_removed_range_is_kept(cp):
    text = f"a{chr(cp)}b"
    assert unicodedata.is_normalized("NFC", text)
    result = clean(text)
    assert result.text == text
    assert result.report["changed"] is False


@pytest.mark.parametrize(
    ("ending", "expected", "count"),
    [("\r\n", "\n", 1), ("\r", "\n", 1), ("\u2028", "\n", 1), ("\u2029", "\n", 1),
     ("\n", "\n", 0), ("\r\r\n", "\n\n", 2), ("\n\r", "\n\n", 1)],
)
def test_each_line_ending(ending, expected, count):
    result = clean(f"a{ending}b")
    assert result.text == f"a{expected}b"
    assert result.report["line_endings_normalised"] == count
    assert result.report["changed"] is bool(count)


def test_nfc_normalisation_is_reported_after_the_removals():
    # "e" + zero-width space + combining acute: composes only once the space is gone.
    result = clean("e\u200b\u0301")
    assert result.text == "\u00e9"
    assert result.report["nfc_normalised"] is True
    assert result.report["removed"]["zero_width"] == 1
    only_nfc = clean("e\u0301")
    assert only_nfc.text == "\u00e9" and only_nfc.report["changed"] is True
    assert only_nfc.report["removed"] == {name: 0 for name in REMOVED}


def test_none_is_empty_and_non_strings_are_text():
    assert clean(None).text == "" and clean(None).report["length"] == 0
    assert clean(12).text == "12"


@pytest.mark.parametrize(("length", "cap"), [(5, 5), (0, 0), (6, None)])
def test_text_at_the_cap_passes(length, cap):
    assert clean("x" * length, max_length=cap).text == "x" * length


def test_one_over_the_cap_is_refused_with_a_sentence():
    with pytest.raises(SanitizationError) as info:
        sanitize_text("x" * 1001, field="system_prompt", max_length=1000)
    error = info.value
    assert (error.field, error.length, error.max_length) == ("system_prompt", 1001, 1000)
    assert str(error) == ("System prompt is too long: 1,001 characters, and the limit is 1,000. "
                          "Shorten it and try again (nothing was cut off automatically).")


def test_the_cap_counts_the_cleaned_text():
    assert clean("ab\x00\u200b", max_length=2).text == "ab"


def test_a_blank_field_name_is_labelled_this_field():
    with pytest.raises(SanitizationError, match=r"^This field is too long"):
        sanitize_text("xx", field="_", max_length=1)


def test_sanitize_fields_uses_each_fields_cap_and_reports_each():
    clean_values, reports = sanitize_fields({"title": "a\x00", "statement": "b" * 5},
                                            {"statement": 5})
    assert clean_values == {"title": "a", "statement": "bbbbb"}
    assert reports["title"]["removed"]["nul"] == 1 and reports["statement"]["field"] == "statement"
    with pytest.raises(SanitizationError) as info:
        sanitize_fields({"title": "ok", "statement": "b" * 6}, {"statement": 5})
    assert info.value.field == "statement"


def test_sanitize_prompt_caps_system_and_user_separately():
    system, user, report = sanitize_prompt("s\u202e", "u\u2066", {"system": 1, "user": 1})
    assert (system, user) == ("s", "u")
    assert report["system"]["field"] == "system prompt" and report["user"]["field"] == "prompt"
    assert report["system"]["removed"]["bidi"] == 1 and report["user"]["removed"]["bidi"] == 1
    with pytest.raises(SanitizationError, match="^System prompt is too long"):
        sanitize_prompt("ss", "u", {"system": 1})
    with pytest.raises(SanitizationError, match="^Prompt is too long"):
        sanitize_prompt("s", "uu", {"user": 1})
    assert sanitize_prompt(None, "u", {})[0] == ""


# --- Properties ---------------------------------------------------------------------------

text_with_hazards = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from([chr(cp) for cp in sorted(ALL_REMOVED)]),
        st.sampled_from(["\r\n", "\r", "\u2028", "\u2029", "e\u0301", "\u200d"]),
        st.sampled_from(CONTROL_TOKENS + ["<|", "|>", "<", ">", "[", "]", "|", "\uff5c",
                                          "\u00a6", "im_start", "INST", "/", "SYS"]),
    ),
    max_size=60,
).map("".join)

KNOWN_TOKENS = [t for t in CONTROL_TOKENS if t not in ("<|x|>", "<s>", "</s>")]


@settings(max_examples=300, deadline=None)
@given(text_with_hazards)
def test_no_control_token_survives_and_each_is_reported(text):
    result = clean(text)
    assert not any(token in result.text for token in KNOWN_TOKENS)
    tokens = result.report["control_tokens"]
    # Each neutralised token turns its two delimiters into broken bars, and nothing else does.
    assert result.text.count("\u00a6") == text.count("\u00a6") + 2 * sum(tokens.values())


@settings(max_examples=300, deadline=None)
@given(text_with_hazards)
def test_every_removed_character_is_counted_once_by_kind_and_by_code_point(text):
    report = clean(text).report
    assert sum(report["removed"].values()) == sum(report["characters"].values())
    assert all(n > 0 for n in report["characters"].values())
    assert set(report["removed"]) == set(REMOVED)


@settings(max_examples=300, deadline=None)
@given(text_with_hazards)
def test_no_removed_code_point_survives(text):
    result = clean(text)
    assert not {ord(ch) for ch in result.text} & ALL_REMOVED
    assert "\r" not in result.text and "\u2028" not in result.text
    assert unicodedata.is_normalized("NFC", result.text)
    assert result.report["length"] == len(result.text)


@settings(max_examples=300, deadline=None)
@given(text_with_hazards)
def test_sanitizing_is_idempotent_and_clean_text_is_untouched(text):
    once = clean(text).text
    again = clean(once)
    assert again.text == once
    assert again.report["changed"] is False


@settings(max_examples=300, deadline=None)
@given(text_with_hazards)
def test_changed_is_true_exactly_when_the_text_changed(text):
    result = clean(text)
    assert result.report["changed"] is (result.text != text)


@settings(max_examples=200, deadline=None)
# Unassigned code points (Cn) are left out: U+E0000 is one, and the sanitizer removes the
# whole tag block U+E0000-U+E007F on purpose. Letters and marks it removes on purpose (the
# Hangul fillers are "letters", the variation selectors "marks") are left out by name, and
# "<" and "[" so that no control token can form.
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=(
    "Cc", "Cf", "Cn", "Zl", "Zp"), exclude_characters=[chr(cp) for cp in ALL_REMOVED]
                                                       + ["<", "["]),
    max_size=60))
def test_ordinary_nfc_text_passes_through_unchanged(text):
    text = unicodedata.normalize("NFC", text)
    assert clean(text).text == text


# --- Non-English warning thresholds -------------------------------------------------------


def test_non_english_needs_three_foreign_letters():
    assert detect_non_english("ab" + "дж") is None
    assert detect_non_english("дже") is not None
    assert NON_ENGLISH_MIN_LETTERS == 3


def test_non_english_needs_a_fifth_of_the_letters():
    assert detect_non_english("жжж" + "a" * 12) is not None  # exactly 20 %
    assert detect_non_english("жжж" + "a" * 13) is None


@pytest.mark.parametrize(
    ("text", "script"),
    [("数学题目", "Chinese/Japanese (CJK) characters"), ("ひらがな", "Japanese"),
     ("カタカナ", "Japanese"), ("한국어", "Korean"), ("Привет", "Cyrillic"),
     ("مرحبا", "Arabic"), ("שלום", "Hebrew"), ("नमस्ते", "Devanagari"),
     ("สวัสดี", "Thai"), ("ⴰⵣⵓⵍ", "a non-Latin script")],
)
def test_non_english_names_the_main_script(text, script):
    assert detect_non_english(text) == (
        f"This text is largely written in {script}. The model works markedly better in "
        "English: consider translating the problem before generating solutions.")


@pytest.mark.parametrize("text", ["αβγδε", "𝐀𝐁𝐂𝐃", "ℕℤℚℝ", "ÀÉÎÕÜ", "ḀḂḃḄ", "12345 ++"])
def test_greek_maths_and_latin_letters_are_not_foreign(text):
    assert detect_non_english(text) is None


def test_latin_letters_count_against_foreign_ones():
    # Latin Extended Additional (U+1E00-U+1EFF) counts as Latin, not foreign.
    assert detect_non_english("жжж" + "ḁ" * 13) is None
    assert detect_non_english("жжж" + "ɏ" * 13) is None


@pytest.mark.parametrize(
    ("text", "warned"),
    [("жжж" + "\u1e00" * 13, False),  # first of Latin Extended Additional: Latin
     ("жжж" + "\u1eff" * 13, False),  # last of it: Latin
     ("\u1f00" * 3, True),  # Greek Extended, just past it: foreign
     ("\u0370" * 3, False), ("\u03ff" * 3, False),  # ends of the Greek block: neutral
     ("\U0001d400" * 3, False),  # first mathematical alphanumeric: neutral
     ("\u2102" * 3, False)],  # double-struck C in letterlike symbols: neutral
)
def test_script_range_edges(text, warned):
    assert (detect_non_english(text) is not None) is warned


def test_a_neutral_letter_does_not_stop_the_count():
    assert detect_non_english("α" + "жжж") is not None


def test_the_main_script_is_the_most_frequent_not_the_last_by_name():
    assert "Chinese/Japanese (CJK)" in detect_non_english("数学数学題" + "Жж")


def test_letters_without_a_unicode_name_count_as_another_script():
    # Tangut ideographs are letters that Python's unicodedata has no name for.
    assert "a non-Latin script" in detect_non_english("\U00017000\U00017001\U00017002")

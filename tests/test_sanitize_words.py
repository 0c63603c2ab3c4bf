"""questionbank.sanitize_words: every stored shape of a sanitization report, in words."""

from __future__ import annotations

from questionbank.sanitize import sanitize_prompt, sanitize_text
from questionbank.sanitize_words import character_name, describe_field, describe_report


def report(text: str, field: str = "statement") -> dict:
    return sanitize_text(text, field=field, max_length=None).report


def test_names_of_removed_characters():
    assert character_name(0x200B) == "zero-width space"
    assert character_name(0x202E) == "right-to-left override"
    assert character_name(0xE0041) == "tag character"
    assert character_name(0xE0100) == character_name(0xFE00) == "variation selector"
    assert character_name(0x180C) == "variation selector"
    assert character_name(0xFE0F) == "emoji variation selector"
    assert character_name(0x07) == character_name(0x85) == "control character"
    assert character_name(0x1D173) == "musical symbol begin beam"
    assert character_name(0xE0FFF) == "invisible character"  # unassigned: no Unicode name


def test_a_clean_field_says_nothing():
    assert describe_field(report("plain")) == ""
    assert describe_report({"fields": {"title": report("plain", "title")}}) == []


def test_one_field_in_words_most_frequent_first():
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "hi")
    sentence = describe_field(report(f"a\u200bb\u200b\u202e{hidden}\r\n<|im_start|>e\u0301"))
    assert sentence == (
        "Removed 5 hidden characters (tag character ×2, zero-width space ×2, right-to-left "
        "override ×1) from the statement; neutralised 1 chat-control token (<|im_start|>) in "
        "the statement; normalised 1 line ending in the statement; composed accents (Unicode "
        "NFC) in the statement.")


def test_singular_wording():
    assert describe_field(report("a\u00ad", "title")) == (
        "Removed 1 hidden character (soft hyphen ×1) from the title.")


def test_a_calls_report_fields_then_prompt_parts():
    system, user, prompt = sanitize_prompt("Be brief.[INST]", "Solve.", {})
    stored = {"fields": {"statement": report("x\u2066"), "title": report("t", "title")},
              "prompt": prompt, "changed": ["statement", "system"]}
    assert describe_report(stored) == [
        "Removed 1 hidden character (left-to-right isolate ×1) from the statement.",
        "Neutralised 1 chat-control token ([INST]) in the system prompt.",
    ]


def test_a_refused_prompt():
    assert describe_report({"rejected": {"field": "statement", "length": 25000,
                                         "max_length": 20000}}) == [
        "Nothing was sent: the statement is 25,000 characters long, over the limit of 20,000."]


def test_reports_stored_before_per_character_counts_use_the_kinds():
    old = {"field": "statement", "changed": True, "nfc_normalised": False,
           "line_endings_normalised": 0,
           "removed": {"nul": 1, "control": 0, "bidi": 2, "zero_width": 0, "tag_chars": 0}}
    assert describe_report({"fields": {"statement": old}}) == [
        "Removed 3 hidden characters (text-direction control ×2, NUL character ×1) from the "
        "statement."]
    # A single field's report and a save's {name: report} read the same.
    assert describe_report(old) == describe_report({"statement": old})


def test_garbage_is_no_sentence():
    assert describe_report(None) == describe_report("x") == describe_report({"a": 1}) == []
    assert describe_field({"changed": True, "removed": {}}) == ""

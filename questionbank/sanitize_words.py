"""A sanitization report (:mod:`questionbank.sanitize`) told in words, for teachers.

Reads the shapes that are stored:

- one field's report (``sanitize_text``): ``{"field", "removed", "characters",
  "control_tokens", "line_endings_normalised", "nfc_normalised", ...}``; reports stored
  before issue 14 have no ``characters`` nor ``control_tokens``, and are told from
  ``removed``;
- a call's report (``render_job_prompt``): ``{"fields": {name: report},
  "prompt": {"system": report, "user": report}, "changed": [names]}``;
- a refused prompt: ``{"rejected": {"field", "length", "max_length"}}``;
- a save's reports: ``{name: report}``.

Each part that changed gives one sentence, such as "Removed 3 hidden characters
(zero-width space ×2, right-to-left override ×1) from the statement; neutralised 1
chat-control token (<|im_start|>)."
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

_FIELDS = {
    "title": gettext_lazy("the title"),
    "statement": gettext_lazy("the statement"),
    "source": gettext_lazy("the source"),
    "tags": gettext_lazy("the tags"),
    "test_cases": gettext_lazy("the test cases"),
    "reference_answer": gettext_lazy("the reference answer"),
    "kind": gettext_lazy("the kind"),
    "difficulty": gettext_lazy("the difficulty"),
    "language": gettext_lazy("the language"),
    "system prompt": gettext_lazy("the system prompt"),
    "system_prompt": gettext_lazy("the system prompt"),
    "system": gettext_lazy("the system prompt"),
    "prompt": gettext_lazy("the prompt"),
    "user": gettext_lazy("the prompt"),
    "user_prompt": gettext_lazy("the user prompt"),
}

_NAMES = {
    0x0000: gettext_lazy("NUL character"),
    0x00AD: gettext_lazy("soft hyphen"),
    0x034F: gettext_lazy("combining grapheme joiner"),
    0x061C: gettext_lazy("Arabic letter mark"),
    0x115F: gettext_lazy("Hangul filler"),
    0x1160: gettext_lazy("Hangul filler"),
    0x3164: gettext_lazy("Hangul filler"),
    0xFFA0: gettext_lazy("Hangul filler"),
    0x180E: gettext_lazy("Mongolian vowel separator"),
    0x200B: gettext_lazy("zero-width space"),
    0x200C: gettext_lazy("zero-width non-joiner"),
    0x200D: gettext_lazy("zero-width joiner"),
    0x200E: gettext_lazy("left-to-right mark"),
    0x200F: gettext_lazy("right-to-left mark"),
    0x202A: gettext_lazy("left-to-right embedding"),
    0x202B: gettext_lazy("right-to-left embedding"),
    0x202C: gettext_lazy("pop directional formatting"),
    0x202D: gettext_lazy("left-to-right override"),
    0x202E: gettext_lazy("right-to-left override"),
    0x2060: gettext_lazy("word joiner"),
    0x2066: gettext_lazy("left-to-right isolate"),
    0x2067: gettext_lazy("right-to-left isolate"),
    0x2068: gettext_lazy("first strong isolate"),
    0x2069: gettext_lazy("pop directional isolate"),
    0xFEFF: gettext_lazy("byte order mark"),
    0xFE0F: gettext_lazy("emoji variation selector"),
}

# Reports stored before per-character counts: one name per kind.
_KINDS = {
    "nul": gettext_lazy("NUL character"),
    "control": gettext_lazy("control character"),
    "bidi": gettext_lazy("text-direction control"),
    "zero_width": gettext_lazy("zero-width character"),
    "tag_chars": gettext_lazy("tag character"),
    "variation_selectors": gettext_lazy("variation selector"),
    "invisible": gettext_lazy("invisible character"),
}


def character_name(code_point: int) -> str:
    """What to call a removed character in a sentence ("zero-width space")."""
    if code_point in _NAMES:
        return str(_NAMES[code_point])
    if 0xE0000 <= code_point <= 0xE007F:
        return str(_KINDS["tag_chars"])
    if (0xFE00 <= code_point <= 0xFE0F or 0xE0100 <= code_point <= 0xE01EF
            or 0x180B <= code_point <= 0x180F):
        return str(_KINDS["variation_selectors"])
    if code_point < 0x20 or 0x7F <= code_point <= 0x9F:
        return str(_KINDS["control"])
    name = unicodedata.name(chr(code_point), "")
    return name.lower() if name else str(_KINDS["invisible"])


def _field_label(name: str) -> str:
    label = _FIELDS.get(name)
    return str(label) if label is not None else name.replace("_", " ")


def _removed_counts(report: dict) -> dict[str, int]:
    """Removed characters per name, most frequent first."""
    counts: dict[str, int] = {}
    characters = report.get("characters")
    if isinstance(characters, dict) and characters:
        for key, n in characters.items():
            try:
                name = character_name(int(str(key).removeprefix("U+"), 16))
            except ValueError:
                name = str(key)
            counts[name] = counts.get(name, 0) + int(n)
    else:
        for kind, n in (report.get("removed") or {}).items():
            if n:
                name = str(_KINDS.get(kind, kind.replace("_", " ")))
                counts[name] = counts.get(name, 0) + int(n)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def describe_field(report: dict, name: str | None = None, *, minor: bool = True) -> str:
    """One sentence for one field's report, or "" when sanitization changed nothing.

    ``minor=False`` leaves out line endings and Unicode normalisation: every browser sends
    a text box's lines ending in CR LF, so a save would otherwise always say something.
    """
    if not isinstance(report, dict) or not report.get("changed"):
        return ""
    where = _field_label(name or str(report.get("field", "")))
    clauses = []
    comma = pgettext("between items of a list", ", ")
    removed = _removed_counts(report)
    total = sum(removed.values())
    if total:
        detail = comma.join(f"{label} ×{n}" for label, n in removed.items())
        clauses.append(ngettext(
            "removed %(count)d hidden character (%(detail)s) from %(field)s",
            "removed %(count)d hidden characters (%(detail)s) from %(field)s", total,
        ) % {"count": total, "detail": detail, "field": where})
    tokens = report.get("control_tokens") or {}
    if tokens:
        n = sum(tokens.values())
        clauses.append(ngettext(
            "neutralised %(count)d chat-control token (%(tokens)s) in %(field)s",
            "neutralised %(count)d chat-control tokens (%(tokens)s) in %(field)s", n,
        ) % {"count": n, "tokens": comma.join(sorted(tokens)), "field": where})
    endings = (report.get("line_endings_normalised") or 0) if minor else 0
    if endings:
        clauses.append(ngettext(
            "normalised %(count)d line ending in %(field)s",
            "normalised %(count)d line endings in %(field)s", endings,
        ) % {"count": endings, "field": where})
    if minor and report.get("nfc_normalised"):
        clauses.append(_("composed accents (Unicode NFC) in %(field)s") % {"field": where})
    if not clauses:
        return ""
    sentence = pgettext("between clauses of a sentence", "; ").join(clauses)
    return (sentence[0].upper() + sentence[1:]
            + pgettext("full stop at the end of a sentence", "."))


def describe_report(report, *, minor: bool = True) -> list[str]:
    """One sentence per part of a stored report that sanitization changed (any shape);
    ``minor``: as for :func:`describe_field`."""
    if not isinstance(report, dict):
        return []
    rejected = report.get("rejected")
    if isinstance(rejected, dict):
        return [_("Nothing was sent: %(field)s is %(length)s characters long, over the limit "
                  "of %(max)s.") % {"field": _field_label(str(rejected.get("field", ""))),
                                    "length": f"{rejected.get('length') or 0:,}",
                                    "max": f"{rejected.get('max_length') or 0:,}"}]
    parts: list[tuple[str, dict]] = []
    if isinstance(report.get("fields"), dict) or isinstance(report.get("prompt"), dict):
        parts += list((report.get("fields") or {}).items())
        parts += list((report.get("prompt") or {}).items())
    elif "removed" in report:
        parts.append((str(report.get("field", "")), report))
    else:
        parts += [(k, v) for k, v in report.items() if isinstance(v, dict)]
    sentences = []
    for name, sub in parts:
        if isinstance(sub, dict):
            sentence = describe_field(sub, sub.get("field") or name, minor=minor)
            if sentence:
                sentences.append(sentence)
    return sentences

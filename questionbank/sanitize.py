"""Input sanitization for everything that goes into a prompt: the one place.

Django-free on purpose: the generation pipeline, the template preview and the
tests call it with plain strings and a dict of caps taken from the settings
(``QB_MAX_*``).

What :func:`sanitize_text` does, in this order, and why:

1. Line endings: ``\\r\\n`` and a lone ``\\r`` become ``\\n`` (Windows and old Mac
   paste), as do U+2028/U+2029, so the model sees one kind of newline.
2. Removes characters that are invisible or can reorder what a teacher sees
   compared with what the model reads ("Trojan Source"-style text):

   - NUL (U+0000);
   - other control characters: C0 (U+0001-U+001F) except tab and newline,
     DEL (U+007F) and C1 (U+0080-U+009F);
   - bidirectional embeddings, overrides and isolates (U+202A-U+202E,
     U+2066-U+2069) **and** the directional marks LRM/RLM/ALM (U+200E, U+200F,
     U+061C). The marks are removed too: they are invisible, they change how
     neighbouring text is displayed, and right-to-left text still displays in
     its natural order without them;
   - zero-width and invisible characters: U+200B-U+200D, U+2060-U+2064,
     U+FEFF, U+180E. This also removes the zero-width joiner inside emoji
     sequences (they show as separate emoji), an acceptable cost in a prompt;
   - Unicode "tag" characters (U+E0000-U+E007F), which render as nothing but
     are read by language models: a known way to smuggle hidden instructions.
3. Unicode NFC normalisation, after the removals, so that a combining accent
   separated from its letter by a zero-width character composes properly.
4. Length cap, measured in characters of the cleaned text. Too long raises
   :class:`SanitizationError`; text is never silently truncated.

Every step is counted in the report, a JSON-serialisable dict stored with the
call log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "PLACEHOLDERS",
    "SanitizationError",
    "Sanitized",
    "detect_non_english",
    "render_prompt",
    "sanitize_fields",
    "sanitize_prompt",
    "sanitize_text",
    "template_placeholders",
    "unknown_placeholders",
]


class SanitizationError(ValueError):
    """Input cannot be used in a prompt; ``str(error)`` is written for a teacher."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        length: int | None = None,
        max_length: int | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.length = length
        self.max_length = max_length


@dataclass(frozen=True)
class Sanitized:
    """Clean text plus a JSON-serialisable report of what was changed."""

    text: str
    report: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.report.get("changed"))


_NUL = "\x00"
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060-\u2064\ufeff\u180e]")
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
_LINE_ENDINGS = re.compile("\r\n|\r|\u2028|\u2029")


def _label(field_name: str) -> str:
    return field_name.replace("_", " ").strip().capitalize() or "This field"


def sanitize_text(value: str | None, *, field: str, max_length: int | None) -> Sanitized:
    """Clean one piece of text destined for a prompt and report what changed.

    ``field`` names the field in messages and in the report (``"statement"``,
    ``"system prompt"`` ...). ``max_length`` is the cap in characters of the
    cleaned text (``None``: no cap). Raises :class:`SanitizationError` when the
    cleaned text is longer than the cap, naming the field, its length and the cap.
    ``None`` is treated as the empty string.
    """
    text = "" if value is None else str(value)

    text, line_endings = _LINE_ENDINGS.subn("\n", text)
    nul = text.count(_NUL)
    if nul:
        text = text.replace(_NUL, "")
    text, control = _CONTROL.subn("", text)
    text, bidi = _BIDI.subn("", text)
    text, zero_width = _ZERO_WIDTH.subn("", text)
    text, tag_chars = _TAG_CHARS.subn("", text)
    # is_normalized is a fast C check; most input is already NFC.
    nfc = not unicodedata.is_normalized("NFC", text)
    if nfc:
        text = unicodedata.normalize("NFC", text)

    removed = {
        "nul": nul,
        "control": control,
        "bidi": bidi,
        "zero_width": zero_width,
        "tag_chars": tag_chars,
    }
    report = {
        "field": field,
        "length": len(text),
        "changed": bool(line_endings or nfc or any(removed.values())),
        "nfc_normalised": nfc,
        "line_endings_normalised": line_endings,
        "removed": removed,
    }
    if max_length is not None and len(text) > max_length:
        raise SanitizationError(
            f"{_label(field)} is too long: {len(text):,} characters, and the limit is "
            f"{max_length:,}. Shorten it and try again (nothing was cut off automatically).",
            field=field,
            length=len(text),
            max_length=max_length,
        )
    return Sanitized(text=text, report=report)


def sanitize_fields(
    values: Mapping[str, str | None], caps: Mapping[str, int]
) -> tuple[dict[str, str], dict[str, dict]]:
    """Sanitize every value of ``values`` with the cap ``caps.get(name)``.

    Returns the clean values and a report per field. Raises
    :class:`SanitizationError` for the first field that is too long.
    """
    clean: dict[str, str] = {}
    reports: dict[str, dict] = {}
    for name, value in values.items():
        result = sanitize_text(value, field=name, max_length=caps.get(name))
        clean[name] = result.text
        reports[name] = result.report
    return clean, reports


def sanitize_prompt(
    system: str | None, user: str, caps: Mapping[str, int]
) -> tuple[str, str, dict]:
    """Sanitize a rendered system prompt and user prompt, as sent to the model.

    ``caps`` maps ``"system"`` and ``"user"`` to their caps in characters (a
    missing key means no cap). Returns ``(system_text, user_text, report)`` where
    report is ``{"system": {...}, "user": {...}}``. Raises :class:`SanitizationError`.
    """
    system_result = sanitize_text(system, field="system prompt", max_length=caps.get("system"))
    user_result = sanitize_text(user, field="prompt", max_length=caps.get("user"))
    report = {"system": system_result.report, "user": user_result.report}
    return system_result.text, user_result.text, report


# --- Non-English warning -------------------------------------------------------------------

# Greek letters and mathematical alphanumerics are ordinary in English maths text,
# so they count as neither Latin nor foreign.
_NEUTRAL_RANGES = ((0x0370, 0x03FF), (0x1D400, 0x1D7FF), (0x2100, 0x214F))
_SCRIPT_NAMES = {
    "CJK": "Chinese/Japanese (CJK) characters",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "HANGUL": "Korean",
    "CYRILLIC": "Cyrillic",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
}
NON_ENGLISH_MIN_LETTERS = 3
NON_ENGLISH_MIN_SHARE = 0.2


def _is_latin(cp: int) -> bool:
    # Basic Latin to Latin Extended-B, IPA, and Latin Extended Additional.
    return cp < 0x0300 or 0x1E00 <= cp <= 0x1EFF


def detect_non_english(text: str) -> str | None:
    """Return a warning sentence when much of ``text`` is in a non-Latin script.

    VibeThinker does markedly worse outside English. This only notices
    non-Latin scripts (Chinese, Japanese, Korean, Cyrillic, Arabic, ...): French
    or Spanish written in Latin letters is not detected. Greek letters and
    mathematical symbols do not count. Returns ``None`` when there is nothing to
    warn about.
    """
    latin = 0
    foreign: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        cp = ord(ch)
        if _is_latin(cp):
            latin += 1
            continue
        if any(lo <= cp <= hi for lo, hi in _NEUTRAL_RANGES):
            continue
        script = unicodedata.name(ch, "OTHER").split(" ", 1)[0]
        foreign[script] = foreign.get(script, 0) + 1
    total_foreign = sum(foreign.values())
    if total_foreign < NON_ENGLISH_MIN_LETTERS:
        return None
    if total_foreign / (total_foreign + latin) < NON_ENGLISH_MIN_SHARE:
        return None
    main_script = max(foreign, key=foreign.__getitem__)
    script_name = _SCRIPT_NAMES.get(main_script, "a non-Latin script")
    return (
        f"This text is largely written in {script_name}. The model works markedly better "
        "in English: consider translating the problem before generating solutions."
    )


# --- Placeholders --------------------------------------------------------------------------

PLACEHOLDERS: dict[str, str] = {
    "title": "The problem's title.",
    "statement": "The full problem statement (Markdown with LaTeX).",
    "kind": "The kind of problem: maths or programming.",
    "difficulty": "The problem's difficulty.",
    "tags": "The problem's tags, separated by commas.",
    "language": "The language the problem is written in (an ISO code such as en).",
    "source": "Where the problem comes from (book, contest, teacher).",
    "test_cases": "For programming problems, the example tests (input and expected output).",
}
"""Names a prompt template may use, with a description for the template editor.

The reference answer is deliberately *not* offered: a model shown the answer
copies it, and the answer check before review (agrees / disagrees) would then
measure nothing.
"""

# A placeholder is ``{identifier}`` not preceded by a word character, ``}``, ``]``,
# ``^``, ``_`` or ``\``; that rule keeps LaTeX such as ``\boxed{x}``, ``\frac{a}{b}``,
# ``x^{n}``, ``a_{i}``, ``\sqrt[3]{x}`` and ``\text{answer}`` literal.
# ``{{identifier}}`` (same rule) is the escape for a literal ``{identifier}``. Only that
# exact form is an escape: a general ``}}`` escape would eat braces in ``\sqrt{\frac{a}{b}}``.
_PLACEHOLDER = re.compile(
    r"(?<![\w}\]^_\\])"
    r"(?:\{\{(?P<escaped>[A-Za-z_][A-Za-z0-9_]*)\}\}|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\})"
)


def template_placeholders(template_text: str) -> list[str]:
    """Placeholder names used in ``template_text``, in order of first use, without repeats.

    See :func:`render_prompt` for what counts as a placeholder.
    """
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(template_text):
        if match["name"] is not None:
            seen.setdefault(match["name"], None)
    return list(seen)


def unknown_placeholders(template_text: str) -> list[str]:
    """Placeholder names in ``template_text`` that are not in :data:`PLACEHOLDERS`."""
    return [name for name in template_placeholders(template_text) if name not in PLACEHOLDERS]


def render_prompt(template_text: str, values: Mapping[str, str]) -> str:
    """Substitute ``{name}`` placeholders in ``template_text`` in one pass.

    Rules:

    - A placeholder is ``{identifier}`` **not** preceded by a word character,
      ``}``, ``]``, ``^``, ``_`` or ``\\``, so LaTeX in a template (``\\boxed{}``,
      ``\\frac{a}{b}``, ``x^{n}``, ``\\text{answer}``, ``\\sqrt[3]{x}``) stays literal.
    - ``{{name}}`` produces a literal ``{name}``.
    - Substituted values are never scanned again, and ``str.format`` is never
      used: a statement containing ``{system}``, ``{statement}`` or
      ``{0.__class__}`` reaches the model exactly as written.
    - A name that is neither in ``values`` nor in :data:`PLACEHOLDERS` is left
      as written (template forms report it with :func:`unknown_placeholders`).
    - A name in :data:`PLACEHOLDERS` but missing from ``values`` raises
      ``KeyError``: that is a bug in the caller, not something to send to a model.
    """

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"] is not None:
            return "{" + match["escaped"] + "}"
        name = match["name"]
        if name in values:
            return str(values[name])
        if name in PLACEHOLDERS:
            raise KeyError(f"no value given for the prompt placeholder {{{name}}}")
        return match.group(0)

    return _PLACEHOLDER.sub(substitute, template_text)

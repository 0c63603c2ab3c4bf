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
     are read by language models: a known way to smuggle hidden instructions;
   - variation selectors (U+FE00-U+FE0F, U+E0100-U+E01EF, and the Mongolian
     free variation selectors U+180B-U+180D, U+180F). Decided: **all** of them
     go, including U+FE0F after an emoji. They only choose a glyph (emoji or
     text style, a CJK ideograph variant), so the text means the same without
     them, while a run of them encodes arbitrary bytes invisibly (the "emoji
     smuggling" trick: 19 selectors after one character spelling a sentence).
     "❤️" becomes "❤", which may show in text style: a cosmetic cost;
   - other invisible characters, "invisible" in the report: the soft hyphen
     U+00AD, the combining grapheme joiner U+034F, the Hangul fillers U+115F,
     U+1160, U+3164, U+FFA0, the Khmer inherent vowels U+17B4/U+17B5, the
     deprecated format characters U+206A-U+206F, the interlinear annotation
     marks U+FFF9-U+FFFB, the shorthand format controls U+1BCA0-U+1BCA3, the
     musical format characters U+1D173-U+1D17A and the unassigned rest of the
     default-ignorable plane-14 block (U+E0080-U+E00FF, U+E01F0-U+E0FFF).
3. Unicode NFC normalisation, after the removals, so that a combining accent
   separated from its letter by a zero-width character composes properly.
4. Chat-template control tokens are neutralised (after the removals, so a
   zero-width space inside ``<|im_start|>`` does not hide one): a tokenizer
   reads ``<|im_start|>`` as a control token and a statement could open a new
   "system" turn. The token keeps its name and loses its delimiters, which
   become broken bars: ``<|im_end|>`` -> ``<¦im_end¦>``, ``[INST]`` ->
   ``[¦INST¦]``, ``<<SYS>>`` -> ``<¦SYS¦>``. Neutralised: every ``<|name|>``
   (Qwen/ChatML ``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``, Llama 3
   ``<|begin_of_text|>``, ``<|start_header_id|>``, ``<|eot_id|>``, Phi, GPT
   ``<|…|>``) and DeepSeek's full-width ``<｜name｜>``, where the name is at
   least two characters starting with a letter or underscore (``0<|x|>1`` in
   maths stays); Llama 2 / Mistral ``[INST]``, ``[/INST]``, ``<<SYS>>``,
   ``<</SYS>>``; Gemma ``<start_of_turn>``, ``<end_of_turn>``. Left alone on
   purpose: ``<s>`` and ``</s>`` (control tokens only to Llama 2-era
   SentencePiece vocabularies, not to Qwen2.5 on which VibeThinker is built, and
   ordinary in HTML strikethrough and in code such as ``vector<s>``) and
   ``<think>`` (plain text to VibeThinker's tokenizer).
5. Length cap, measured in characters of the cleaned text. Too long raises
   :class:`SanitizationError`; text is never silently truncated.

Every step is counted in the report, a JSON-serialisable dict stored with the
call log: ``removed`` counts per kind, ``characters`` counts per removed code
point (``{"U+200B": 2}``) so a page can name them, and ``control_tokens`` counts
per neutralised token as written (``{"<|im_start|>": 1}``).
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
    "BROKEN_BAR",
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
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f]")
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\u206a-\u206f\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0080-\U000e00ff\U000e01f0-\U000e0fff]"
)
_LINE_ENDINGS = re.compile("\r\n|\r|\u2028|\u2029")
# What is removed, in this order, under its name in the report.
_REMOVALS = (
    ("nul", re.compile(_NUL)),
    ("control", _CONTROL),
    ("bidi", _BIDI),
    ("zero_width", _ZERO_WIDTH),
    ("tag_chars", _TAG_CHARS),
    ("variation_selectors", _VARIATION_SELECTORS),
    ("invisible", _INVISIBLE),
)
# Chat-template control tokens; each alternative's group ``nN`` is the token's name.
_CONTROL_TOKENS = re.compile(
    r"<[|｜](?P<n1>[A-Za-z_][\w.:\-\u2581]+)[|｜]>"
    r"|\[(?P<n2>/?INST)\]"
    r"|<<(?P<n3>/?SYS)>>"
    r"|<(?P<n4>start_of_turn|end_of_turn)>"
)
_BRACKETS = {"<": ">", "[": "]"}
BROKEN_BAR = "\u00a6"


def _neutralise(match: re.Match[str]) -> str:
    """``<|im_end|>`` -> ``<¦im_end¦>``: the name stays readable, the token is gone."""
    name = next(value for value in match.groups() if value is not None)
    opening = match.group(0)[0]
    return f"{opening}{BROKEN_BAR}{name}{BROKEN_BAR}{_BRACKETS[opening]}"


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
    removed: dict[str, int] = {}
    characters: dict[str, int] = {}
    for kind, pattern in _REMOVALS:
        found = pattern.findall(text)
        removed[kind] = len(found)
        if found:
            text = pattern.sub("", text)
            for ch in found:
                key = f"U+{ord(ch):04X}"
                characters[key] = characters.get(key, 0) + 1
    # is_normalized is a fast C check; most input is already NFC.
    nfc = not unicodedata.is_normalized("NFC", text)
    if nfc:
        text = unicodedata.normalize("NFC", text)
    tokens: dict[str, int] = {}
    for match in _CONTROL_TOKENS.finditer(text):
        tokens[match.group(0)] = tokens.get(match.group(0), 0) + 1
    if tokens:
        text = _CONTROL_TOKENS.sub(_neutralise, text)

    report = {
        "field": field,
        "length": len(text),
        "changed": bool(line_endings or nfc or characters or tokens),
        "nfc_normalised": nfc,
        "line_endings_normalised": line_endings,
        "removed": removed,
        "characters": characters,
        "control_tokens": tokens,
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

"""Shared pieces of the import/export formats: the plain data the parsers return,
the file-level refusal, decoding bytes to text and checking one problem's fields.

Django-free on purpose (like ``questionbank.webui``): parsers are tested with plain
strings and never touch the database. The services in
``questionbank.services.interchange`` turn their output into rows.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext, gettext_noop, ngettext

# Mirrors Problem.Kind / Problem.Difficulty (a test keeps them in step with the model).
KINDS = ("maths", "programming")
KIND_ALIASES = {
    "maths": "maths", "math": "maths", "mathematics": "maths",
    "programming": "programming", "code": "programming", "coding": "programming",
}
DIFFICULTIES = {1: "introductory", 2: "easy", 3: "medium", 4: "hard", 5: "olympiad"}
STATUSES = ("draft", "ready", "archived")
MAX_TITLE = 300
MAX_SOURCE = 200
MAX_EXTERNAL_ID = 200
MAX_LANGUAGE = 16
MAX_TAG = 100

FORMATS = {
    "moodle": "Moodle XML",
    "gift": "GIFT",
    "csv": "CSV",
    "json": "JSON",
}


class FileRefused(ValueError):
    """The whole file cannot be read; ``str(error)`` is a sentence for a teacher."""


@dataclass
class ProblemData:
    """One problem read from a file. ``None`` means "the file does not say": on an
    update the existing value is kept; on a create the model default is used."""

    number: int
    label: str
    title: str = ""
    statement: str = ""
    kind: str | None = None
    reference_answer: str | None = None
    test_cases: list | None = None
    tags: list[str] = field(default_factory=list)
    difficulty: int | None = None
    source: str | None = None
    language: str | None = None
    external_id: str = ""
    status: str | None = None
    # Moodle's general feedback / a "solution" column: a worked solution in Markdown.
    solution: str = ""
    # Moodle's category path ("Algebra/Quadratics"): idnumbers are unique only inside one.
    category: str = ""
    # The Moodle question type read from the file (essay, shortanswer, numerical,
    # description); None for CSV and JSON, which have no such notion.
    question_type: str | None = None
    # Other answers worth full marks (a short answer's ``=four =4``): kept beside the
    # reference answer and accepted by the answer check.
    accepted_answers: list[str] | None = None
    warnings: list[str] = field(default_factory=list)

    def problem_fields(self) -> dict:
        """The Problem fields this row sets: title and statement always; the rest only when
        the file gives a value. An absent *or empty* value never overwrites what the bank
        has (a reference answer or test cases added in the app survive a re-import)."""
        fields = {"title": self.title, "statement": self.statement}
        for name in ("kind", "difficulty", "source", "language", "status"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        for name in ("reference_answer", "test_cases", "accepted_answers"):
            value = getattr(self, name)
            if value:
                fields[name] = value
        if self.external_id:
            fields["external_id"] = self.external_id
        if self.category:
            fields["external_category"] = self.category
        if self.question_type:
            # Only a description needs remembering (it exports back as one); other types
            # follow from the reference answer.
            fields["external_type"] = "description" if self.question_type == "description" \
                else ""
        return fields


@dataclass
class RowError:
    """A row (CSV line, JSON item, Moodle question, GIFT question) that cannot be imported."""

    number: int
    label: str
    reason: str
    title: str = ""


@dataclass
class ParseResult:
    format: str
    encoding: str = "utf-8"
    problems: list[ProblemData] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # File-level remarks for the teacher (the encoding that was guessed, ...).
    notes: list[str] = field(default_factory=list)
    # Languages of the file's multi-language text, and the one kept (None: no such text).
    languages: list[str] = field(default_factory=list)
    language: str | None = None

    @property
    def encoding_label(self) -> str:
        return encoding_label(self.encoding)


# --- Bytes to text -----------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Single-byte code pages for Latin-script text. When the detector's best guess is one of
# these (short French text easily looks Baltic or Central European to it), Windows-1252
# is used if it can decode the bytes: it is what spreadsheets in Western Europe write.
_LATIN_SCRIPT = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4",
    "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16",
    "mac_latin2", "mac_roman", "mac_iceland", "mac_turkish", "cp437", "cp850", "cp858",
})
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)",
    "utf_16_le": "UTF-16 (little-endian, no byte-order mark)",
    "utf_16_be": "UTF-16 (big-endian, no byte-order mark)",
}


def decode_bytes(data: bytes) -> tuple[str, str, str | None]:
    """Text, the encoding used, and a note for the teacher when it was not UTF-8.

    UTF-8 (with or without BOM) and UTF-16/32 with a BOM are read as they are; an XML
    file that declares its encoding is read in it. Anything else is legacy text, and
    **Windows-1252** is the fallback whenever it reads the bytes as Western text (no
    control characters, accented letters a minority of the letters): that is what Excel
    and old Moodle installations on Windows write, and a detector easily mistakes short
    French or German text for a Baltic code page (``ü`` read as cp775 gives ``f³r``).
    Only text that Windows-1252 cannot explain (Cyrillic, Greek, UTF-16 without a BOM)
    is given to charset-normalizer. The teacher is told which encoding was used. Bytes
    no encoding explains (binary files, a PDF, a spreadsheet) are refused.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", ""), None
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(data[:200])
    if declared:
        # An XML file that names its encoding is read in it (Moodle's own exports are UTF-8).
        name = declared[1].decode("ascii").lower()
        try:
            return data.decode(name), codecs.lookup(name).name, None
        except (LookupError, UnicodeDecodeError):
            pass
    if data.startswith(b"PK\x03\x04"):
        raise FileRefused(gettext("This looks like a spreadsheet or other zipped file (.xlsx, "
                                  ".ods, .zip). Save the sheet as “CSV UTF-8” and upload that "
                                  "instead."))
    chosen = "cp1252" if _reads_as_western(data) else _detect(data)
    try:
        text = data.decode(chosen)
    except (UnicodeDecodeError, LookupError):
        raise FileRefused(gettext(_BINARY)) from None
    note = gettext("The file is not UTF-8; it was read as %(encoding)s. Check that accented "
                   "letters look right in the preview; if they do not, save the file as UTF-8 "
                   "and upload it again.") % {"encoding": encoding_label(chosen)}
    return text, chosen, note


def encoding_label(name: str) -> str:
    """A teacher's name for a Python codec name (``cp1252`` -> ``Windows-1252 (...)``)."""
    return _ENCODING_NAMES.get(name, name.upper().replace("_", "-"))


_NON_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\x81\x8d\x8f\x90\x9d]")


def _reads_as_western(data: bytes) -> bool:
    """Whether Windows-1252 reads ``data`` as plausible Western-European text.

    Cyrillic or Greek code pages also decode as Windows-1252, but then nearly every
    letter is an accented one (``Ðåøèòå``); in French or German text accented letters
    are a small minority.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    if _NON_TEXT.search(text):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    accented = sum(1 for ch in letters if ord(ch) > 127)
    return not letters or accented <= 0.3 * len(letters)


def _detect(data: bytes) -> str:
    """charset-normalizer's best guess, Windows-1252 for any Latin-script guess."""
    from charset_normalizer import from_bytes  # a heavy import, needed only for legacy files

    names = [m.encoding for m in from_bytes(data)]
    if not names:
        raise FileRefused(gettext(_BINARY))
    chosen = names[0]
    if chosen in _LATIN_SCRIPT:
        try:
            data.decode("cp1252")
            chosen = "cp1252"
        except UnicodeDecodeError:
            pass
    if not chosen.startswith(("utf_16", "utf_32")) and b"\x00" in data:
        raise FileRefused(gettext(_BINARY))
    return chosen


_BINARY = gettext_noop(
    "The file is not text this importer can read (its encoding could not be recognised). "
    "Save it as UTF-8 text — Moodle XML, GIFT, CSV or JSON — and upload it again.")


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise FileRefused(size_message(len(data), max_bytes))


def size_message(size: int, max_bytes: int) -> str:
    """The refusal of a file over the limit, naming the setting that raises it."""
    return gettext(
        "The file is %(size)s, over the %(limit)s import limit. Split it into smaller files "
        "and import them one after the other (a Moodle export with images is often this "
        "large: export without them, or a category at a time), or ask the administrator to "
        "raise the QB_IMPORT_MAX_BYTES setting."
    ) % {"size": _size(size), "limit": _size(max_bytes)}


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return ngettext("%(n)d byte", "%(n)d bytes", n) % {"n": n}


# --- Cleaning and checking fields --------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value) -> str:
    """Newlines made uniform, control characters removed, outer whitespace stripped."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def one_line(value) -> str:
    return " ".join(clean_text(value).split())


def parse_kind(value) -> str:
    key = one_line(value).lower()
    if key not in KIND_ALIASES:
        raise ValueError(gettext("kind “%(value)s” is not one of: maths, programming")
                         % {"value": one_line(value)})
    return KIND_ALIASES[key]


def parse_difficulty(value) -> int:
    text = one_line(value).lower()
    if text.isascii() and text.isdigit() and int(text) in DIFFICULTIES:  # not "²"
        return int(text)
    for number, name in DIFFICULTIES.items():
        if text == name:
            return number
    raise ValueError(gettext("difficulty “%(value)s” is not 1–5 or one of: %(names)s")
                     % {"value": one_line(value), "names": ", ".join(DIFFICULTIES.values())})


def parse_status(value) -> str:
    text = one_line(value).lower()
    if text not in STATUSES:
        raise ValueError(gettext("status “%(value)s” is not one of: %(names)s")
                         % {"value": one_line(value), "names": ", ".join(STATUSES)})
    return text


def parse_test_cases(value) -> list:
    """A list of {"input": ..., "output": ...}; a JSON string is accepted (CSV cells)."""

    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(gettext("The test cases (test_cases) are not valid JSON "
                                     "(%(error)s at character %(position)s)")
                             % {"error": exc.msg, "position": exc.pos + 1}) from None
    if not isinstance(value, list) or not all(
        isinstance(case, dict) and "input" in case and "output" in case for case in value
    ):
        raise ValueError(gettext('The test cases (test_cases) must be a list of '
                                 '{"input": ..., "output": ...} objects'))
    return value


def parse_accepted(raw) -> list[str]:
    """Accepted alternative answers from a JSON list (our extension element and columns)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            raise ValueError(gettext("accepted answers are not a JSON list of texts")) from None
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ValueError(gettext('accepted answers must be a list of texts, e.g. ["4", "four"]'))
    return [a.strip() for a in raw if a.strip()]


def split_tags(value) -> list[str]:
    """Tags from a list, or from one cell separated by ``;`` (or by ``,`` when no ``;``)."""
    if isinstance(value, list):
        items = value
    else:
        text = clean_text(value)
        items = text.split(";") if ";" in text else text.split(",")
    seen, tags = set(), []
    for item in items:
        name = one_line(item)[:MAX_TAG]
        if name and name.lower() not in seen:
            seen.add(name.lower())
            tags.append(name)
    return tags


_TITLE_NOISE = re.compile(r"\\[()\[\]]|\$+|[*_`#>]")


def title_from_statement(statement: str) -> str:
    """A title for rows that have none: the statement's first line, shortened."""
    first = next((line for line in statement.splitlines() if line.strip()), "")
    text = " ".join(_TITLE_NOISE.sub("", first).split())
    return text if len(text) <= 80 else text[:79].rstrip() + "…"


def finish(problem: ProblemData) -> str | None:
    """Clean a parsed problem in place; the reason it cannot be imported, or None."""
    problem.statement = clean_text(problem.statement)
    problem.title = one_line(problem.title)
    problem.external_id = one_line(problem.external_id)
    problem.solution = clean_text(problem.solution)
    if problem.reference_answer is not None:
        problem.reference_answer = clean_text(problem.reference_answer)
    for name in ("source", "language"):
        if getattr(problem, name) is not None:
            setattr(problem, name, one_line(getattr(problem, name)))
    if not problem.statement:
        return gettext("the statement is empty; every problem needs one")
    if not problem.title:
        problem.title = title_from_statement(problem.statement) or gettext("Untitled problem")
    limits = (("title", MAX_TITLE), ("source", MAX_SOURCE), ("external_id", MAX_EXTERNAL_ID),
              ("language", MAX_LANGUAGE))
    for name, limit in limits:
        value = getattr(problem, name) or ""
        if len(value) > limit:
            return gettext("%(field)s is %(length)s characters long; the limit is %(limit)s") % {
                "field": name, "length": len(value), "limit": limit}
    return None

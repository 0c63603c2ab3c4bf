"""Import and export formats (Moodle XML, GIFT, CSV, JSON): pure, Django-free code.

``parse_file`` turns uploaded bytes into :class:`ProblemData` rows and :class:`RowError`
reasons; ``write`` turns ProblemData into a file's text. Nothing here touches the
database: ``questionbank.services.interchange`` plans and applies imports and builds
exports. The formats are documented in docs/import-formats.md.
"""

from __future__ import annotations

import dataclasses

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from questionbank.validation import clean_data

from . import gift, moodle_xml, multilang, tabular
from .base import FORMATS as FORMATS
from .base import FileRefused as FileRefused
from .base import ParseResult as ParseResult
from .base import ProblemData as ProblemData
from .base import RowError as RowError
from .base import check_size, decode_bytes
from .base import encoding_label as encoding_label
from .base import size_message as size_message
from .html_markdown import html_to_markdown as html_to_markdown
from .html_markdown import markdown_to_html as markdown_to_html

EXTENSIONS = {"xml": "moodle", "gift": "gift", "txt": "gift", "csv": "csv", "tsv": "csv",
              "json": "json"}
CONTENT_TYPES = {
    "moodle": ("application/xml; charset=utf-8", "xml"),
    "gift": ("text/plain; charset=utf-8", "gift.txt"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json; charset=utf-8", "json"),
}


def detect_format(filename: str, text: str) -> str | None:
    """The format from the file name's extension, else from the first characters."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    head = text.lstrip("\ufeff \t\r\n")[:200]
    if head.startswith("<"):
        return "moodle"
    if head.startswith(("[", "{")):
        return "json"
    if head.startswith(("::", "//", "$CATEGORY")):
        return "gift"
    return None


def parse_file(data: bytes, *, filename: str = "", format: str | None = None,
               max_bytes: int, language: str | None = None,
               site_language: str = "en") -> ParseResult:
    """Read an uploaded file; raise :class:`FileRefused` when the whole file is unusable.

    Row problems do not raise: they are returned in ``result.errors`` with their line,
    item or question number. Multi-language text (Moodle's multilang spans and
    ``{mlang}`` blocks) keeps one language: ``language`` when the file has it, else
    ``site_language``, else the file's first; ``result.languages`` lists the file's.
    """
    check_size(data, max_bytes)
    if not data.strip():
        raise FileRefused(gettext("The file is empty."))
    text, encoding, note = decode_bytes(data)
    fmt = format or detect_format(filename, text)
    if fmt not in FORMATS:
        raise FileRefused(gettext(
            "The file's format could not be recognised from its name or content. Choose "
            "the format (Moodle XML, GIFT, CSV or JSON) and upload it again."
        ))
    parser = {"moodle": moodle_xml.parse, "gift": gift.parse, "csv": tabular.parse_csv,
              "json": tabular.parse_json}[fmt]
    languages = multilang.languages(text)
    chosen = multilang.choose(languages, requested=language, site=site_language)
    result = parser(text, language=chosen)
    result.languages, result.language = languages, chosen
    if len(languages) > 1:
        result.notes.append(gettext(
            "The file has text in several languages (%(languages)s); only “%(chosen)s” was "
            "kept (where a text is not translated into it, the text's first language is "
            "kept). Choose another language to import the others instead."
        ) % {"languages": ", ".join(languages), "chosen": chosen})
    for problem in result.problems:
        if chosen and problem.language is None:
            problem.language = chosen
    # JSON escapes can smuggle in NUL or lone surrogates, which no database stores.
    for problem in result.problems:
        try:
            clean_data(dataclasses.asdict(problem), label=problem.label)
        except ValidationError as exc:
            raise FileRefused(gettext("%(error)s Fix it in the file and upload it again.")
                              % {"error": exc.messages[0]}) from None
    result.encoding = encoding
    if note:
        result.notes.insert(0, note)
    _mark_duplicates(result)
    return result


def _mark_duplicates(result: ParseResult) -> None:
    """A second row with the same external id, or the same title and statement, as an
    earlier row in the same file is reported rather than imported twice."""
    seen_ids: dict[tuple, ProblemData] = {}
    seen_text: dict[tuple, ProblemData] = {}
    kept = []
    for problem in result.problems:
        key = (problem.kind or "maths", problem.title.strip(), problem.statement.strip())
        # Moodle idnumbers are unique within a category only: "plant" may be used in two.
        id_key = (problem.category, problem.external_id)
        earlier = (seen_ids.get(id_key) if problem.external_id else None) \
            or seen_text.get(key)
        if earlier is not None:
            if problem.external_id and problem.external_id == earlier.external_id:
                reason = gettext("duplicate of %(row)s (same external id); only the first is "
                                 "imported")
            else:
                reason = gettext("duplicate of %(row)s (same title and statement); only the "
                                 "first is imported")
            result.errors.append(RowError(
                problem.number, problem.label, reason % {"row": earlier.label.lower()},
                problem.title,
            ))
            continue
        if problem.external_id:
            seen_ids[id_key] = problem
        seen_text[key] = problem
        kept.append(problem)
    result.problems = kept
    result.errors.sort(key=lambda e: e.number)


def write(problems: list[ProblemData], *, format: str) -> str:
    """The text of an export file in ``format`` (one of :data:`FORMATS`)."""
    writer = {"moodle": moodle_xml.write, "gift": gift.write, "csv": tabular.write_csv,
              "json": tabular.write_json}.get(format)
    if writer is None:
        raise ValueError(f"Unknown export format {format!r}; use one of {', '.join(FORMATS)}.")
    return writer(problems)

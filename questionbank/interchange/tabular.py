"""CSV and JSON: one problem per row / per object, columns documented in
docs/import-formats.md.

CSV: a header row is required; comma, semicolon and tab delimiters are recognised;
column names are matched case-insensitively and a few common aliases are accepted
(``question`` for ``statement``, ``answer`` for ``reference_answer``, ``id`` for
``external_id``). Errors name the file line the row starts on.

JSON: a list of objects, or ``{"problems": [...]}`` as written by the export. Errors
name the item's position (1-based).
"""

from __future__ import annotations

import csv
import io
import json

from django.utils.translation import gettext

from .base import (
    FileRefused,
    ParseResult,
    ProblemData,
    RowError,
    finish,
    parse_accepted,
    parse_difficulty,
    parse_kind,
    parse_status,
    parse_test_cases,
    split_tags,
)
from .multilang import keep as keep_language

COLUMNS = ("external_id", "title", "kind", "statement", "reference_answer", "solution",
           "tags", "difficulty", "source", "language", "status", "test_cases",
           "accepted_answers")
# The header our export wrote before accepted_answers existed: still recognised as ours.
_OLD_EXPORT_HEADER = COLUMNS[:-1]
ALIASES = {
    "id": "external_id", "externalid": "external_id", "idnumber": "external_id",
    "name": "title", "question": "statement", "text": "statement", "questiontext": "statement",
    "answer": "reference_answer", "referenceanswer": "reference_answer",
    "final_answer": "reference_answer", "correct_answer": "reference_answer",
    "explanation": "solution", "feedback": "solution", "general_feedback": "solution",
    "generalfeedback": "solution", "tag": "tags", "category": "tags", "lang": "language",
    "type": "kind", "testcases": "test_cases", "acceptedanswers": "accepted_answers",
    "alternatives": "accepted_answers", "other_answers": "accepted_answers",
}


def _column(name: str) -> str | None:
    key = "_".join(str(name or "").strip().lower().replace("-", " ").split())
    if key in COLUMNS:
        return key
    return ALIASES.get(key) or ALIASES.get(key.replace("_", ""))


def _problem_from_mapping(number: int, label: str, row: dict,
                          language: str | None = None) -> ProblemData:
    """A ProblemData from column -> value (ValueError with the reason when a value is bad).
    A blank cell gives no value: it never blanks what the bank already has."""
    problem = ProblemData(number=number, label=label)
    for name, value in row.items():
        if value is None:
            continue
        is_blank = isinstance(value, str) and not value.strip()
        if name in ("title", "statement", "solution", "external_id"):
            if not isinstance(value, str):
                if name == "external_id" and isinstance(value, int):
                    value = str(value)
                else:
                    raise ValueError(gettext("%(field)s must be text") % {"field": name})
            setattr(problem, name, keep_language(value, language))
        elif name == "reference_answer":
            if not is_blank:
                problem.reference_answer = keep_language(
                    value if isinstance(value, str) else json.dumps(value), language)
        elif name == "accepted_answers":
            if not is_blank:
                problem.accepted_answers = _accepted(value)
        elif name in ("source", "language"):
            if not isinstance(value, str):
                raise ValueError(gettext("%(field)s must be text") % {"field": name})
            if not is_blank:
                setattr(problem, name, value)
        elif name == "tags":
            if not isinstance(value, (str, list)):
                raise ValueError(gettext("tags must be text separated by ; or a list"))
            problem.tags = split_tags(value)
        elif is_blank:
            continue
        elif name == "kind":
            problem.kind = parse_kind(value)
        elif name == "difficulty":
            problem.difficulty = parse_difficulty(str(value))
        elif name == "status":
            problem.status = parse_status(value)
        elif name == "test_cases":
            problem.test_cases = parse_test_cases(value)
    return problem


def _accepted(value) -> list[str]:
    """A JSON list (as the export writes) or answers separated by ``;``."""
    if isinstance(value, str) and not value.lstrip().startswith("["):
        return [a for a in (" ".join(part.split()) for part in value.split(";")) if a]
    return parse_accepted(value)


def _line(number: int) -> str:
    return gettext("Line %(number)s") % {"number": number}


def parse_csv(text: str, *, language: str | None = None) -> ParseResult:
    result = ParseResult(format="csv")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise FileRefused(gettext("The CSV file is empty. It needs a header row (for example "
                                  "title,statement,reference_answer) and one row per "
                                  "problem."))
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample.splitlines()[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # Only the delimiter is guessed (from the header); quoting is always Excel's.
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileRefused(gettext("The CSV header row cannot be read (%(error)s).")
                          % {"error": exc}) from None
    columns = [_column(name) for name in header]
    if "statement" not in columns:
        raise FileRefused(gettext(
            "The CSV header has no statement column (found: %(found)s). Name the column "
            "holding the problem text “statement” (or “question”)."
        ) % {"found": ", ".join(h.strip() or gettext("(blank)") for h in header)})
    # Only our own export guards formula-like cells with an apostrophe (see _defuse); in
    # any other file a leading apostrophe is the teacher's text and is kept.
    ours = tuple(h.strip() for h in header) in (COLUMNS, _OLD_EXPORT_HEADER)
    unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if unknown:
        result.notes.append(gettext("These columns were ignored: %(ignored)s. Known columns: "
                                    "%(known)s.") % {"ignored": ", ".join(unknown),
                                                     "known": ", ".join(COLUMNS)})
    number = 0
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            reason = gettext("the row cannot be read as CSV (%(error)s); nothing after it was "
                             "read") % {"error": exc}
            if "field larger than field limit" in str(exc):
                reason = gettext("a cell is longer than %(limit)s characters; nothing after it "
                                 "was read") % {"limit": f"{csv.field_size_limit():,}"}
            result.errors.append(RowError(number, _line(start_line), reason))
            break
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        label = _line(start_line)
        if len(cells) > len(header):
            extra = cells[len(header):]
            if any(cell.strip() for cell in extra):
                result.errors.append(RowError(
                    number, label,
                    gettext("the row has %(cells)s cells but the header has %(columns)s "
                            "columns; put text containing the delimiter in double quotes")
                    % {"cells": len(cells), "columns": len(header)},
                ))
                continue
        row = {}
        for column, cell in zip(columns, cells, strict=False):
            if column and column not in row:
                row[column] = _undefuse(cell) if ours else cell
        _add(result, number, label, row, language)
    if number == 0:
        result.notes.append(gettext("The file has a header row but no problems."))
    return result


def parse_json(text: str, *, language: str | None = None) -> ParseResult:
    result = ParseResult(format="json")
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise FileRefused(gettext("The file is not valid JSON (line %(line)s, column "
                                  "%(column)s: %(error)s).")
                          % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}) from None
    except RecursionError:
        raise FileRefused(gettext("The JSON file is nested too deeply to be a list of "
                                  "problems.")) from None
    if isinstance(data, dict) and isinstance(data.get("problems"), list):
        items = data["problems"]
    elif isinstance(data, list):
        items = data
    else:
        raise FileRefused(gettext('The JSON file must be a list of problems, or an object '
                                  'with a "problems" list, as the export writes.'))
    for number, item in enumerate(items, start=1):
        label = gettext("Item %(number)s") % {"number": number}
        if not isinstance(item, dict):
            result.errors.append(RowError(number, label, gettext("the item is not an object")))
            continue
        row = {}
        for key, value in item.items():
            column = _column(key)
            if column and column not in row:
                row[column] = value
        _add(result, number, label, row, language)
    if not items:
        result.notes.append(gettext("The file contains no problems."))
    return result


def _add(result: ParseResult, number: int, label: str, row: dict,
         language: str | None) -> None:
    title = str(row.get("title") or "")
    try:
        problem = _problem_from_mapping(number, label, row, language)
    except ValueError as exc:
        result.errors.append(RowError(number, label, str(exc), title))
        return
    reason = finish(problem)
    if reason:
        result.errors.append(RowError(number, label, reason, title))
        return
    result.problems.append(problem)


# --- Writing -----------------------------------------------------------------------------


def _record(problem: ProblemData) -> dict:
    return {
        "external_id": problem.external_id,
        "title": problem.title,
        "kind": problem.kind or "maths",
        "statement": problem.statement,
        "reference_answer": problem.reference_answer or "",
        "solution": problem.solution,
        "tags": list(problem.tags),
        "difficulty": problem.difficulty or 3,
        "source": problem.source or "",
        "language": problem.language or "en",
        "status": problem.status or "draft",
        "test_cases": problem.test_cases or [],
        "accepted_answers": list(problem.accepted_answers or []),
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(cell: str) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula ("CSV injection"): such
    cells get a leading apostrophe, which the importer removes again from our own export
    (recognised by its header). A cell that already starts with apostrophes before such a
    character (``'=' is the assignment operator``) gets one more, so that removing one
    gives it back exactly. Plain numbers such as -3 are left alone."""
    if cell.lstrip("'").startswith(_FORMULA_START) and not _is_plain_number(cell):
        return "'" + cell
    return cell


def _undefuse(cell: str) -> str:
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv(problems: list[ProblemData]) -> str:
    """CSV with every column; formula-like cells are defused (see ``_defuse``)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for problem in problems:
        record = _record(problem)
        record["tags"] = "; ".join(record["tags"])
        record["test_cases"] = json.dumps(record["test_cases"], ensure_ascii=False) \
            if record["test_cases"] else ""
        record["accepted_answers"] = json.dumps(record["accepted_answers"],
                                                ensure_ascii=False) \
            if record["accepted_answers"] else ""
        writer.writerow([_defuse(str(record[name])) for name in COLUMNS])
    return buffer.getvalue()


def write_json(problems: list[ProblemData]) -> str:
    document = {"format": "questionbank", "version": 1,
                "problems": [_record(problem) for problem in problems]}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

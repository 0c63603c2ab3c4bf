"""Moodle XML (the format of Moodle's question bank export/import).

Read: ``essay``, ``shortanswer``, ``numerical`` and ``description`` questions; a
``category`` pseudo-question turns into a tag for the questions after it
(``$course$/top/Algebra/Quadratics`` -> ``Algebra/Quadratics``); ``<tags>`` become tags
too; ``<idnumber>`` is the external id; the general feedback is the worked solution.
Other types (multichoice, truefalse, matching, cloze, ...) are reported, not imported.

Written: one ``<question>`` per problem; the reference answer becomes the correct answer
(``numerical`` when it is a plain number, ``shortanswer`` otherwise, ``essay`` when there
is none or the problem is a programming one) and the published solution the general
feedback. A ``<questionbank>`` element carries what Moodle has no place for (kind,
difficulty, language, source, test cases, and the Markdown source); Moodle ignores
elements it does not know, and our importer prefers it, so an export imports back
exactly.

Parsed with defusedxml: a DTD, entity declarations (billion laughs) and external
entities are refused before anything is read.
"""

from __future__ import annotations

import json
import math
import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .base import (
    DIFFICULTIES,
    FileRefused,
    ParseResult,
    ProblemData,
    RowError,
    finish,
    parse_difficulty,
    parse_kind,
    parse_test_cases,
)
from .html_markdown import html_to_markdown, looks_like_html, markdown_to_html

SUPPORTED = ("essay", "shortanswer", "numerical", "description")
_CATEGORY_PREFIX = re.compile(r"^\$(course|system|module|cat\d*)\$/?", re.IGNORECASE)


def _text(element: Element | None, path: str = "text") -> str:
    if element is None:
        return ""
    found = element.find(path) if path else element
    return (found.text or "") if found is not None else ""


def _rich(element: Element | None, warnings: list[str], what: str) -> str:
    """Markdown from a Moodle text element, whatever its ``format`` attribute says."""
    if element is None:
        return ""
    raw = _text(element)
    fmt = (element.get("format") or "html").lower()
    if fmt in ("markdown", "plain_text"):
        return raw
    if fmt == "moodle_auto_format" and not looks_like_html(raw):
        return raw
    markdown, images = html_to_markdown(raw)
    for name in images:
        warnings.append(f"{what}: image “{name}” was not imported (Moodle keeps the file; "
                        "add it again by hand).")
    return markdown


def category_tag(path: str) -> str:
    """``$course$/top/Algebra/Quadratics`` -> ``Algebra/Quadratics`` (empty for top only)."""
    path = _CATEGORY_PREFIX.sub("", path.strip())
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if parts and parts[0].lower() == "top":
        parts = parts[1:]
    return "/".join(parts)[:100]


def parse(text: str) -> ParseResult:
    result = ParseResult(format="moodle")
    text = text.lstrip("\ufeff")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FileRefused(
            "The XML file declares a DTD or entities, which this importer refuses for "
            "safety (they can expand to gigabytes or read files on the server). Export the "
            "questions from Moodle again, or remove the <!DOCTYPE ...> part."
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise FileRefused(
            f"The file is not well-formed XML (line {line}, column {column}: "
            f"{str(exc).split(':')[0]}). Check that it is a complete Moodle XML export."
        ) from None
    if root.tag != "quiz":
        raise FileRefused(f"The XML file's root element is <{root.tag}>, not <quiz>: it is "
                          "not a Moodle XML question export.")
    category = ""
    number = 0
    for question in root.iter("question"):
        qtype = (question.get("type") or "").strip().lower()
        if qtype == "category":
            category = category_tag(_text(question.find("category")))
            continue
        number += 1
        name = " ".join(_text(question.find("name")).split())
        label = f"Question {number}"
        if qtype not in SUPPORTED:
            result.errors.append(RowError(
                number, label,
                f"question type “{qtype or 'none'}” is not imported (supported: "
                + ", ".join(SUPPORTED) + ")",
                name,
            ))
            continue
        problem = ProblemData(number=number, label=label, title=name)
        try:
            _fill(problem, question, qtype, category)
        except ValueError as exc:
            result.errors.append(RowError(number, label, str(exc), name))
            continue
        reason = finish(problem)
        if reason:
            result.errors.append(RowError(number, label, reason, name))
            continue
        result.problems.append(problem)
    if number == 0:
        result.notes.append("The file contains no questions.")
    return result


def _fill(problem: ProblemData, question: Element, qtype: str, category: str) -> None:
    warnings = problem.warnings
    problem.statement = _rich(question.find("questiontext"), warnings, "question text")
    problem.solution = _rich(question.find("generalfeedback"), warnings, "general feedback")
    problem.external_id = _text(question, "idnumber")
    tags = [category] if category else []
    for tag in question.findall("tags/tag"):
        tags.append(_text(tag))
    problem.tags = [t for t in (" ".join(t.split())[:100] for t in tags) if t]
    if qtype in ("shortanswer", "numerical"):
        answers = question.findall("answer")
        best = None
        for answer in answers:
            try:
                fraction = float(answer.get("fraction") or 0)
            except ValueError:
                fraction = 0
            if best is None or fraction > best[0]:
                best = (fraction, answer)
        if best is None or best[0] <= 0:
            raise ValueError(f"the {qtype} question has no correct answer (fraction 100)")
        answer = best[1]
        value = _text(answer)
        if (answer.get("format") or "").lower() == "html" or looks_like_html(value):
            value, _ = html_to_markdown(value)
        problem.reference_answer = value.strip()
        if qtype == "numerical":
            tolerance = _text(answer, "tolerance").strip()
            if tolerance and tolerance not in ("0", "0.0"):
                warnings.append(f"numerical tolerance ±{tolerance} was not kept.")
    else:
        problem.reference_answer = ""
    extension = question.find("questionbank")
    if extension is not None:
        _read_extension(problem, extension)


def _read_extension(problem: ProblemData, ext: Element) -> None:
    """Our own element, written by ``write``: it wins over what Moodle's fields say."""
    def value(name, *, blank_is_none=True):
        found = ext.find(name)
        text = None if found is None else (found.text or "")
        return None if blank_is_none and not (text or "").strip() else text

    if (statement := value("statement", blank_is_none=False)) is not None:
        problem.statement = statement
    if (solution := value("solution", blank_is_none=False)) is not None:
        problem.solution = solution
    if (answer := value("referenceanswer", blank_is_none=False)) is not None:
        problem.reference_answer = answer
    if (kind := value("kind")) is not None:
        problem.kind = parse_kind(kind)
    if (difficulty := value("difficulty")) is not None:
        problem.difficulty = parse_difficulty(difficulty)
    if (language := value("language")) is not None:
        problem.language = language
    if (source := value("source")) is not None:
        problem.source = source
    if (cases := value("testcases")) is not None:
        problem.test_cases = parse_test_cases(cases or "[]")


# --- Writing -----------------------------------------------------------------------------

_XML_BAD = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cdata(text: str) -> str:
    text = _XML_BAD.sub("", text or "")
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(_XML_BAD.sub("", text or ""), {'"': "&quot;"})


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.strip()))
    except ValueError:
        return False


def question_type(problem: ProblemData) -> str:
    answer = (problem.reference_answer or "").strip()
    if problem.kind == "programming" or not answer:
        return "essay"
    return "numerical" if is_number(answer) else "shortanswer"


def write(problems: list[ProblemData]) -> str:
    """A Moodle XML document for these problems (``solution`` becomes general feedback)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for problem in problems:
        qtype = question_type(problem)
        out.append(f'  <question type="{qtype}">')
        out.append(f"    <name><text>{_escape(problem.title)}</text></name>")
        out.append('    <questiontext format="html">')
        out.append(f"      <text>{_cdata(markdown_to_html(problem.statement))}</text>")
        out.append("    </questiontext>")
        out.append('    <generalfeedback format="html">')
        out.append(f"      <text>{_cdata(markdown_to_html(problem.solution))}</text>")
        out.append("    </generalfeedback>")
        out.append("    <defaultgrade>1</defaultgrade>")
        out.append("    <penalty>0</penalty>")
        out.append("    <hidden>0</hidden>")
        out.append(f"    <idnumber>{_escape(problem.external_id)}</idnumber>")
        answer = (problem.reference_answer or "").strip()
        if qtype == "shortanswer":
            out.append("    <usecase>0</usecase>")
            out.append('    <answer fraction="100" format="moodle_auto_format">')
            out.append(f"      <text>{_escape(answer)}</text>")
            out.append('      <feedback format="html"><text></text></feedback>')
            out.append("    </answer>")
        elif qtype == "numerical":
            out.append('    <answer fraction="100" format="moodle_auto_format">')
            out.append(f"      <text>{_escape(answer)}</text>")
            out.append('      <feedback format="html"><text></text></feedback>')
            out.append("      <tolerance>0</tolerance>")
            out.append("    </answer>")
        else:
            out.append("    <responseformat>editor</responseformat>")
            out.append("    <responserequired>1</responserequired>")
            out.append("    <responsefieldlines>15</responsefieldlines>")
            out.append("    <attachments>0</attachments>")
            out.append('    <graderinfo format="html">')
            grader = f"<p>Reference answer: {_escape(answer)}</p>" if answer else ""
            out.append(f"      <text>{_cdata(grader)}</text>")
            out.append("    </graderinfo>")
            out.append('    <responsetemplate format="html"><text></text></responsetemplate>')
        if problem.tags:
            out.append("    <tags>")
            for tag in problem.tags:
                out.append(f"      <tag><text>{_escape(tag)}</text></tag>")
            out.append("    </tags>")
        out.append("    <questionbank>")
        out.append(f"      <kind>{_escape(problem.kind or 'maths')}</kind>")
        difficulty = problem.difficulty if problem.difficulty in DIFFICULTIES else 3
        out.append(f"      <difficulty>{difficulty}</difficulty>")
        out.append(f"      <language>{_escape(problem.language or '')}</language>")
        out.append(f"      <source>{_escape(problem.source or '')}</source>")
        out.append(f"      <referenceanswer>{_cdata(problem.reference_answer or '')}"
                   "</referenceanswer>")
        out.append(f"      <testcases>{_cdata(json.dumps(problem.test_cases or []))}"
                   "</testcases>")
        out.append(f"      <statement>{_cdata(problem.statement)}</statement>")
        out.append(f"      <solution>{_cdata(problem.solution)}</solution>")
        out.append("    </questionbank>")
        out.append("  </question>")
    out.append("</quiz>")
    return "\n".join(out) + "\n"

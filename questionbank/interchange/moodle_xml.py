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
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext, ngettext

from .base import (
    DIFFICULTIES,
    FileRefused,
    ParseResult,
    ProblemData,
    RowError,
    finish,
    parse_accepted,
    parse_difficulty,
    parse_kind,
    parse_test_cases,
)
from .html_markdown import (
    html_to_markdown,
    html_to_text,
    looks_like_html,
    markdown_to_html,
    plain_to_markdown,
    text_lost,
)
from .multilang import keep as keep_language

SUPPORTED = ("essay", "shortanswer", "numerical", "description")
_CATEGORY_PREFIX = re.compile(r"^\$(course|system|module|cat\d*)\$/?", re.IGNORECASE)


def _text(element: Element | None, path: str = "text") -> str:
    if element is None:
        return ""
    found = element.find(path) if path else element
    return (found.text or "") if found is not None else ""


def _rich(element: Element | None, warnings: list[str], what: str,
          language: str | None) -> str:
    """Markdown from a Moodle text element, whatever its ``format`` attribute says."""
    if element is None:
        return ""
    raw = keep_language(_text(element), language)
    fmt = (element.get("format") or "html").lower()
    if fmt == "markdown":
        return raw
    if fmt == "plain_text" or (fmt == "moodle_auto_format" and not looks_like_html(raw)):
        return plain_to_markdown(raw)
    return rich_html(raw, warnings, what)


def rich_html(raw: str, warnings: list[str], what: str) -> str:
    """Markdown from HTML text, with a warning for each image left out and for any text
    the conversion could not keep (a statement never shrinks silently)."""
    markdown, images = html_to_markdown(raw)
    for name in images:
        warnings.append(gettext("%(what)s: image “%(name)s” was not imported (Moodle keeps "
                                "the file; add it again by hand).")
                        % {"what": what, "name": name})
    if text_lost(raw, markdown):
        warnings.append(gettext("%(what)s: some of the text could not be converted from HTML; "
                                "compare it with the original in Moodle and correct it after "
                                "the import.") % {"what": what})
    return markdown


def category_tag(path: str) -> str:
    """``$course$/top/Algebra/Quadratics`` -> ``Algebra/Quadratics`` (empty for top only)."""
    path = _CATEGORY_PREFIX.sub("", path.strip())
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if parts and parts[0].lower() == "top":
        parts = parts[1:]
    return "/".join(parts)[:100]


def parse(text: str, *, language: str | None = None) -> ParseResult:
    """Questions from a Moodle XML export; multi-language text keeps ``language`` only."""
    result = ParseResult(format="moodle")
    text = text.lstrip("\ufeff")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FileRefused(gettext(
            "The XML file declares a DTD or entities, which this importer refuses for "
            "safety (they can expand to gigabytes or read files on the server). Export the "
            "questions from Moodle again, or remove the <!DOCTYPE ...> part."
        )) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise FileRefused(gettext(
            "The file is not well-formed XML (line %(line)s, column %(column)s: %(error)s). "
            "Check that it is a complete Moodle XML export."
        ) % {"line": line, "column": column, "error": str(exc).split(":")[0]}) from None
    if root.tag != "quiz":
        raise FileRefused(gettext("The XML file's root element is <%(tag)s>, not <quiz>: it "
                                  "is not a Moodle XML question export.") % {"tag": root.tag})
    category = ""
    number = 0
    for question in root.iter("question"):
        qtype = (question.get("type") or "").strip().lower()
        if qtype == "category":
            category = category_tag(_text(question.find("category")))
            continue
        number += 1
        name = " ".join(keep_language(_text(question.find("name")), language).split())
        label = gettext("Question %(number)s") % {"number": number}
        if qtype not in SUPPORTED:
            result.errors.append(RowError(
                number, label,
                gettext("question type “%(type)s” is not imported (supported: %(supported)s)")
                % {"type": qtype or "none", "supported": ", ".join(SUPPORTED)},
                name,
            ))
            continue
        problem = ProblemData(number=number, label=label, title=name)
        try:
            _fill(problem, question, qtype, category, language)
        except ValueError as exc:
            result.errors.append(RowError(number, label, str(exc), name))
            continue
        reason = finish(problem)
        if reason:
            result.errors.append(RowError(number, label, reason, name))
            continue
        result.problems.append(problem)
    if number == 0:
        result.notes.append(gettext("The file contains no questions."))
    return result


def _fill(problem: ProblemData, question: Element, qtype: str, category: str,
          language: str | None) -> None:
    warnings = problem.warnings
    problem.question_type = qtype
    problem.statement = _rich(question.find("questiontext"), warnings,
                              gettext("question text"), language)
    problem.solution = _rich(question.find("generalfeedback"), warnings,
                             gettext("general feedback"), language)
    problem.external_id = _text(question, "idnumber")
    problem.category = category
    tags = [category] if category else []
    for tag in question.findall("tags/tag"):
        tags.append(_text(tag))
    problem.tags = [t for t in (" ".join(t.split())[:100] for t in tags) if t]
    if qtype in ("shortanswer", "numerical"):
        _read_answers(problem, question, qtype, language)
    elif qtype == "essay":
        _read_essay(problem, question, language)
    hints = [h for h in question.findall("hint") if _text(h).strip()]
    if hints:
        warnings.append(ngettext("%(n)d hint was not imported (the bank has no place for "
                                 "hints).",
                                 "%(n)d hints were not imported (the bank has no place for "
                                 "hints).", len(hints)) % {"n": len(hints)})
    extension = question.find("questionbank")
    if extension is not None:
        _read_extension(problem, extension)


def _answer_text(element: Element, language: str | None) -> str:
    value = keep_language(_text(element), language)
    if (element.get("format") or "").lower() == "html" or looks_like_html(value):
        value = html_to_text(value)
    return " ".join(value.split())


def _read_answers(problem: ProblemData, question: Element, qtype: str,
                  language: str | None) -> None:
    """The best answer is the reference; other full-mark answers are accepted alternatives;
    what the bank has no place for (partial credit, feedback, units, tolerance) is named."""
    warnings = problem.warnings
    answers = []
    for answer in question.findall("answer"):
        try:
            fraction = float(answer.get("fraction") or 0)
        except ValueError:
            fraction = 0
        answers.append((fraction, _answer_text(answer, language), answer))
    best = max((a[0] for a in answers), default=0)
    if best <= 0:
        raise ValueError(gettext("the %(type)s question has no correct answer (fraction 100)")
                         % {"type": qtype})
    full = [text for fraction, text, _ in answers if fraction == best and text]
    if not full:
        raise ValueError(gettext("the %(type)s question's correct answer is empty")
                         % {"type": qtype})
    problem.reference_answer = full[0]
    problem.accepted_answers = list(dict.fromkeys(a for a in full[1:] if a != full[0]))
    if best < 100:
        warnings.append(gettext("the best answer, “%(answer)s”, is worth only %(percent)s %%; "
                                "it was kept as the reference answer.")
                        % {"answer": full[0], "percent": f"{best:g}"})
    partial = [f"“{text}” ({fraction:g} %)" for fraction, text, _ in answers
               if 0 < fraction < best and text]
    if partial:
        warnings.append(gettext("answers with partial credit were not kept: %(answers)s.")
                        % {"answers": ", ".join(partial)})
    if any(_text(a, "feedback/text").strip() for _, _, a in answers):
        warnings.append(gettext("the feedback given for each answer was not imported."))
    if qtype == "numerical":
        tolerances = {_text(a, "tolerance").strip() for f, _, a in answers if f == best}
        tolerances -= {"", "0", "0.0"}
        if tolerances:
            warnings.append(gettext("numerical tolerance ±%(tolerance)s was not kept.")
                            % {"tolerance": ", ±".join(sorted(tolerances))})
        units = [_text(u, "unit_name").strip() for u in question.findall("units/unit")]
        if any(units):
            warnings.append(gettext("units were not kept: %(units)s.")
                            % {"units": ", ".join(u for u in units if u)})


# Our own export writes the reference answer into the grader information in this form,
# so that it survives a trip through Moodle (which drops the <questionbank> element).
_GRADER_ANSWER = re.compile(r"^Reference answer:\s*(?P<answer>.*?)"
                            r"(?:\s+Also accepted:\s*(?P<also>.*))?$", re.DOTALL)


def _read_essay(problem: ProblemData, question: Element, language: str | None) -> None:
    grader = question.find("graderinfo")
    info = html_to_text(keep_language(_text(grader), language)) if grader is not None else ""
    match = _GRADER_ANSWER.match(info)
    if match and match["answer"].strip():
        problem.reference_answer = match["answer"].strip()
        if match["also"]:
            problem.accepted_answers = [a.strip() for a in match["also"].split(" | ")
                                        if a.strip()]
    elif info:
        excerpt = info if len(info) <= 80 else info[:79] + "…"
        problem.warnings.append(gettext("the information for graders was not imported: "
                                        "“%(excerpt)s”") % {"excerpt": excerpt})
    template = html_to_text(_text(question.find("responsetemplate")))
    if template:
        problem.warnings.append(gettext("the response template was not imported."))


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
    if (accepted := value("acceptedanswers")) is not None:
        problem.accepted_answers = parse_accepted(accepted)



# --- Writing -----------------------------------------------------------------------------

_XML_BAD = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cdata(text: str) -> str:
    text = _XML_BAD.sub("", text or "")
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _escape(text: str) -> str:
    return escape(_XML_BAD.sub("", text or ""), {'"': "&quot;"})


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.strip()))
    except ValueError:
        return False


def question_type(problem: ProblemData) -> str:
    answer = (problem.reference_answer or "").strip()
    if problem.question_type == "description" and not answer:
        return "description"
    if problem.kind == "programming" or not answer:
        return "essay"
    accepted = problem.accepted_answers or []
    if is_number(answer) and all(is_number(a) for a in accepted):
        return "numerical"
    return "shortanswer"


def by_category(problems: list[ProblemData]) -> list[ProblemData]:
    """Problems without a category first (a category line applies to every question after
    it), then each category's problems together, in order of first appearance."""
    order = {c: i for i, c in enumerate(dict.fromkeys(p.category for p in problems if p.category))}
    return sorted(problems, key=lambda p: -1 if not p.category else order[p.category])


def moodle_category(path: str) -> str:
    """``Algebra/Quadratics`` -> ``$course$/top/Algebra/Quadratics`` (Moodle's form)."""
    return "$course$/top/" + path.strip("/")


def write(problems: list[ProblemData]) -> str:
    """A Moodle XML document for these problems (``solution`` becomes general feedback)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    category = ""
    for problem in by_category(problems):
        if problem.category and problem.category != category:
            # Moodle files the questions after it in this category (creating it when
            # "Get category from file" is ticked); our importer matches idnumbers in it.
            category = problem.category
            out.append('  <question type="category">')
            out.append(f"    <category><text>{_escape(moodle_category(category))}</text>"
                       "</category>")
            out.append("  </question>")
        qtype = question_type(problem)
        out.append(f'  <question type="{qtype}">')
        out.append(f"    <name><text>{_escape(problem.title)}</text></name>")
        out.append('    <questiontext format="html">')
        out.append(f"      <text>{_cdata(markdown_to_html(problem.statement))}</text>")
        out.append("    </questiontext>")
        out.append('    <generalfeedback format="html">')
        out.append(f"      <text>{_cdata(markdown_to_html(problem.solution))}</text>")
        out.append("    </generalfeedback>")
        out.append(f"    <defaultgrade>{0 if qtype == 'description' else 1}</defaultgrade>")
        out.append("    <penalty>0</penalty>")
        out.append("    <hidden>0</hidden>")
        out.append(f"    <idnumber>{_escape(problem.external_id)}</idnumber>")
        answer = (problem.reference_answer or "").strip()
        accepted = problem.accepted_answers or []
        if qtype in ("shortanswer", "numerical"):
            if qtype == "shortanswer":
                out.append("    <usecase>0</usecase>")
            for text in [answer, *accepted]:
                out.append('    <answer fraction="100" format="moodle_auto_format">')
                out.append(f"      <text>{_escape(text)}</text>")
                out.append('      <feedback format="html"><text></text></feedback>')
                if qtype == "numerical":
                    out.append("      <tolerance>0</tolerance>")
                out.append("    </answer>")
        elif qtype == "essay":
            out.append("    <responseformat>editor</responseformat>")
            out.append("    <responserequired>1</responserequired>")
            out.append("    <responsefieldlines>15</responsefieldlines>")
            out.append("    <attachments>0</attachments>")
            out.append('    <graderinfo format="html">')
            grader = f"Reference answer: {answer}" if answer else ""
            if answer and accepted:
                grader += " Also accepted: " + " | ".join(accepted)
            grader = f"<p>{_escape(grader)}</p>" if grader else ""
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
        if accepted:
            out.append("      <acceptedanswers>"
                       f"{_cdata(json.dumps(accepted, ensure_ascii=False))}</acceptedanswers>")
        out.append(f"      <statement>{_cdata(problem.statement)}</statement>")
        out.append(f"      <solution>{_cdata(problem.solution)}</solution>")
        out.append("    </questionbank>")
        out.append("  </question>")
    out.append("</quiz>")
    return "\n".join(out) + "\n"

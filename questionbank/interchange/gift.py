"""GIFT, Moodle's plain-text question format.

Read: essay (``{}``), short answer (``{=answer =other}``), numerical (``{#3.14:0.01}``),
description (no braces), "missing word" questions (text after the braces: the blank
becomes ``_____``), general feedback after ``####`` inside the braces, ``[html]`` /
``[markdown]`` / ``[plain]`` / ``[moodle]`` text formats, ``$CATEGORY:`` lines (the
category becomes a tag for the questions after it) and Moodle's ``// [id:...]`` and
``// [tag:...]`` comment lines. Multiple choice, true/false and matching questions are
reported and skipped.

Escapes, as Moodle writes them: ``\\~ \\= \\# \\{ \\} \\:`` and ``\\\\`` for a backslash,
``\\n`` for a newline. A hand-written ``\\neq`` (or another TeX command starting with
``n``) is kept as TeX, not read as a newline followed by "eq".

Written: ``[markdown]`` text, ``// [id:]`` and ``// [tag:]`` lines, and one
``// [questionbank:{...}]`` comment line with what GIFT has no place for (kind,
difficulty, language, source, test cases); Moodle ignores comments.
"""

from __future__ import annotations

import json
import re

from django.utils.translation import gettext

from .base import (
    DIFFICULTIES,
    ParseResult,
    ProblemData,
    RowError,
    finish,
    parse_accepted,
    parse_difficulty,
    parse_kind,
    parse_test_cases,
)
from .html_markdown import looks_like_html, plain_to_markdown
from .moodle_xml import (
    by_category,
    category_tag,
    is_number,
    moodle_category,
    question_type,
    rich_html,
)
from .multilang import keep as keep_language

_SPECIAL = "~=#{}:"
_BLANK = "\ue000"  # where a missing-word blank goes, replaced by _____ after escaping
_TEX_N = re.compile(
    r"n(?:eq|e|abla|otin|ot|u|i|ewline|mid|leq|geq|less|gtr|exists|atural|eg|earrow|warrow"
    r"|subseteq|supseteq|olimits|ormalsize|parallel|cong|sim|prec|succ)(?![A-Za-z])"
)
_COMMENT_TAG = re.compile(r"\[(id|tag):([^\]]*)\]")
_COMMENT_QB = re.compile(r"^\s*//\s*\[questionbank:(\{.*\})\]\s*$")


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "\\" or nxt in _SPECIAL:
                out.append(nxt)
                i += 2
                continue
            if nxt == "n" and not _TEX_N.match(text, i + 1):
                out.append("\n")
                i += 2
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape(text: str) -> str:
    out = []
    for ch in text or "":
        if ch == "\\" or ch in _SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch != "\r":
            out.append(ch)
    return "".join(out)


def _find(text: str, target: str, start: int = 0) -> int:
    """Index of ``target`` in ``text`` from ``start``, skipping backslash-escaped characters."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(target, i):
            return i
        i += 1
    return -1


def _split(text: str, seps: str) -> list[tuple[str, str]]:
    """``=a ~b`` -> [("=", "a"), ("~", "b")], honouring escapes."""
    parts, i, current, marker = [], 0, [], None
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch in seps:
            if marker is not None or "".join(current).strip():
                parts.append((marker or "", "".join(current)))
            marker, current = ch, []
        else:
            current.append(ch)
        i += 1
    if marker is not None or "".join(current).strip():
        parts.append((marker or "", "".join(current)))
    return parts


def _rich(raw: str, warnings: list[str], what: str, language: str | None) -> str:
    """Markdown from GIFT text with an optional ``[format]`` prefix (escapes still in).

    ``[markdown]`` is kept as it is; HTML is converted; plain text (``[plain]``, and
    ``[moodle]``, the default, when it holds no HTML) is escaped so that ``2*3*4`` does
    not turn into italics.
    """
    raw = raw.strip()
    fmt = "moodle"
    match = re.match(r"^\[(html|moodle|plain|markdown)\]", raw)
    if match:
        fmt, raw = match[1], raw[match.end():]
    text = keep_language(unescape(raw).strip(), language)
    if fmt == "markdown":
        return text
    if fmt == "html" or (fmt == "moodle" and looks_like_html(text)):
        return rich_html(text, warnings, what)
    return plain_to_markdown(text)


def _blocks(text: str):
    """(first line number, lines, comment lines) per blank-line-separated block."""
    lines, comments, start = [], [], None
    # Only real line ends: str.splitlines() also splits on U+2028, U+0085, form feeds...,
    # which GIFT (and our export) keep inside a question's text.
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip():
            if lines:
                yield start, lines, comments
            lines, comments, start = [], [], None
            continue
        if line.lstrip().startswith("//"):
            comments.append(line)
            continue
        if start is None:
            start = number
        lines.append(line)
    if lines:
        yield start, lines, comments


def parse(text: str, *, language: str | None = None) -> ParseResult:
    """Questions from GIFT text; multi-language text keeps ``language`` only."""
    result = ParseResult(format="gift")
    category = ""
    number = 0
    pending_comments: list[str] = []
    for line_no, lines, comments in _blocks(text.lstrip("\ufeff")):
        pending_comments += comments
        if lines[0].strip().upper().startswith("$CATEGORY:"):
            category = category_tag(lines[0].split(":", 1)[1])
            lines = lines[1:]
            if not lines:
                continue
        number += 1
        label = gettext("Question %(number)s (line %(line)s)") % {"number": number,
                                                                  "line": line_no}
        block = "\n".join(lines)
        comments_here, pending_comments = pending_comments, []
        problem = ProblemData(number=number, label=label)
        try:
            _parse_block(problem, block, category, comments_here, language)
        except ValueError as exc:
            result.errors.append(RowError(number, label, str(exc), problem.title))
            continue
        reason = finish(problem)
        if reason:
            result.errors.append(RowError(number, label, reason, problem.title))
            continue
        result.problems.append(problem)
    if number == 0:
        result.notes.append(gettext("The file contains no questions."))
    return result


def _parse_block(problem: ProblemData, block: str, category: str, comments: list[str],
                 language: str | None):
    text = block.strip()
    problem.category = category
    if text.startswith("::"):
        end = _find(text, "::", 2)
        if end == -1:
            raise ValueError(gettext("the title is opened with :: but never closed with ::"))
        problem.title = keep_language(unescape(text[2:end]).strip(), language)
        text = text[end + 2:].strip()
    tags = [category] if category else []
    for comment in comments:
        qb = _COMMENT_QB.match(comment)
        if qb:
            _read_extension(problem, qb[1])
            continue
        for kind, value in _COMMENT_TAG.findall(comment):
            if kind == "id":
                problem.external_id = value.strip()
            else:
                tags.append(value.strip())
    problem.tags = [t for t in dict.fromkeys(" ".join(t.split())[:100] for t in tags) if t]

    open_at = _find(text, "{")
    if open_at == -1:  # description
        problem.question_type = problem.question_type or "description"
        problem.statement = problem.statement or _rich(text, problem.warnings,
                                                       gettext("question text"), language)
        return
    close_at = _find(text, "}", open_at + 1)
    if close_at == -1:
        raise ValueError(gettext("the answer part is opened with { but never closed with }"))
    before, answer, after = text[:open_at], text[open_at + 1:close_at], text[close_at + 1:]
    statement = before.strip()
    if after.strip():
        statement = statement + f" {_BLANK} " + after.strip()
    extension_statement = problem.statement
    problem.statement = _rich(statement, problem.warnings, gettext("question text"),
                              language).replace(_BLANK, "_____")
    if extension_statement:
        problem.statement = extension_statement

    feedback_at = _find(answer, "####")
    if feedback_at != -1:
        feedback = answer[feedback_at + 4:]
        answer = answer[:feedback_at]
        solution = _rich(feedback, problem.warnings, gettext("general feedback"), language)
        problem.solution = problem.solution or solution
    qtype, answers = _answer(keep_language(answer, language), problem.warnings)
    problem.question_type = problem.question_type or qtype
    if answers:
        if problem.reference_answer is None:
            problem.reference_answer = answers[0]
        if problem.accepted_answers is None:
            problem.accepted_answers = [a for a in answers[1:] if a != answers[0]]


def _options(body: str, separators: str, warnings: list[str]) -> list[str]:
    """The full-mark answers among ``=a =%50%b#feedback``; the rest is named in a warning."""
    weighted = []
    for _, option in _split(body, separators):
        feedback_at = _find(option, "#")
        if feedback_at != -1:
            if option[feedback_at + 1:].strip():
                warnings.append(gettext("the feedback given for an answer was not imported."))
            option = option[:feedback_at]
        weight = 100.0
        match = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%", option)
        if match:
            weight, option = float(match[1]), option[match.end():]
        text = unescape(option).strip()
        if text:
            weighted.append((weight, text))
    best = max((w for w, _ in weighted), default=0)
    if best <= 0:
        return []
    if best < 100:
        warnings.append(gettext("the best answer, “%(answer)s”, is worth only %(percent)s %%; "
                                "it was kept as the reference answer.")
                        % {"answer": weighted[[w for w, _ in weighted].index(best)][1],
                           "percent": f"{best:g}"})
    partial = [f"“{t}” ({w:g} %)" for w, t in weighted if 0 < w < best]
    if partial:
        warnings.append(gettext("answers with partial credit were not kept: %(answers)s.")
                        % {"answers": ", ".join(partial)})
    return list(dict.fromkeys(t for w, t in weighted if w == best))


def _answer(answer: str, warnings: list[str]) -> tuple[str, list[str]]:
    """The question type and its full-mark answers (the first is the reference answer), or
    ValueError for question types the bank does not import."""
    body = answer.strip()
    if not body:
        return "essay", []
    if body.upper() in ("T", "F", "TRUE", "FALSE") or re.match(r"^(T|F|TRUE|FALSE)\s*#", body,
                                                               re.IGNORECASE):
        raise ValueError(gettext("true/false questions are not imported (supported: essay, "
                                 "short answer, numerical, description)"))
    if body.startswith("#"):
        return "numerical", _numerical(body[1:], warnings)
    if _find(body, "->") != -1:
        raise ValueError(gettext("matching questions are not imported (supported: essay, "
                                 "short answer, numerical, description)"))
    options = _split(body, "=~")
    if any(marker == "~" for marker, _ in options):
        raise ValueError(gettext("multiple-choice questions are not imported (supported: "
                                 "essay, short answer, numerical, description)"))
    answers = _options(body, "=~", warnings)
    if not answers:
        raise ValueError(gettext("the answer braces hold no correct answer"))
    return "shortanswer", answers


def _numerical(body: str, warnings: list[str]) -> list[str]:
    if body.strip().startswith("="):
        options = _options(body, "=", warnings)
    else:
        options = _options("=" + body, "=", warnings)
    values = []
    for value in options:
        if ".." in value:
            warnings.append(gettext("the numerical range %(range)s was not kept as the "
                                    "reference answer.") % {"range": value})
            continue
        if ":" in value:
            value, tolerance = value.split(":", 1)
            if tolerance.strip() not in ("", "0"):
                warnings.append(gettext("numerical tolerance ±%(tolerance)s was not kept.")
                                % {"tolerance": tolerance.strip()})
        value = value.strip()
        if not is_number(value):
            raise ValueError(gettext("the numerical answer “%(value)s” is not a number")
                             % {"value": value})
        values.append(value)
    return list(dict.fromkeys(values))


def _read_extension(problem: ProblemData, raw: str) -> None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(gettext("the // [questionbank:...] line is not valid JSON")) from None
    if "kind" in data:
        problem.kind = parse_kind(data["kind"])
    if "difficulty" in data:
        problem.difficulty = parse_difficulty(str(data["difficulty"]))
    for name in ("language", "source", "reference_answer", "statement", "solution"):
        if isinstance(data.get(name), str) and (data[name] or name != "language"):
            setattr(problem, name, data[name])
    if "test_cases" in data:
        problem.test_cases = parse_test_cases(data["test_cases"])
    if "accepted_answers" in data:
        problem.accepted_answers = parse_accepted(data["accepted_answers"])
    if data.get("question_type") in ("description", "essay"):
        problem.question_type = data["question_type"]


# --- Writing -----------------------------------------------------------------------------


def write(problems: list[ProblemData]) -> str:
    """GIFT text for these problems (``solution`` becomes the ``####`` general feedback)."""
    out = ["// Exported from the question bank. Text is Markdown; maths is TeX.", ""]
    category = ""
    for problem in by_category(problems):
        if problem.category and problem.category != category:
            category = problem.category
            out += [f"$CATEGORY: {moodle_category(category)}", ""]
        qtype = question_type(problem)
        meta = []
        if problem.external_id:
            meta.append(f"[id:{problem.external_id.replace(']', '')}]")
        meta += [f"[tag:{tag.replace(']', '')}]" for tag in problem.tags]
        if meta:
            out.append("// " + " ".join(meta))
        extension = {
            "kind": problem.kind or "maths",
            "difficulty": problem.difficulty if problem.difficulty in DIFFICULTIES else 3,
            "language": problem.language or "",
            "source": problem.source or "",
            "test_cases": problem.test_cases or [],
        }
        accepted = problem.accepted_answers or []
        if qtype == "essay" and problem.reference_answer:
            extension["reference_answer"] = problem.reference_answer
            if accepted:
                extension["accepted_answers"] = accepted
        if qtype == "description":
            extension["question_type"] = "description"
        out.append("// [questionbank:" + json.dumps(extension, ensure_ascii=False) + "]")
        answers = [escape(a.strip()) for a in [problem.reference_answer or "", *accepted]]
        if qtype == "numerical":
            inner = "#" + " ".join(f"={a}" for a in answers) if accepted else f"#{answers[0]}"
        elif qtype == "shortanswer":
            inner = " ".join(f"={a}" for a in answers)
        else:
            inner = ""
        if problem.solution:
            inner += f" ####[markdown]{escape(problem.solution)}"
        braces = "" if qtype == "description" and not inner else f" {{{inner}}}"
        out.append(f"::{escape(problem.title)}::[markdown]{escape(problem.statement)}{braces}")
        out.append("")
    return "\n".join(out)

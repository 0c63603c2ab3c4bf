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

from .base import (
    DIFFICULTIES,
    ParseResult,
    ProblemData,
    RowError,
    finish,
    parse_difficulty,
    parse_kind,
    parse_test_cases,
)
from .html_markdown import html_to_markdown, looks_like_html
from .moodle_xml import category_tag, is_number, question_type

_SPECIAL = "~=#{}:"
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


def _rich(raw: str, warnings: list[str], what: str) -> str:
    """Markdown from GIFT text with an optional ``[format]`` prefix (escapes still in)."""
    raw = raw.strip()
    fmt = "moodle"
    match = re.match(r"^\[(html|moodle|plain|markdown)\]", raw)
    if match:
        fmt, raw = match[1], raw[match.end():]
    text = unescape(raw).strip()
    if fmt == "html" or (fmt == "moodle" and looks_like_html(text)):
        text, images = html_to_markdown(text)
        for name in images:
            warnings.append(f"{what}: image “{name}” was not imported; add it again by hand.")
    return text


def _blocks(text: str):
    """(first line number, lines, comment lines) per blank-line-separated block."""
    lines, comments, start = [], [], None
    for number, line in enumerate(text.splitlines(), start=1):
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


def parse(text: str) -> ParseResult:
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
        label = f"Question {number} (line {line_no})"
        block = "\n".join(lines)
        comments_here, pending_comments = pending_comments, []
        problem = ProblemData(number=number, label=label)
        try:
            _parse_block(problem, block, category, comments_here)
        except ValueError as exc:
            result.errors.append(RowError(number, label, str(exc), problem.title))
            continue
        reason = finish(problem)
        if reason:
            result.errors.append(RowError(number, label, reason, problem.title))
            continue
        result.problems.append(problem)
    if number == 0:
        result.notes.append("The file contains no questions.")
    return result


def _parse_block(problem: ProblemData, block: str, category: str, comments: list[str]):
    text = block.strip()
    if text.startswith("::"):
        end = _find(text, "::", 2)
        if end == -1:
            raise ValueError("the title is opened with :: but never closed with ::")
        problem.title = unescape(text[2:end]).strip()
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
        problem.statement = _rich(text, problem.warnings, "question text")
        if problem.reference_answer is None:
            problem.reference_answer = ""
        return
    close_at = _find(text, "}", open_at + 1)
    if close_at == -1:
        raise ValueError("the answer part is opened with { but never closed with }")
    before, answer, after = text[:open_at], text[open_at + 1:close_at], text[close_at + 1:]
    statement = before.strip()
    if after.strip():
        statement = statement + " _____ " + after.strip()
    extension_statement = problem.statement
    problem.statement = _rich(statement, problem.warnings, "question text")
    if extension_statement:
        problem.statement = extension_statement

    feedback_at = _find(answer, "####")
    if feedback_at != -1:
        feedback = answer[feedback_at + 4:]
        answer = answer[:feedback_at]
        solution = _rich(feedback, problem.warnings, "general feedback")
        problem.solution = problem.solution or solution
    reference = _answer(answer, problem.warnings)
    if problem.reference_answer is None:
        problem.reference_answer = reference


def _answer(answer: str, warnings: list[str]) -> str:
    """The correct answer from the braces, or ValueError for unsupported question types."""
    body = answer.strip()
    if not body:
        return ""  # essay
    if body.upper() in ("T", "F", "TRUE", "FALSE") or re.match(r"^(T|F|TRUE|FALSE)\s*#", body,
                                                               re.IGNORECASE):
        raise ValueError("true/false questions are not imported (supported: essay, "
                         "short answer, numerical, description)")
    if body.startswith("#"):
        return _numerical(body[1:], warnings)
    if _find(body, "->") != -1:
        raise ValueError("matching questions are not imported (supported: essay, short "
                         "answer, numerical, description)")
    options = _split(body, "=~")
    if any(marker == "~" for marker, _ in options):
        raise ValueError("multiple-choice questions are not imported (supported: essay, "
                         "short answer, numerical, description)")
    best = None
    for _, option in options:
        option = option.split("#", 1)[0] if _find(option, "#") != -1 else option
        weight = 100.0
        match = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%", option)
        if match:
            weight, option = float(match[1]), option[match.end():]
        if best is None or weight > best[0]:
            best = (weight, unescape(option).strip())
    if best is None or not best[1]:
        raise ValueError("the answer braces hold no correct answer")
    return best[1]


def _numerical(body: str, warnings: list[str]) -> str:
    options = _split(body, "=") if body.strip().startswith("=") else [("", body)]
    best = None
    for _, option in options:
        option = option.split("#", 1)[0]
        weight = 100.0
        match = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%", option)
        if match:
            weight, option = float(match[1]), option[match.end():]
        if best is None or weight > best[0]:
            best = (weight, unescape(option).strip())
    value = best[1] if best else ""
    if ".." in value:
        warnings.append(f"the numerical range {value} was not kept as the reference answer.")
        return ""
    if ":" in value:
        value, tolerance = value.split(":", 1)
        if tolerance.strip() not in ("", "0"):
            warnings.append(f"numerical tolerance ±{tolerance.strip()} was not kept.")
    value = value.strip()
    if not is_number(value):
        raise ValueError(f"the numerical answer “{value}” is not a number")
    return value


def _read_extension(problem: ProblemData, raw: str) -> None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("the // [questionbank:...] line is not valid JSON") from None
    if "kind" in data:
        problem.kind = parse_kind(data["kind"])
    if "difficulty" in data:
        problem.difficulty = parse_difficulty(str(data["difficulty"]))
    for name in ("language", "source", "reference_answer", "statement", "solution"):
        if isinstance(data.get(name), str) and (data[name] or name != "language"):
            setattr(problem, name, data[name])
    if "test_cases" in data:
        problem.test_cases = parse_test_cases(data["test_cases"])


# --- Writing -----------------------------------------------------------------------------


def write(problems: list[ProblemData]) -> str:
    """GIFT text for these problems (``solution`` becomes the ``####`` general feedback)."""
    out = ["// Exported from the question bank. Text is Markdown; maths is TeX.", ""]
    for problem in problems:
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
        if qtype == "essay" and problem.reference_answer:
            extension["reference_answer"] = problem.reference_answer
        out.append("// [questionbank:" + json.dumps(extension, ensure_ascii=False) + "]")
        answer = escape((problem.reference_answer or "").strip())
        if qtype == "numerical":
            inner = f"#{answer}"
        elif qtype == "shortanswer":
            inner = f"={answer}"
        else:
            inner = ""
        if problem.solution:
            inner += f" ####[markdown]{escape(problem.solution)}"
        out.append(f"::{escape(problem.title)}::[markdown]{escape(problem.statement)} {{{inner}}}")
        out.append("")
    return "\n".join(out)

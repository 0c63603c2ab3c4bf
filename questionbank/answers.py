"""Final-answer extraction and checking by mathematical equivalence. Django-free.

Equivalence uses math-verify (SymPy underneath). Its own time limits use
``signal.alarm``, which only works in the main thread, and cannot interrupt a
long computation inside C code anyway (``10^{100000000}`` builds a
100-million-digit integer). So:

- answers that would make SymPy build huge numbers are refused before parsing
  (:func:`answers_equivalent` returns ``None``: "could not check");
- math-verify's signal timeouts are used only in the main thread and only when
  no other alarm is pending (pytest-timeout, for one, uses ``ITIMER_REAL``);
  elsewhere (worker threads) they are disabled, so it never raises the
  "signal only works in main thread" error.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "AGREES",
    "DISAGREES",
    "UNCHECKED",
    "VoteResult",
    "answers_equivalent",
    "extract_final_answer",
    "group_answers",
    "verdict",
    "vote",
]

logger = logging.getLogger(__name__)

AGREES = "agrees"
DISAGREES = "disagrees"
UNCHECKED = "unchecked"
Verdict = Literal["agrees", "disagrees", "unchecked"]

# Answers longer than this are not final answers but paragraphs; parsing them is
# slow and meaningless.
MAX_ANSWER_CHARS = 300
TIMEOUT_SECONDS = 5

# --- Extraction --------------------------------------------------------------------------

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TRIGGER = re.compile(
    r"(?:\bfinal\s+answer|\bthe\s+answer|^\s*answer)\b\s*(?:is\b)?\s*[:=：]?\s*",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"\*\*|__")
_MATH_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def _braced_content(text: str, open_brace: int) -> str | None:
    """Content of the group whose ``{`` is at ``open_brace``; None if never closed."""
    depth = 0
    i = open_brace
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            # ``\{`` and ``\}`` are literal braces in TeX, not grouping.
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : i]
        i += 1
    return None


def _clean_answer(answer: str) -> str:
    answer = _EMPHASIS.sub("", answer).strip()
    answer = answer.rstrip(".。").strip()
    for start, end in _MATH_WRAPPERS:
        if (
            len(answer) > len(start) + len(end)
            and answer.startswith(start)
            and (answer.endswith(end))
        ):
            answer = answer[len(start) : -len(end)].strip()
            break
    return answer.rstrip(".").strip()


def extract_final_answer(text: str | None) -> str | None:
    """The final answer in a model's output, or ``None`` when there is none.

    The content of the last complete ``\\boxed{...}`` (or ``\\fbox{...}``), with
    nested braces matched properly; failing that, the last line that states it
    ("The answer is ...", "Final answer: ...", "**Answer:** ..."), without a
    trailing period or surrounding ``$``.
    """
    if not text:
        return None
    starts = [m.end() - 1 for m in _BOX_COMMAND.finditer(text)]
    for open_brace in reversed(starts):
        content = _braced_content(text, open_brace)
        # A box cut off by the token limit has no closing brace: try the one before.
        if content is not None and content.strip():
            return content.strip()

    for line in reversed(text.splitlines()):
        plain = _EMPHASIS.sub("", line)
        matches = list(_ANSWER_TRIGGER.finditer(plain))
        if not matches:
            continue
        answer = _clean_answer(plain[matches[-1].end() :])
        if answer:
            return answer
    return None


# --- Equivalence ---------------------------------------------------------------------------

# Integer literals that SymPy would expand into astronomically large numbers.
_TOO_EXPENSIVE = re.compile(
    r"(?:\^|\*\*)\s*[{(]?\s*\d{6,}"  # 10^{1000000}
    r"|\d{5,}\s*!"  # 100000!
    r"|\\(?:uparrow|binom|choose)\s*\{?\s*\d{5,}"
)


def _timeout_seconds() -> int | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        return None
    return TIMEOUT_SECONDS


def _parse(answer: str | None) -> list[Any] | None:
    """math-verify's parse of one answer, or None when it cannot be checked."""
    if answer is None:
        return None
    answer = answer.strip()
    if not answer or len(answer) > MAX_ANSWER_CHARS or _TOO_EXPENSIVE.search(answer):
        return None
    # Imported on first use: math-verify pulls in SymPy (about a second at start-up),
    # which only the answer check needs.
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    try:
        # The answer is bare TeX; boxing it is what makes math-verify read all of it.
        parsed = parse(
            "\\boxed{" + answer + "}",
            extraction_config=[
                LatexExtractionConfig(boxed_match_priority=0),
                ExprExtractionConfig(),
            ],
            parsing_timeout=_timeout_seconds(),
        )
    except Exception:  # math-verify and SymPy raise a wide range of errors
        logger.debug("could not parse answer %r", answer, exc_info=True)
        return None
    return parsed or None


def _verify(gold: list[Any], target: list[Any]) -> bool:
    from math_verify import verify  # on first use, as in _parse

    try:
        return bool(verify(gold, target, timeout_seconds=_timeout_seconds()))
    except Exception:
        logger.debug("math-verify failed", exc_info=True)
        return False


def _normalise(answer: str) -> str:
    return re.sub(r"\s+", "", answer).lower()


def answers_equivalent(a: str | None, b: str | None) -> bool | None:
    """Whether two final answers are mathematically equivalent.

    ``\\frac{1}{2}`` and ``0.5`` are; so are ``2\\sqrt{2}`` and ``\\sqrt{8}``.
    Returns ``None`` when either answer is missing or cannot be parsed as maths
    (or would be too expensive to evaluate). Symmetric: true when either
    direction of math-verify's (asymmetric) check succeeds.
    """
    parsed_a, parsed_b = _parse(a), _parse(b)
    if parsed_a is None or parsed_b is None:
        return None
    return _verify(parsed_a, parsed_b) or _verify(parsed_b, parsed_a)


def group_answers(answers: list[str | None]) -> list[int | None]:
    """Group indexes by equivalence: ``result[i]`` is the group of ``answers[i]``.

    Groups are numbered 0, 1, ... in order of first appearance. A missing answer
    (``None`` or blank) gets ``None``. Answers that cannot be parsed as maths
    are grouped by their text, ignoring case and whitespace.
    """
    groups: list[int | None] = []
    # Per group: (parsed representative or None, normalised text of the representative).
    representatives: list[tuple[list[Any] | None, str]] = []
    for answer in answers:
        if answer is None or not answer.strip():
            groups.append(None)
            continue
        parsed = _parse(answer)
        text = _normalise(answer)
        found = None
        for index, (rep_parsed, rep_text) in enumerate(representatives):
            if text == rep_text or (
                parsed is not None
                and rep_parsed is not None
                and (_verify(rep_parsed, parsed) or _verify(parsed, rep_parsed))
            ):
                found = index
                break
        if found is None:
            found = len(representatives)
            representatives.append((parsed, text))
        groups.append(found)
    return groups


@dataclass(frozen=True)
class VoteResult:
    """Majority vote over the final answers of N samples of one problem.

    ``groups[i]``: equivalence group of candidate ``i`` (``None``: no answer).
    ``shares[i]``: size of candidate ``i``'s group / number of candidates
    (0.0 for a candidate with no answer).
    ``best``: index of the first candidate of the largest group; candidates with
    no answer win only when no candidate has one (then ``best`` is 0); ``None``
    for an empty list.
    ``majority_share``: the share of the best candidate's group.
    """

    groups: list[int | None]
    shares: list[float]
    best: int | None
    majority_share: float


def vote(answers: list[str | None]) -> VoteResult:
    """Group ``answers`` by equivalence and pick the majority candidate."""
    groups = group_answers(answers)
    total = len(answers)
    sizes: dict[int, int] = {}
    for group in groups:
        if group is not None:
            sizes[group] = sizes.get(group, 0) + 1
    shares = [sizes[g] / total if g is not None else 0.0 for g in groups]
    if not groups:
        return VoteResult(groups=[], shares=[], best=None, majority_share=0.0)
    if not sizes:
        return VoteResult(groups=groups, shares=shares, best=0, majority_share=0.0)
    largest = max(sizes.values())
    # Groups are numbered by first appearance, so the first index whose group is
    # among the largest is the first candidate of the earliest largest group.
    best = next(i for i, g in enumerate(groups) if g is not None and sizes[g] == largest)
    return VoteResult(groups=groups, shares=shares, best=best, majority_share=shares[best])


def verdict(
    answer: str | None, reference: str | None, *, alternatives: Sequence[str] = ()
) -> Verdict:
    """Compare a candidate's final answer with the problem's reference answer.

    ``"agrees"`` or ``"disagrees"``; ``"unchecked"`` when there is no answer or
    no reference, or either cannot be parsed as maths. The reference is
    math-verify's "gold" side, which matters for forms such as ``x = 2`` vs ``2``.

    ``alternatives`` are other answers accepted as correct (a Moodle short answer's
    ``=four =4``, kept in ``Problem.accepted_answers``): the answer agrees when it agrees
    with the reference or any of them. An answer written exactly as an accepted one
    (ignoring spaces, and case for plain words such as "Paris") agrees even when it is
    not maths.
    """
    accepted = [a for a in (reference, *alternatives) if a and a.strip()]
    if not answer or not answer.strip() or not accepted:
        return UNCHECKED
    if any(_same_text(answer, a) for a in accepted):
        return AGREES
    parsed_answer = _parse(answer)
    if parsed_answer is None:
        return UNCHECKED
    result: Verdict = UNCHECKED
    for gold in accepted:
        parsed_gold = _parse(gold)
        if parsed_gold is None:
            continue
        if _verify(parsed_gold, parsed_answer):
            return AGREES
        result = DISAGREES
    return result


_WORDS = re.compile(r"[^\W\d_]+(?:[\s'-]+[^\W\d_]+)*")


def _same_text(answer: str, accepted: str) -> bool:
    a, b = re.sub(r"\s+", "", answer), re.sub(r"\s+", "", accepted)
    if a == b:
        return True
    # Plain words compare without case, as Moodle's short answers do by default.
    return bool(_WORDS.fullmatch(answer.strip()) and _WORDS.fullmatch(accepted.strip())
                and a.casefold() == b.casefold())

"""Comparing a program's output with the expected output, and saying how they differ."""

from __future__ import annotations

import math

EXCERPT_CHARS = 600


def _lines(text: str) -> list[str]:
    """Lines without trailing whitespace, without the blank lines at the end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _tokens_match(expected: str, got: str, tolerance: float) -> bool:
    if expected == got:
        return True
    a, b = _number(expected), _number(got)
    if a is None or b is None:
        return False
    # Absolute for small values, relative for large ones (the usual judge rule).
    return abs(a - b) <= tolerance * max(1.0, abs(a))


def _line_matches(expected: str, got: str, tolerance: float | None) -> bool:
    if expected == got:
        return True
    if not tolerance:
        return False
    a, b = expected.split(), got.split()
    return len(a) == len(b) and all(
        _tokens_match(x, y, tolerance) for x, y in zip(a, b, strict=True))


def outputs_match(expected: str, got: str, *, tolerance: float | None = None) -> bool:
    """Equal ignoring trailing whitespace on each line and blank lines at the end; with a
    ``tolerance``, numbers may differ by that much (absolute, or relative above 1)."""
    a, b = _lines(expected), _lines(got)
    return len(a) == len(b) and all(
        _line_matches(x, y, tolerance) for x, y in zip(a, b, strict=True))


def _show(line: str) -> str:
    return repr(line[:80] + ("…" if len(line) > 80 else ""))


def short_diff(expected: str, got: str, *, tolerance: float | None = None) -> str:
    """One sentence: where the output first differs from the expected one."""
    a, b = _lines(expected), _lines(got)
    if not b:
        return "The program printed nothing."
    for n, (x, y) in enumerate(zip(a, b, strict=False), 1):
        if not _line_matches(x, y, tolerance):
            return f"Line {n}: expected {_show(x)}, got {_show(y)}."
    if len(b) > len(a):
        return (f"The expected output has {len(a)} line{'s' if len(a) != 1 else ''}; the "
                f"program printed more, from line {len(a) + 1}: {_show(b[len(a)])}.")
    return (f"The output stops after line {len(b)}; line {len(b) + 1} should be "
            f"{_show(a[len(b)])}.")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text`` for display and storage (no NUL: PostgreSQL's JSON refuses it)."""
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[:limit] + "\n…"


def tail(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The end of ``text`` (the last lines of stderr are the ones that say what broke)."""
    text = text.replace("\x00", "\ufffd").rstrip()
    return text if len(text) <= limit else "…\n" + text[-limit:]

"""Finding the program in a solution's Markdown: its fenced code blocks, by language."""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt

# Fence info words, lower-cased, for each language the judge knows.
FENCE_NAMES = {
    "python": {"python", "python3", "py", "py3"},
    "c": {"c"},
    "cpp": {"cpp", "c++", "cxx", "cc", "hpp"},
}
_LANGUAGE_OF = {name: language for language, names in FENCE_NAMES.items() for name in names}

# One parser for every call; a commonmark parse is all that is needed to find fences
# exactly as the review page renders them (an indented "```" inside a list still counts).
_MARKDOWN = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Program:
    """The code to judge. ``language`` is a key of FENCE_NAMES; ``note`` a sentence for the
    teacher when the choice was a guess (several blocks, or a fence without a language)."""

    language: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class NoProgram:
    """Why there is nothing to run, in a sentence."""

    reason: str


def _fences(text: str) -> list[tuple[str, str]]:
    """``(info word, content)`` of each fenced code block, in order."""
    blocks = []
    for token in _MARKDOWN.parse(text or ""):
        if token.type == "fence":
            info = token.info.strip().split(maxsplit=1)
            blocks.append(((info[0] if info else "").lower(), token.content))
    return blocks


def _guess(source: str) -> str:
    return "cpp" if "#include" in source else "python"


def extract_program(text: str, *, plain_language: str | None = None) -> Program | NoProgram:
    """The program in ``text``: the last fenced block in a language the judge runs.

    Models often show fragments first and the whole program last, so the last block wins.
    A fence without a language is used only when no block names one, and is read as C++
    if it has ``#include``, else Python 3. ``plain_language`` (a teacher's reference
    solution) takes text without any fence as a whole program in that language.
    """
    blocks = [(word, content) for word, content in _fences(text) if content.strip()]
    known = [(word, content) for word, content in blocks if word in _LANGUAGE_OF]
    if known:
        word, content = known[-1]
        note = (f"The solution has {len(known)} code blocks; the last one was run."
                if len(known) > 1 else "")
        return Program(language=_LANGUAGE_OF[word], source=content, note=note)
    unnamed = [content for word, content in blocks if not word]
    if unnamed:
        language = _guess(unnamed[-1])
        return Program(language=language, source=unnamed[-1],
                       note="The code block does not say its language; it was run as "
                            f"{LANGUAGE_LABELS[language]}.")
    if blocks:
        names = ", ".join(sorted({word for word, _ in blocks}))
        return NoProgram(f"the code is in a language the judge does not run ({names}); "
                         "it runs Python 3, C and C++")
    if plain_language and (text or "").strip():
        return Program(language=plain_language, source=text)
    return NoProgram("no code block")


LANGUAGE_LABELS = {"python": "Python 3", "c": "C", "cpp": "C++"}

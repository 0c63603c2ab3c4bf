"""Chinese, Japanese and Korean text in the search index: which characters, as a class.

Han, kana, bopomofo and Hangul are written without spaces between words, so neither
full-text tokenizer (PostgreSQL 'english', SQLite unicode61) can split them into words:
a whole run of characters becomes one token. The search indexes them apart, as
characters and character pairs (bigrams), and finds a query of any length:

- one character: the character itself (on PostgreSQL, the pairs it starts or itself);
- two characters: the pair;
- three or more: the pairs in a row (a phrase), so "三角形" is "三角" then "角形".

A pair never spans two runs (a space, a punctuation mark or a Latin letter between two
characters breaks it), so a match is exactly a substring of the text.

PostgreSQL stores the pairs as a tsvector (``qb_cjk_vector``, each at its first
character's position), and a character alone only at the end of a run, where no pair
starts: a one-character query is the prefix ``'角':*``, which finds the character
wherever it is (migration ``0028_search_cjk_pairs_and_words``; the vector is about 30 % smaller
than one with every character as well). SQLite stores text in an FTS5 table, "三 三角
角 角形 形" (the pairs between the characters they join, so a phrase of pairs and
characters is consecutive). Both are made by SQL (migrations ``0024_search_cjk`` and
``0028``, and ``questionbank.db.sqlite`` for SQLite's triggers); the code-point ranges
below are the one definition.

The words' indexes (English and other spaced scripts) read the text with every run of
CJK characters blanked (:func:`blank_cjk`, migration ``0029_search_words_beside_cjk``): the
English parser and SQLite's unicode61 take letters of any script as one word, so
'求x轴的正半轴' was a single token and neither 'x' nor the run was found through it.

Thai, Lao, Myanmar and Khmer are unspaced too, but their combining vowel and tone marks
are separators to SQLite's tokenizer: they are still searched by substring (unindexed).
"""

from __future__ import annotations

import re
from bisect import bisect_right

# Kana, bopomofo, CJK extension A, CJK unified ideographs, Hangul syllables, CJK
# compatibility ideographs, half-width katakana.
CJK_RANGES = (
    (0x3040, 0x30FF), (0x3100, 0x312F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
)

# The same set as a bracket expression: Python's re and SQLite's GLOB (literal
# characters), PostgreSQL's regular expressions (\\uXXXX escapes).
CJK_CLASS = "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES) + "]"
CJK_CLASS_PG = "[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in CJK_RANGES) + "]"
CJK_RUN = re.compile(CJK_CLASS + "+")


def blank_cjk(text: str) -> str:
    """``text`` with every run of CJK characters replaced by a space, as the words'
    indexes read it (migration ``0029_search_words_beside_cjk``; the SQL of
    ``qb_blank_cjk`` and of ``questionbank.db.sqlite.blank_cjk_sql``). A Latin letter or
    number written against CJK characters ('x轴', '△ABC中') is then a word of its own,
    not part of a run the English word parser cannot split."""
    return CJK_RUN.sub(" ", text or "")


def unblank_ranges(text: str, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` of ``blank_cjk(text)`` (where a database marked words in it) as ranges
    of ``text``. A range's ends are words' ends, never a blanked run's space (a phrase's
    range may hold one: "a 文b" marked whole as the phrase "a b")."""
    starts, shifts = [0], [0]  # from each start on, text's offset is the blanked one + shift

    def at(pos: int) -> int:
        return pos + shifts[bisect_right(starts, pos) - 1]

    for run in CJK_RUN.finditer(text or ""):
        blanked_end = run.start() - shifts[-1] + 1
        starts.append(blanked_end)
        shifts.append(run.end() - blanked_end)
    return [(at(a), at(b - 1) + 1) for a, b in ranges if a < b]


def cjk_tokens(text: str) -> str:
    """The token text SQLite's index holds for ``text`` (what the triggers' SQL makes):
    every CJK character, each followed by the pair it starts when the next one is CJK."""
    out = []
    for run in CJK_RUN.findall(text or ""):
        for i, ch in enumerate(run):
            out.append(ch)
            if i + 1 < len(run):
                out.append(run[i:i + 2])
    return " ".join(out)

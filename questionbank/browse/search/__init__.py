"""Full-text search over problems: the database objects, query parsing and safe highlights.

One search box, two engines:

- PostgreSQL: a tsvector of the title (weight A), statement (B) and tag names (A), config
  'english', in the narrow side table ``questionbank_problem_search`` that the search
  reads (migrations 0011, 0019), kept by triggers. It is made from the text with its CJK
  runs blanked (``qb_problem_words``, 0029: the parser makes a "word" of letters of any
  script, so '求x轴' was one word and 'x' none; the CJK index below finds the runs).
  The user's words go through ``websearch_to_tsquery``, which accepts any input without
  a syntax error ("phrases", -exclusions, ``or``); ranking is ``ts_rank``; snippets
  ``ts_headline``.
- SQLite: an FTS5 table (title, statement, tag names) kept in step by triggers, with the
  ``porter`` stemmer (migrations 0015, 0019), so both engines find "integrals" for
  "integral", "hexagon" for "Hexagons", and a problem tagged "Integrals" for "integral";
  ranking is ``bm25`` with the title and tags weighted 10x; snippets
  ``highlight()``/``snippet()``. Its copy of the text has CJK runs blanked too (0029).
  User input is never passed to FTS5 as syntax: it is cut into words and every word or
  phrase is quoted.

The database objects are made by the migrations (frozen SQL); ``questionbank.db`` holds
the visibility rule the raw queries use and SQLite's trigger re-creation.

Chinese, Japanese and Korean are written without spaces, so neither tokenizer splits
them into words; both databases index their characters and character pairs apart
(``questionbank.db.cjk``: on PostgreSQL a tsvector in a narrow table of its own, one row
per problem with CJK text, migrations 0024, 0027 and 0028; on SQLite the FTS5 table
``questionbank_problem_cjk``). Each run of CJK characters in a query must
appear as written (one character, a pair, or a phrase of pairs: an exact substring);
the rest of the query (English words, numbers, TeX) goes to the full-text index as
above, and a problem must match both. ``or`` and quotes work between spaced words only;
``-`` before a CJK run excludes it. Ranking adds the two scores; the CJK matches are
highlighted in Python (they are exact substrings), the words by the database.

Thai, Lao, Myanmar and Khmer (unspaced, with combining marks the tokenizers split) are
answered by a substring match (``icontains``) on the title and statement, title matches
first: a sequential scan, for the rare such query. Cyrillic, Greek and other
space-separated scripts use the full-text index like English (English stemming rules
only: other languages' words are matched as written).

Highlights are built by asking the database to wrap matches in two control characters
(never in HTML), then escaping every piece of text in Python and turning the markers
into ``<mark>``: stored text is never trusted as HTML. The database marks the text its
words' index read (CJK runs blanked), and the marks are put back on the text as written.

One module per job, re-exported here (callers import from ``questionbank.browse.search``):

- ``query``: the input cleaned and cut into CJK runs and words, and each index's query
  text (no database);
- ``matching``: the ranked, capped ids a search finds (one query) and the querysets
  built on them;
- ``highlights``: one page's titles and snippets, marked by the database;
- ``snippets``: those marks as safe HTML, formulas rendered (no database).
"""

from questionbank.browse.search.highlights import highlights
from questionbank.browse.search.matching import (
    CJK_SEARCH_TABLE,
    RANK_CANDIDATES,
    SIDE_TABLE,
    Matches,
    filter_and_rank,
    in_order,
    match_ids,
)
from questionbank.browse.search.query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    SearchRequest,
    cjk_fts5,
    cjk_tsquery,
    cjk_tsquery_any,
    fts5_excluded,
    fts5_expression,
    parse_query,
)
from questionbank.browse.search.snippets import (
    FRAGMENT,
    START,
    STOP,
    marked,
    snippet_html,
    substring_highlight,
)

__all__ = [
    "CJK_SEARCH_TABLE", "FRAGMENT", "MAX_QUERY_CHARS", "MAX_TERMS", "RANK_CANDIDATES",
    "SIDE_TABLE", "START", "STOP", "Matches", "SearchRequest", "cjk_fts5", "cjk_tsquery",
    "cjk_tsquery_any", "filter_and_rank", "fts5_excluded", "fts5_expression", "highlights",
    "in_order", "marked", "match_ids", "parse_query", "snippet_html", "substring_highlight",
]

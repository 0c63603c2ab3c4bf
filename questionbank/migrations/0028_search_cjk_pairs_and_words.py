"""PostgreSQL: smaller CJK vectors, their stored length, the words beside them, and no
CJK runs among the English words.

Four costs of searching, measured at 100,000 problems (``bench/pages.py``):

- **The vector held every character and every pair.** A character that starts a pair is
  found by the prefix query ``'数':*`` as well, so the vector now holds the pairs, and
  a character alone only where no pair starts (the last of a run). Every occurrence of
  a character is still at its position, and a match is still an exact substring. A
  Chinese statement's vector is about 30 % smaller (4.5 to 3.1 KB at the bench's 100,000
  problems), so a search reads less per row.
- **Ranking counted every row's length.** ``ts_rank(v, q, 1)`` divides by log2 of the
  vector's length plus one, and counts that length (its positions) for every row it
  ranks: for a common word it was most of the ranking's cost. ``cjk_length`` stores
  it (a generated column, so every write path keeps it), and ``qb_rank(v, q, length)``
  is the same ``ts_rank(v, q, 1)`` computed from it (equal to it, checked by a test).
- **A query with Chinese and English words ("函数 k^2") joined two tables.** Each part
  alone matched thousands of problems, and the join looked each one up in the other
  table: 35-55 ms. The CJK table now holds the problem's English-words vector as well
  (``vector``, copied from the side table by the same trigger) with its own partial GIN
  index, so such a query reads one table and both indexes: 9-16 ms.
- **The English-words vectors held every run of Chinese as a word.** The English parser
  makes a "word" of each run of CJK characters ('求x轴的正半轴'), which no query looks up
  (a query's CJK runs go to the CJK index). ``qb_without_cjk`` leaves out every lexeme
  with a CJK character: a Chinese problem's words vector shrinks from about 1.1 KB to 110
  bytes, and an English search that walks the side table reads a third less (a common
  word, on compact copies of the table: 3.6-5.7 ms before, 2.0-2.5 ms after). The side
  table's triggers (0019's) are made again with it. A Latin letter written against a
  run ('x轴') is part of that "word", as before (README, "Languages").

The vectors are made again from the problems (every side row is written again). Adding a
stored column rewrites the table, which also drops the space of the older rows. SQLite is
unchanged (FTS5 keeps its own tokens, and joins its two tables' matches once). Frozen SQL
(DESIGN.md, convention 13).
"""

import importlib

from django.db import migrations

TAGS = importlib.import_module("questionbank.migrations.0019_browse_plain_search_tags")
CJK = importlib.import_module("questionbank.migrations.0024_search_cjk")
CJK_TABLE = importlib.import_module("questionbank.migrations.0027_search_cjk_table")

PG_PAIRS_VECTOR = r"""CREATE OR REPLACE FUNCTION qb_cjk_vector(doc text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN doc ~ '%(class)s' THEN (
        SELECT coalesce(string_agg('''' || ch || CASE WHEN nx ~ '%(class)s' THEN nx ELSE '' END
            || ''':' || least(n, 16383), ' ' ORDER BY n), '')::tsvector
        FROM (SELECT ch, n, lead(ch) OVER (ORDER BY n) AS nx
              FROM unnest(string_to_array(doc, NULL)) WITH ORDINALITY AS c(ch, n)) AS c
        WHERE ch ~ '%(class)s')
    ELSE ''::tsvector END $$""" % {"class": CJK.CJK_CLASS}

PG_WITHOUT_CJK = r"""CREATE OR REPLACE FUNCTION qb_without_cjk(v tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ts_delete(v, ARRAY(SELECT lexeme FROM unnest(v) WHERE lexeme ~ '%(class)s'))
    $$""" % {"class": CJK.CJK_CLASS}

# 0019's functions that write the side table's vector, which now leaves CJK lexemes out.
PG_SIDE = [
    """CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM questionbank_problem_search WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id),
                qb_without_cjk(NEW.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(NEW.id)), 'A')))
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_retag(pid bigint) RETURNS void
        LANGUAGE sql AS $$
        UPDATE questionbank_problem_search s SET vector = qb_without_cjk(p.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(pid)), 'A'))
        FROM questionbank_problem p WHERE p.id = pid AND s.problem_id = pid $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_link() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE questionbank_problem_search s SET vector = qb_without_cjk(p.search_vector)
            FROM questionbank_problem p WHERE p.id = s.problem_id;
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM qb_problem_search_retag(OLD.problem_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM qb_problem_search_retag(NEW.problem_id);
        END IF;
        RETURN NULL; END $$""",
]

PG_SYNC = """CREATE OR REPLACE FUNCTION qb_problem_search_cjk_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$ DECLARE v tsvector; BEGIN
    IF TG_OP = 'TRUNCATE' THEN TRUNCATE questionbank_problem_search_cjk; RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM questionbank_problem_search_cjk WHERE problem_id = OLD.problem_id;
        RETURN NULL;
    END IF;
    SELECT qb_problem_cjk(p.title, p.statement, qb_problem_tag_names(p.id)) INTO v
    FROM questionbank_problem p WHERE p.id = NEW.problem_id;
    IF coalesce(v, ''::tsvector) = ''::tsvector THEN
        DELETE FROM questionbank_problem_search_cjk WHERE problem_id = NEW.problem_id;
    ELSE
        INSERT INTO questionbank_problem_search_cjk (problem_id, created_at, visible, cjk, vector)
        VALUES (NEW.problem_id, NEW.created_at, NEW.visible, v, NEW.vector)
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, cjk = EXCLUDED.cjk, vector = EXCLUDED.vector;
    END IF;
    RETURN NULL; END $$"""

PG = [
    PG_PAIRS_VECTOR,
    PG_WITHOUT_CJK,
    *PG_SIDE,
    "ALTER TABLE questionbank_problem_search_cjk ADD COLUMN vector tsvector NOT NULL DEFAULT ''",
    PG_SYNC,
    # Every side row written again: its vector without CJK lexemes, and through the
    # trigger above, its CJK row made again (pairs, and the words).
    """UPDATE questionbank_problem_search s SET vector = qb_without_cjk(s.vector)""",
    # What ts_rank's normalization 1 divides by: the number of positions (a lexeme
    # without positions counts once).
    """CREATE OR REPLACE FUNCTION qb_tsvector_length(v tsvector) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer
        FROM unnest(v) $$""",
    # ts_rank(v, q, 1), given qb_tsvector_length(v): a one-expression SQL function, so
    # the planner inlines it.
    """CREATE OR REPLACE FUNCTION qb_rank(v tsvector, q tsquery, len integer) RETURNS real
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN len > 0
            THEN ts_rank(v, q, 0) / (ln(len + 1.0::float8) / ln(2.0::float8)) ELSE 0 END::real $$""",
    """ALTER TABLE questionbank_problem_search_cjk ADD COLUMN cjk_length integer
        GENERATED ALWAYS AS (qb_tsvector_length(cjk)) STORED""",
    "CREATE INDEX problem_search_cjk_words ON questionbank_problem_search_cjk USING gin (vector) WHERE visible",
    "ANALYZE questionbank_problem_search",
    "ANALYZE questionbank_problem_search_cjk",
]

PG_REVERSE = [
    "DROP INDEX IF EXISTS problem_search_cjk_words",
    "ALTER TABLE questionbank_problem_search_cjk DROP COLUMN IF EXISTS cjk_length",
    "DROP FUNCTION IF EXISTS qb_rank(tsvector, tsquery, integer)",
    "DROP FUNCTION IF EXISTS qb_tsvector_length(tsvector)",
    # 0027's trigger function, which writes no words, and 0019's side-table functions.
    next(sql for sql in CJK_TABLE.PG
         if sql.startswith("CREATE OR REPLACE FUNCTION qb_problem_search_cjk_sync(")),
    "ALTER TABLE questionbank_problem_search_cjk DROP COLUMN IF EXISTS vector",
    *[sql for sql in TAGS.PG_SEARCH if any(
        sql.startswith(f"CREATE OR REPLACE FUNCTION {name}(") for name in (
            "qb_problem_search_sync", "qb_problem_search_retag", "qb_problem_search_link"))],
    CJK.PG_CJK_VECTOR,  # every character and every pair, as 0024 made them
    # 0019's backfill: every side row written again, with the CJK lexemes, and its CJK row
    # made again through the trigger.
    next(sql for sql in TAGS.PG_SEARCH if sql.startswith("UPDATE questionbank_problem_search")),
    "DROP FUNCTION IF EXISTS qb_without_cjk(tsvector)",
    "ANALYZE questionbank_problem_search",
    "ANALYZE questionbank_problem_search_cjk",
]


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0027_search_cjk_table"),
    ]

    operations = [
        TAGS.VendorSQL("postgresql", PG, PG_REVERSE, elidable=False),
    ]

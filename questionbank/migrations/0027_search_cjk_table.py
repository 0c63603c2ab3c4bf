"""PostgreSQL: the CJK index gets its own narrow table, with its vectors stored in the row.

0024 added the character-and-pair tsvector (``cjk``) as a column of the wide side table.
A Chinese statement's vector is about 4.5 KB, so PostgreSQL moved it out of the row
(TOAST), and every search read it back from there: to test a row along the newest-first
index, to recheck a phrase, and again to rank it. At 100,000 problems (a third Chinese)
that was most of a Chinese search's time (``bench/pages.py``).

``questionbank_problem_search_cjk`` holds one row per problem whose title, statement or
tag names have CJK text: problem id, created_at, ``visible`` (copied from the side
table) and the same vector, kept in the row (``toast_tuple_target`` at its maximum: a
vector takes about 14 bytes a character, so only those of texts past about 550 characters
are compressed or moved out, 4.5 % of the Chinese problems in ``bench/pages.py``).
Problems without CJK text have no row, so a newest-first scan reads Chinese problems
only. The side table's trigger keeps it: whenever a side row is written (the problem,
its tags or its visibility changed), its CJK row is made again from the problem, or
removed when there is no CJK text left. The side table loses its ``cjk`` column and the
functions of 0019 that fill it come back.

SQLite is unchanged (its FTS5 table of 0024 is already apart). Frozen SQL (DESIGN.md,
convention 13).
"""

import importlib

from django.db import migrations

TAGS = importlib.import_module("questionbank.migrations.0019_browse_plain_search_tags")
CJK = importlib.import_module("questionbank.migrations.0024_search_cjk")

PG = [
    """CREATE TABLE questionbank_problem_search_cjk (
        problem_id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
        visible boolean NOT NULL DEFAULT false, cjk tsvector NOT NULL)
        WITH (toast_tuple_target = 8160)""",
    """INSERT INTO questionbank_problem_search_cjk (problem_id, created_at, visible, cjk)
        SELECT problem_id, created_at, visible, cjk FROM questionbank_problem_search
        WHERE cjk <> ''::tsvector""",
    "CREATE INDEX problem_search_cjk_match ON questionbank_problem_search_cjk USING gin (cjk) WHERE visible",
    "CREATE INDEX problem_search_cjk_newest ON questionbank_problem_search_cjk (created_at DESC, problem_id DESC) WHERE visible",
    """CREATE OR REPLACE FUNCTION qb_problem_search_cjk_sync() RETURNS trigger
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
            INSERT INTO questionbank_problem_search_cjk (problem_id, created_at, visible, cjk)
            VALUES (NEW.problem_id, NEW.created_at, NEW.visible, v)
            ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
                visible = EXCLUDED.visible, cjk = EXCLUDED.cjk;
        END IF;
        RETURN NULL; END $$""",
    """CREATE TRIGGER qb_problem_search_cjk AFTER INSERT OR UPDATE OR DELETE
        ON questionbank_problem_search FOR EACH ROW EXECUTE FUNCTION qb_problem_search_cjk_sync()""",
    """CREATE TRIGGER qb_problem_search_cjk_truncate AFTER TRUNCATE ON questionbank_problem_search
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_cjk_sync()""",
    # 0024's reverse: 0019's functions (no cjk), the side table's column and index dropped;
    # qb_cjk_vector and qb_problem_cjk stay (the trigger above uses them).
    *[sql for sql in CJK.PG_SEARCH_REVERSE if not sql.startswith("DROP FUNCTION")],
    "ANALYZE questionbank_problem_search_cjk",
]

PG_REVERSE = [
    "DROP TRIGGER IF EXISTS qb_problem_search_cjk ON questionbank_problem_search",
    "DROP TRIGGER IF EXISTS qb_problem_search_cjk_truncate ON questionbank_problem_search",
    "DROP FUNCTION IF EXISTS qb_problem_search_cjk_sync()",
    "DROP TABLE IF EXISTS questionbank_problem_search_cjk",
    *CJK.PG_SEARCH,  # the column, its functions, its backfill and index, as 0024 made them
]


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0026_calllog_week_buckets"),
    ]

    operations = [
        TAGS.VendorSQL("postgresql", PG, PG_REVERSE, elidable=False),
    ]

"""Search: a Latin letter or number written against Chinese, Japanese or Korean text is a
word of its own, on both databases.

The English parser (PostgreSQL) and unicode61 (SQLite) take letters of every script as
word characters, so '求x轴的正半轴' or '在△ABC中' was one token: 'x' and 'ABC' were not
words of the problem, and the queries "x轴", "x" and "ABC" did not find it (the CJK
index, 0024-0028, finds the runs alone). The words' indexes now read the text with each
run of CJK characters replaced by a space (``questionbank.db.cjk.blank_cjk``):

- PostgreSQL: ``qb_blank_cjk(text)`` and ``qb_problem_words(title, statement, tags)``,
  the side table's vector (title and tag names weight A, statement B, as before) made
  from the blanked text. 0028's three side-table functions are made again with it, and
  every side row is written again (the CJK table's copy of the vector follows through
  its trigger). 0028's ``qb_without_cjk``, which removed the runs' lexemes after
  parsing, is no longer used and goes.
- SQLite: the FTS5 table holds the blanked title, statement and tag names; its triggers
  are made again with ``questionbank.db.sqlite.blank_cjk_sql`` and it is filled again.

Highlights are made from the blanked text as well, and their marks put back on the text
as written (``questionbank.db.cjk.unblank_ranges``). A run becomes one space, not one
per character: PostgreSQL's regexp_replace takes about 20 µs for a run at a time against
200 µs for a character at a time (a statement of 300 characters). Frozen SQL
(DESIGN.md, convention 13); ``tests/db/test_sqlite.py`` compares SQLite's with what
``questionbank/db/sqlite.py`` makes again.
"""

import importlib

from django.db import migrations

TAGS = importlib.import_module("questionbank.migrations.0019_browse_plain_search_tags")
CJK = importlib.import_module("questionbank.migrations.0024_search_cjk")
WORDS = importlib.import_module("questionbank.migrations.0028_search_cjk_pairs_and_words")

PG_BLANK = r"""CREATE OR REPLACE FUNCTION qb_blank_cjk(doc text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(doc, '%(class)s+', ' ', 'g') $$""" % {"class": CJK.CJK_CLASS}

PG_WORDS = """CREATE OR REPLACE FUNCTION qb_problem_words(title text, statement text, tags text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, qb_blank_cjk(coalesce(title, ''))), 'A')
        || setweight(to_tsvector('english'::regconfig, qb_blank_cjk(coalesce(statement, ''))), 'B')
        || setweight(to_tsvector('english'::regconfig, qb_blank_cjk(coalesce(tags, ''))), 'A') $$"""

# 0028's functions that write the side table's vector, now from the blanked text.
PG_SIDE = [
    """CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM questionbank_problem_search WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id),
                qb_problem_words(NEW.title, NEW.statement, qb_problem_tag_names(NEW.id)))
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_retag(pid bigint) RETURNS void
        LANGUAGE sql AS $$
        UPDATE questionbank_problem_search s
        SET vector = qb_problem_words(p.title, p.statement, qb_problem_tag_names(pid))
        FROM questionbank_problem p WHERE p.id = pid AND s.problem_id = pid $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_link() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE questionbank_problem_search s
            SET vector = qb_problem_words(p.title, p.statement, '')
            FROM questionbank_problem p WHERE p.id = s.problem_id;
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM qb_problem_search_retag(OLD.problem_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM qb_problem_search_retag(NEW.problem_id);
        END IF;
        RETURN NULL; END $$""",
]

PG = [
    PG_BLANK,
    PG_WORDS,
    *PG_SIDE,
    # Every side row written again, and through its trigger, its CJK row.
    """UPDATE questionbank_problem_search s
        SET vector = qb_problem_words(p.title, p.statement, qb_problem_tag_names(p.id))
        FROM questionbank_problem p WHERE p.id = s.problem_id""",
    "DROP FUNCTION IF EXISTS qb_without_cjk(tsvector)",
    "ANALYZE questionbank_problem_search",
    "ANALYZE questionbank_problem_search_cjk",
]

PG_REVERSE = [
    WORDS.PG_WITHOUT_CJK,
    *WORDS.PG_SIDE,
    # 0028's vectors: the parsed text without the runs' lexemes.
    """UPDATE questionbank_problem_search s
        SET vector = qb_without_cjk(p.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(p.id)), 'A'))
        FROM questionbank_problem p WHERE p.id = s.problem_id""",
    "DROP FUNCTION IF EXISTS qb_problem_words(text, text, text)",
    "DROP FUNCTION IF EXISTS qb_blank_cjk(text)",
    "ANALYZE questionbank_problem_search",
    "ANALYZE questionbank_problem_search_cjk",
]

SQLITE_FTS_TRIGGERS = [
    "CREATE TRIGGER qb_problem_fts_ai AFTER INSERT ON questionbank_problem BEGIN INSERT INTO questionbank_problem_fts(rowid, title, statement, tags) VALUES (new.id, CASE WHEN new.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT new.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE new.title END, CASE WHEN new.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT new.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE new.statement END, CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '') END); END",
    'CREATE TRIGGER qb_problem_fts_ad AFTER DELETE ON questionbank_problem BEGIN DELETE FROM questionbank_problem_fts WHERE rowid = old.id; END',
    "CREATE TRIGGER qb_problem_fts_au AFTER UPDATE OF title, statement ON questionbank_problem BEGIN UPDATE questionbank_problem_fts SET title = CASE WHEN new.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT new.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE new.title END, statement = CASE WHEN new.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT new.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE new.statement END WHERE rowid = new.id; END",
    "CREATE TRIGGER qb_problem_tags_fts_ai AFTER INSERT ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') END WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_fts_ad AFTER DELETE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') END WHERE rowid = old.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_fts_au AFTER UPDATE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') END WHERE rowid = old.problem_id; UPDATE questionbank_problem_fts SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') END WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_tag_fts_au AFTER UPDATE OF name ON questionbank_tag BEGIN UPDATE questionbank_problem_fts SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_fts.rowid), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_fts.rowid), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_fts.rowid), '') END WHERE rowid IN (SELECT problem_id FROM questionbank_problem_tags WHERE tag_id = new.id); END",
]

SQLITE_FTS_FILL = [
    'DELETE FROM questionbank_problem_fts',
    "INSERT INTO questionbank_problem_fts(rowid, title, statement, tags) SELECT p.id, CASE WHEN p.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT p.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE p.title END, CASE WHEN p.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT p.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE p.statement END, CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(CASE WHEN substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN CASE WHEN substr(d.x, j.key, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN '' ELSE ' ' END ELSE substr(d.x, j.key + 1, 1) END, '') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) ELSE coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') END FROM questionbank_problem p",
]


def _drop(triggers):
    return [f"DROP TRIGGER IF EXISTS {sql.split()[2]}" for sql in triggers]


SQLITE = [*_drop(TAGS.SQLITE_FTS_TRIGGERS), *SQLITE_FTS_TRIGGERS, *SQLITE_FTS_FILL]
# 0019's triggers and fill: the text as written.
SQLITE_REVERSE = [*_drop(SQLITE_FTS_TRIGGERS), *TAGS.SQLITE_FTS_TRIGGERS, *TAGS.SQLITE_FTS_FILL]


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0028_search_cjk_pairs_and_words"),
    ]

    operations = [
        TAGS.VendorSQL("postgresql", PG, PG_REVERSE, elidable=False),
        TAGS.VendorSQL("sqlite", SQLITE, SQLITE_REVERSE, elidable=False),
        # Same SQL on both databases: search result pages cached before this step go.
        migrations.RunSQL("UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1",
                          migrations.RunSQL.noop, elidable=False),
    ]

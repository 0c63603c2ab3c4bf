"""Chinese, Japanese and Korean search through an index (issue 19).

Han, kana and Hangul are written without spaces, so the full-text indexes of 0004 and
0019 hold a whole run of them as one token and such a query was answered by a substring
scan. This step indexes their characters and character pairs (questionbank.db.cjk):

- PostgreSQL: ``qb_cjk_vector(text)`` makes a tsvector of every CJK character and every
  pair of neighbouring ones, each at its character's position (a literal tsvector: no
  text-search parser, so no dependence on the database's locale); the side table of 0011
  gains ``cjk`` (title and tag names weight A, statement B) with a partial GIN index,
  kept by the same triggers as ``vector``. A query is a phrase of pairs.
- SQLite: a second FTS5 table (title, statement, tags) holding the characters and pairs
  as text tokens ("三 三角 角 角形 形", unicode61), kept by triggers on problems, links
  and tags like the table of 0019. ``questionbank/db/sqlite.py`` makes the same triggers
  again after a table rebuild; a test compares them.

English text is untouched: its tsvector, FTS5 table and their triggers' output stay as
they were. Frozen SQL (DESIGN.md, convention 13).
"""

import importlib

from django.db import migrations

# 0019's own frozen lists: its search functions, made again when this step is reversed.
TAGS = importlib.import_module("questionbank.migrations.0019_browse_plain_search_tags")

SQLITE_CJK_TABLE = "CREATE VIRTUAL TABLE questionbank_problem_cjk USING fts5(title, statement, tags, tokenize='unicode61')"

SQLITE_CJK_TRIGGERS = [
    "CREATE TRIGGER qb_problem_cjk_ai AFTER INSERT ON questionbank_problem BEGIN INSERT INTO questionbank_problem_cjk(rowid, title, statement, tags) VALUES (new.id, CASE WHEN new.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT new.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END, CASE WHEN new.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT new.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END, CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END); END",
    'CREATE TRIGGER qb_problem_cjk_ad AFTER DELETE ON questionbank_problem BEGIN DELETE FROM questionbank_problem_cjk WHERE rowid = old.id; END',
    "CREATE TRIGGER qb_problem_cjk_au AFTER UPDATE OF title, statement ON questionbank_problem BEGIN UPDATE questionbank_problem_cjk SET title = CASE WHEN new.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT new.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END, statement = CASE WHEN new.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT new.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid = new.id; END",
    "CREATE TRIGGER qb_problem_tags_cjk_ai AFTER INSERT ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_cjk SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_cjk_ad AFTER DELETE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_cjk SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid = old.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_cjk_au AFTER UPDATE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_cjk SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid = old.problem_id; UPDATE questionbank_problem_cjk SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_tag_cjk_au AFTER UPDATE OF name ON questionbank_tag BEGIN UPDATE questionbank_problem_cjk SET tags = CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_cjk.rowid), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_cjk.rowid), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END WHERE rowid IN (SELECT problem_id FROM questionbank_problem_tags WHERE tag_id = new.id); END",
]

SQLITE_CJK_FILL = [
    'DELETE FROM questionbank_problem_cjk',
    "INSERT INTO questionbank_problem_cjk(rowid, title, statement, tags) SELECT p.id, CASE WHEN p.title GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT p.title AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END, CASE WHEN p.statement GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT p.statement AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END, CASE WHEN coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') GLOB '*' || char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) || '*' THEN (SELECT group_concat(substr(d.x, j.key + 1, 1) || CASE WHEN substr(d.x, j.key + 2, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93) THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') FROM (SELECT coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') AS x) AS d, json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j WHERE substr(d.x, j.key + 1, 1) GLOB char(91, 0x3040, 45, 0x30ff, 0x3100, 45, 0x312f, 0x3400, 45, 0x4dbf, 0x4e00, 45, 0x9fff, 0xac00, 45, 0xd7af, 0xf900, 45, 0xfaff, 0xff66, 45, 0xff9f, 93)) ELSE '' END FROM questionbank_problem p",
]

CJK_CLASS = r"[\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]"

PG_CJK_VECTOR = r"""CREATE OR REPLACE FUNCTION qb_cjk_vector(doc text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN doc ~ '%(class)s' THEN (
        SELECT coalesce(string_agg('''' || ch || ''':' || least(n, 16383)
            || CASE WHEN nx ~ '%(class)s' THEN ' ''' || ch || nx || ''':' || least(n, 16383)
               ELSE '' END, ' ' ORDER BY n), '')::tsvector
        FROM (SELECT ch, n, lead(ch) OVER (ORDER BY n) AS nx
              FROM unnest(string_to_array(doc, NULL)) WITH ORDINALITY AS c(ch, n)) AS c
        WHERE ch ~ '%(class)s')
    ELSE ''::tsvector END $$""" % {"class": CJK_CLASS}

PG_SEARCH = [
    "ALTER TABLE questionbank_problem_search ADD COLUMN IF NOT EXISTS cjk tsvector NOT NULL DEFAULT ''",
    PG_CJK_VECTOR,
    """CREATE OR REPLACE FUNCTION qb_problem_cjk(title text, statement text, tags text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(qb_cjk_vector(title), 'A') || setweight(qb_cjk_vector(statement), 'B')
            || setweight(qb_cjk_vector(tags), 'A') $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ DECLARE tags text; BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM questionbank_problem_search WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        tags := qb_problem_tag_names(NEW.id);
        INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector, cjk)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id),
                NEW.search_vector || setweight(to_tsvector('english'::regconfig, tags), 'A'),
                qb_problem_cjk(NEW.title, NEW.statement, tags))
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector, cjk = EXCLUDED.cjk;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_retag(pid bigint) RETURNS void
        LANGUAGE sql AS $$
        UPDATE questionbank_problem_search s SET vector = p.search_vector || setweight(to_tsvector('english'::regconfig, t.names), 'A'),
            cjk = qb_problem_cjk(p.title, p.statement, t.names)
        FROM questionbank_problem p, (SELECT qb_problem_tag_names(pid) AS names) t
        WHERE p.id = pid AND s.problem_id = pid $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_link() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE questionbank_problem_search s SET vector = p.search_vector,
                cjk = qb_problem_cjk(p.title, p.statement, '')
            FROM questionbank_problem p WHERE p.id = s.problem_id;
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM qb_problem_search_retag(OLD.problem_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM qb_problem_search_retag(NEW.problem_id);
        END IF;
        RETURN NULL; END $$""",
    """UPDATE questionbank_problem_search s SET cjk = qb_problem_cjk(p.title, p.statement, t.names)
        FROM questionbank_problem p, LATERAL (SELECT qb_problem_tag_names(p.id) AS names) t
        WHERE p.id = s.problem_id AND concat_ws(' ', p.title, p.statement, t.names) ~ '%s'""" % CJK_CLASS,
    "CREATE INDEX IF NOT EXISTS problem_search_cjk ON questionbank_problem_search USING gin (cjk) WHERE visible",
    "ANALYZE questionbank_problem_search",
]

# Back to 0019's functions (the last to make them), without the column and its index.
PG_SEARCH_REVERSE = [
    *[sql for sql in TAGS.PG_SEARCH if sql.startswith(tuple(
        f"CREATE OR REPLACE FUNCTION qb_problem_search_{name}("
        for name in ("sync", "retag", "link")))],
    "DROP INDEX IF EXISTS problem_search_cjk",
    "ALTER TABLE questionbank_problem_search DROP COLUMN IF EXISTS cjk",
    "DROP FUNCTION IF EXISTS qb_problem_cjk(text, text, text)",
    "DROP FUNCTION IF EXISTS qb_cjk_vector(text)",
]

SQLITE_SEARCH = [
    "DROP TABLE IF EXISTS questionbank_problem_cjk",
    SQLITE_CJK_TABLE,
    *SQLITE_CJK_TRIGGERS,
    *SQLITE_CJK_FILL,
]

SQLITE_SEARCH_REVERSE = [
    *[f"DROP TRIGGER IF EXISTS {sql.split()[2]}" for sql in SQLITE_CJK_TRIGGERS],
    "DROP TABLE IF EXISTS questionbank_problem_cjk",
]


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0023_clean_prompt_texts"),
    ]

    operations = [
        TAGS.VendorSQL("postgresql", PG_SEARCH, PG_SEARCH_REVERSE, elidable=False),
        TAGS.VendorSQL("sqlite", SQLITE_SEARCH, SQLITE_SEARCH_REVERSE, elidable=False),
        # Same SQL on both databases: search result pages cached before this step go.
        migrations.RunSQL("UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1",
                          migrations.RunSQL.noop, elidable=False),
    ]

"""Students' side, plain Django (issue 13), and tag names in the search (issue 12).

1. The per-problem stamps and stored problem articles of 0012 are dropped (tables,
   functions, triggers): problem pages are rendered from the model fields that already
   hold their HTML and cached whole by the browse generation of 0009.
2. Search finds a problem by its tags' names, stemmed like the rest ("integral" finds a
   problem tagged "Integrals"), ranked like its title:
   - PostgreSQL: the side table of 0011 indexes the problem's tsvector plus its tag names
     (weight A); triggers on the problem-tag link and on a tag's rename keep it current.
     ``qb_problem_visible`` is re-made with the rule of ``questionbank.db.published``.
   - SQLite: the FTS5 table of 0015 becomes a plain FTS5 table (title, statement, tags)
     holding its own copy of the text, kept by triggers on problems, links and tags.
3. The browse generation also moves when a published explanation's revision is
   rewritten in place, and moves on once now, so no page cached before is served.

Frozen SQL (DESIGN.md, convention 13). ``questionbank/db/`` holds the same rule and the
same SQLite triggers for re-creation after a table rebuild; tests compare them.
"""

import importlib

from django.db import migrations

# 0012's own frozen lists: dropping its objects, and making them again when reversed.
PAGES = importlib.import_module("questionbank.migrations.0012_browse_problem_pages")
STEMMING = importlib.import_module("questionbank.migrations.0015_search_stemming")

SQLITE_FTS_TABLE = "CREATE VIRTUAL TABLE questionbank_problem_fts USING fts5(title, statement, tags, tokenize='porter unicode61 remove_diacritics 2')"

SQLITE_FTS_TRIGGERS = [
    "CREATE TRIGGER qb_problem_fts_ai AFTER INSERT ON questionbank_problem BEGIN INSERT INTO questionbank_problem_fts(rowid, title, statement, tags) VALUES (new.id, new.title, new.statement, coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.id), '')); END",
    'CREATE TRIGGER qb_problem_fts_ad AFTER DELETE ON questionbank_problem BEGIN DELETE FROM questionbank_problem_fts WHERE rowid = old.id; END',
    'CREATE TRIGGER qb_problem_fts_au AFTER UPDATE OF title, statement ON questionbank_problem BEGIN UPDATE questionbank_problem_fts SET title = new.title, statement = new.statement WHERE rowid = new.id; END',
    "CREATE TRIGGER qb_problem_tags_fts_ai AFTER INSERT ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_fts_ad AFTER DELETE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') WHERE rowid = old.problem_id; END",
    "CREATE TRIGGER qb_problem_tags_fts_au AFTER UPDATE ON questionbank_problem_tags BEGIN UPDATE questionbank_problem_fts SET tags = coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = old.problem_id), '') WHERE rowid = old.problem_id; UPDATE questionbank_problem_fts SET tags = coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = new.problem_id), '') WHERE rowid = new.problem_id; END",
    "CREATE TRIGGER qb_tag_fts_au AFTER UPDATE OF name ON questionbank_tag BEGIN UPDATE questionbank_problem_fts SET tags = coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = questionbank_problem_fts.rowid), '') WHERE rowid IN (SELECT problem_id FROM questionbank_problem_tags WHERE tag_id = new.id); END",
]

SQLITE_FTS_FILL = [
    'DELETE FROM questionbank_problem_fts',
    "INSERT INTO questionbank_problem_fts(rowid, title, statement, tags) SELECT p.id, p.title, p.statement, coalesce((SELECT group_concat(t.name, ' ') FROM questionbank_problem_tags pt JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = p.id), '') FROM questionbank_problem p",
]

SQLITE_SEARCH = [
    "DROP TRIGGER IF EXISTS qb_problem_fts_ai",
    "DROP TRIGGER IF EXISTS qb_problem_fts_ad",
    "DROP TRIGGER IF EXISTS qb_problem_fts_au",
    "DROP TABLE IF EXISTS questionbank_problem_fts",
    SQLITE_FTS_TABLE,
    *SQLITE_FTS_TRIGGERS,
    *SQLITE_FTS_FILL,
]

SQLITE_SEARCH_REVERSE = [
    'DROP TRIGGER IF EXISTS qb_problem_fts_ai',
    'DROP TRIGGER IF EXISTS qb_problem_fts_ad',
    'DROP TRIGGER IF EXISTS qb_problem_fts_au',
    'DROP TRIGGER IF EXISTS qb_problem_tags_fts_ai',
    'DROP TRIGGER IF EXISTS qb_problem_tags_fts_ad',
    'DROP TRIGGER IF EXISTS qb_problem_tags_fts_au',
    'DROP TRIGGER IF EXISTS qb_tag_fts_au',
    *STEMMING.sqlite_fts("porter unicode61 remove_diacritics 2"),
]

SQLITE_REVISION_BUMP = "CREATE TRIGGER qb_browse_questionbank_solutionrevision_u AFTER UPDATE ON questionbank_solutionrevision WHEN EXISTS (SELECT 1 FROM questionbank_solution s WHERE s.id = NEW.solution_id AND s.status = 'published') BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END"

PG_VISIBLE = """CREATE OR REPLACE FUNCTION qb_problem_visible(pid bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM questionbank_problem p WHERE p.id = pid
        AND p.status <> 'archived' AND EXISTS (SELECT 1 FROM questionbank_solution ps WHERE ps.problem_id = p.id AND ps.status = 'published')) $$"""

PG_SEARCH = [
    PG_VISIBLE,
    """CREATE OR REPLACE FUNCTION qb_problem_tag_names(pid bigint) RETURNS text
        LANGUAGE sql STABLE AS $$
        SELECT coalesce(string_agg(t.name, ' '), '') FROM questionbank_problem_tags pt
        JOIN questionbank_tag t ON t.id = pt.tag_id WHERE pt.problem_id = pid $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM questionbank_problem_search WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id),
                NEW.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(NEW.id)), 'A'))
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_retag(pid bigint) RETURNS void
        LANGUAGE sql AS $$
        UPDATE questionbank_problem_search s SET vector = p.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(pid)), 'A')
        FROM questionbank_problem p WHERE p.id = pid AND s.problem_id = pid $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_link() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE questionbank_problem_search s SET vector = p.search_vector FROM questionbank_problem p
            WHERE p.id = s.problem_id;
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM qb_problem_search_retag(OLD.problem_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM qb_problem_search_retag(NEW.problem_id);
        END IF;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_tag_renamed() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        PERFORM qb_problem_search_retag(pt.problem_id) FROM questionbank_problem_tags pt
        WHERE pt.tag_id = NEW.id;
        RETURN NULL; END $$""",
    "DROP TRIGGER IF EXISTS qb_problem_search_link ON questionbank_problem_tags",
    """CREATE TRIGGER qb_problem_search_link AFTER INSERT OR UPDATE OR DELETE
        ON questionbank_problem_tags FOR EACH ROW EXECUTE FUNCTION qb_problem_search_link()""",
    "DROP TRIGGER IF EXISTS qb_problem_search_unlink ON questionbank_problem_tags",
    """CREATE TRIGGER qb_problem_search_unlink AFTER TRUNCATE ON questionbank_problem_tags
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_link()""",
    "DROP TRIGGER IF EXISTS qb_problem_search_tag_renamed ON questionbank_tag",
    """CREATE TRIGGER qb_problem_search_tag_renamed AFTER UPDATE OF name ON questionbank_tag
        FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
        EXECUTE FUNCTION qb_problem_search_tag_renamed()""",
    """UPDATE questionbank_problem_search s SET vector = p.search_vector || setweight(to_tsvector('english'::regconfig, qb_problem_tag_names(p.id)), 'A')
        FROM questionbank_problem p WHERE p.id = s.problem_id""",
    "ANALYZE questionbank_problem_search",
]

PG_SEARCH_REVERSE = [
    "DROP TRIGGER IF EXISTS qb_problem_search_link ON questionbank_problem_tags",
    "DROP TRIGGER IF EXISTS qb_problem_search_unlink ON questionbank_problem_tags",
    "DROP TRIGGER IF EXISTS qb_problem_search_tag_renamed ON questionbank_tag",
    "DROP FUNCTION IF EXISTS qb_problem_search_link()",
    "DROP FUNCTION IF EXISTS qb_problem_search_tag_renamed()",
    "DROP FUNCTION IF EXISTS qb_problem_search_retag(bigint)",
    """CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM questionbank_problem_search WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id), NEW.search_vector)
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector;
        RETURN NULL; END $$""",
    "DROP FUNCTION IF EXISTS qb_problem_tag_names(bigint)",
    """UPDATE questionbank_problem_search s SET vector = p.search_vector FROM questionbank_problem p
        WHERE p.id = s.problem_id""",
]

PG_REVISION_BUMP = [
    """CREATE OR REPLACE FUNCTION qb_browse_bump_revision() RETURNS trigger AS $$ BEGIN
        IF EXISTS (SELECT 1 FROM questionbank_solution s WHERE s.id = NEW.solution_id
                   AND s.status = 'published') THEN
            UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1;
        END IF;
        RETURN NULL; END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS qb_browse_bump_revision ON questionbank_solutionrevision",
    """CREATE TRIGGER qb_browse_bump_revision AFTER UPDATE ON questionbank_solutionrevision
        FOR EACH ROW EXECUTE FUNCTION qb_browse_bump_revision()""",
]

PG_REVISION_BUMP_REVERSE = [
    "DROP TRIGGER IF EXISTS qb_browse_bump_revision ON questionbank_solutionrevision",
    "DROP FUNCTION IF EXISTS qb_browse_bump_revision()",
]


class VendorSQL(migrations.RunSQL):
    """RunSQL for one database vendor; nothing on the others."""

    def __init__(self, vendor, *args, **kwargs):
        self.vendor = vendor
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, *args], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0018_endpoint_secrets_encrypted"),
    ]

    operations = [
        VendorSQL("postgresql", PAGES.PG_DROP, PAGES.PG, elidable=False),
        VendorSQL("sqlite", PAGES.SQLITE_DROP, PAGES.SQLITE, elidable=False),
        VendorSQL("postgresql", PG_SEARCH, PG_SEARCH_REVERSE, elidable=False),
        VendorSQL("sqlite", SQLITE_SEARCH, SQLITE_SEARCH_REVERSE, elidable=False),
        VendorSQL("postgresql", PG_REVISION_BUMP, PG_REVISION_BUMP_REVERSE, elidable=False),
        VendorSQL("sqlite", [SQLITE_REVISION_BUMP],
                  ["DROP TRIGGER IF EXISTS qb_browse_questionbank_solutionrevision_u"],
                  elidable=False),
        # Same SQL on both databases: pages cached before this step are never served.
        migrations.RunSQL("UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1",
                          migrations.RunSQL.noop, elidable=False),
    ]

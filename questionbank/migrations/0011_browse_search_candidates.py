"""PostgreSQL: the narrow side table the students' search ranks from (questionbank/search.py,
``ensure_search_side_table``): problem id, created_at, a ``visible`` flag mirroring
``Problem.objects.published()`` and the tsvector, with partial GIN and newest-first indexes,
kept in step by triggers on problems and solutions. Ranking the newest 1,000 matches there
reads no wide problem rows. SQLite needs nothing (FTS5 already is a side table).
"""

from django.db import migrations

# Frozen: the SQL this step ran when it was written. A later change is a new migration.
PG = [
    """CREATE TABLE IF NOT EXISTS questionbank_problem_search (
        problem_id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
        visible boolean NOT NULL DEFAULT false, vector tsvector NOT NULL)""",
    'CREATE INDEX IF NOT EXISTS problem_search_match ON questionbank_problem_search USING gin (vector) WHERE visible',
    'CREATE INDEX IF NOT EXISTS problem_search_newest ON questionbank_problem_search (created_at DESC, problem_id DESC) WHERE visible',
    """CREATE OR REPLACE FUNCTION qb_problem_visible(pid bigint) RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM questionbank_problem p WHERE p.id = pid
            AND p.status <> 'archived' AND EXISTS (SELECT 1 FROM questionbank_solution s
            WHERE s.problem_id = pid AND s.status = 'published')) $$""",
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
    """CREATE OR REPLACE FUNCTION qb_problem_search_visible() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE questionbank_problem_search SET visible = false WHERE visible; RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE questionbank_problem_search SET visible = qb_problem_visible(OLD.problem_id)
            WHERE problem_id = OLD.problem_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE questionbank_problem_search SET visible = qb_problem_visible(NEW.problem_id)
            WHERE problem_id = NEW.problem_id;
        END IF;
        RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION qb_problem_search_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN TRUNCATE questionbank_problem_search; RETURN NULL; END $$""",
    'DROP TRIGGER IF EXISTS qb_problem_search_sync ON questionbank_problem',
    """CREATE TRIGGER qb_problem_search_sync AFTER INSERT OR DELETE
        OR UPDATE OF title, statement, status, created_at ON questionbank_problem
        FOR EACH ROW EXECUTE FUNCTION qb_problem_search_sync()""",
    'DROP TRIGGER IF EXISTS qb_problem_search_truncate ON questionbank_problem',
    """CREATE TRIGGER qb_problem_search_truncate AFTER TRUNCATE ON questionbank_problem
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_truncate()""",
    'DROP TRIGGER IF EXISTS qb_problem_search_i ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_u ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_d ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_t ON questionbank_solution',
    """CREATE TRIGGER qb_problem_search_i AFTER INSERT ON questionbank_solution FOR EACH ROW
        WHEN (NEW.status = 'published') EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_u AFTER UPDATE OF status, problem_id
        ON questionbank_solution FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.problem_id <> NEW.problem_id)
        EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_d AFTER DELETE ON questionbank_solution FOR EACH ROW
        WHEN (OLD.status = 'published') EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_t AFTER TRUNCATE ON questionbank_solution
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_visible()""",
    """INSERT INTO questionbank_problem_search (problem_id, created_at, visible, vector)
        SELECT p.id, p.created_at, qb_problem_visible(p.id), p.search_vector
        FROM questionbank_problem p ON CONFLICT (problem_id) DO NOTHING""",
    'ANALYZE questionbank_problem_search',
]

PG_DROP = [
    'DROP TRIGGER IF EXISTS qb_problem_search_sync ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_problem_search_truncate ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_problem_search_i ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_u ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_d ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_problem_search_t ON questionbank_solution',
    'DROP FUNCTION IF EXISTS qb_problem_search_sync()',
    'DROP FUNCTION IF EXISTS qb_problem_search_visible()',
    'DROP FUNCTION IF EXISTS qb_problem_search_truncate()',
    'DROP FUNCTION IF EXISTS qb_problem_visible(bigint)',
    'DROP TABLE IF EXISTS questionbank_problem_search',
]

FORWARDS = {"postgresql": PG}
BACKWARDS = {"postgresql": PG_DROP}


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for sql in statements.get(schema_editor.connection.vendor, ()):
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, FORWARDS)


def backwards(apps, schema_editor):
    _run(schema_editor, BACKWARDS)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0010_calllog_stats_index"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

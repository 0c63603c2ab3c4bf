"""Per-problem stamps and stored problem articles (questionbank/browse_cache.py).

Like 0009, outside Django's model state: two tables and vendor-specific triggers that
bump a problem's stamp whenever anything its page shows changes, so a stored article is
served only while it is current.
"""

from django.db import migrations

# Frozen: the SQL this step ran when it was written. A later change is a new migration.
PG = [
    'CREATE TABLE IF NOT EXISTS questionbank_browse_stamp (problem_id integer PRIMARY KEY, n bigint NOT NULL)',
    'CREATE TABLE IF NOT EXISTS questionbank_browse_page (problem_id integer PRIMARY KEY, stamp bigint NOT NULL, title text NOT NULL, html text NOT NULL)',
    """CREATE OR REPLACE FUNCTION qb_pages_clear() RETURNS trigger AS $$
            BEGIN DELETE FROM questionbank_browse_page; RETURN NULL; END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION qb_stamp_problem() RETURNS trigger AS $$
                BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_stamp_problem ON questionbank_problem',
    'CREATE TRIGGER qb_stamp_problem AFTER UPDATE OR DELETE ON questionbank_problem FOR EACH ROW EXECUTE FUNCTION qb_stamp_problem()',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_problem',
    'CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON questionbank_problem FOR EACH STATEMENT EXECUTE FUNCTION qb_pages_clear()',
    """CREATE OR REPLACE FUNCTION qb_stamp_problem_tags() RETURNS trigger AS $$
                BEGIN IF TG_OP <> 'INSERT' THEN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; END IF; IF TG_OP <> 'DELETE' THEN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; END IF; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_stamp_problem_tags ON questionbank_problem_tags',
    'CREATE TRIGGER qb_stamp_problem_tags AFTER INSERT OR UPDATE OR DELETE ON questionbank_problem_tags FOR EACH ROW EXECUTE FUNCTION qb_stamp_problem_tags()',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_problem_tags',
    'CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON questionbank_problem_tags FOR EACH STATEMENT EXECUTE FUNCTION qb_pages_clear()',
    """CREATE OR REPLACE FUNCTION qb_stamp_tag() RETURNS trigger AS $$
                BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) SELECT problem_id, 1 FROM questionbank_problem_tags WHERE tag_id = OLD.id AND true ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_stamp_tag ON questionbank_tag',
    'CREATE TRIGGER qb_stamp_tag AFTER UPDATE OR DELETE ON questionbank_tag FOR EACH ROW EXECUTE FUNCTION qb_stamp_tag()',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_tag',
    'CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON questionbank_tag FOR EACH STATEMENT EXECUTE FUNCTION qb_pages_clear()',
    """CREATE OR REPLACE FUNCTION qb_stamp_solution() RETURNS trigger AS $$
                BEGIN IF TG_OP <> 'INSERT' AND OLD.status = 'published' THEN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; END IF; IF TG_OP <> 'DELETE' AND NEW.status = 'published' THEN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; END IF; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_stamp_solution ON questionbank_solution',
    'CREATE TRIGGER qb_stamp_solution AFTER INSERT OR UPDATE OR DELETE ON questionbank_solution FOR EACH ROW EXECUTE FUNCTION qb_stamp_solution()',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_solution',
    'CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON questionbank_solution FOR EACH STATEMENT EXECUTE FUNCTION qb_pages_clear()',
    """CREATE OR REPLACE FUNCTION qb_stamp_revision() RETURNS trigger AS $$
                BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES ((SELECT problem_id FROM questionbank_solution WHERE id = NEW.solution_id), 1) ON CONFLICT (problem_id) DO UPDATE SET n = questionbank_browse_stamp.n + 1; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_stamp_revision ON questionbank_solutionrevision',
    'CREATE TRIGGER qb_stamp_revision AFTER UPDATE ON questionbank_solutionrevision FOR EACH ROW EXECUTE FUNCTION qb_stamp_revision()',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_solutionrevision',
    'CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON questionbank_solutionrevision FOR EACH STATEMENT EXECUTE FUNCTION qb_pages_clear()',
]

PG_DROP = [
    'DROP TRIGGER IF EXISTS qb_stamp_problem ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_problem',
    'DROP FUNCTION IF EXISTS qb_stamp_problem()',
    'DROP TRIGGER IF EXISTS qb_stamp_problem_tags ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_problem_tags',
    'DROP FUNCTION IF EXISTS qb_stamp_problem_tags()',
    'DROP TRIGGER IF EXISTS qb_stamp_tag ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_tag',
    'DROP FUNCTION IF EXISTS qb_stamp_tag()',
    'DROP TRIGGER IF EXISTS qb_stamp_solution ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_solution',
    'DROP FUNCTION IF EXISTS qb_stamp_solution()',
    'DROP TRIGGER IF EXISTS qb_stamp_revision ON questionbank_solutionrevision',
    'DROP TRIGGER IF EXISTS qb_pages_clear ON questionbank_solutionrevision',
    'DROP FUNCTION IF EXISTS qb_stamp_revision()',
    'DROP FUNCTION IF EXISTS qb_pages_clear()',
    'DROP TABLE IF EXISTS questionbank_browse_page',
    'DROP TABLE IF EXISTS questionbank_browse_stamp',
]

SQLITE = [
    'CREATE TABLE IF NOT EXISTS questionbank_browse_stamp (problem_id integer PRIMARY KEY, n integer NOT NULL)',
    'CREATE TABLE IF NOT EXISTS questionbank_browse_page (problem_id integer PRIMARY KEY, stamp integer NOT NULL, title text NOT NULL, html text NOT NULL)',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_problem_u AFTER UPDATE ON questionbank_problem  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_problem_d AFTER DELETE ON questionbank_problem  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_problem_tags_i AFTER INSERT ON questionbank_problem_tags  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_problem_tags_u AFTER UPDATE ON questionbank_problem_tags  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_problem_tags_d AFTER DELETE ON questionbank_problem_tags  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_tag_u AFTER UPDATE ON questionbank_tag  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) SELECT problem_id, 1 FROM questionbank_problem_tags WHERE tag_id = OLD.id AND true ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_tag_d AFTER DELETE ON questionbank_tag  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) SELECT problem_id, 1 FROM questionbank_problem_tags WHERE tag_id = OLD.id AND true ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
    "CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_solution_i AFTER INSERT ON questionbank_solution WHEN NEW.status = 'published' BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_solution_u AFTER UPDATE ON questionbank_solution WHEN OLD.status = 'published' OR NEW.status = 'published' BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (NEW.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_solution_d AFTER DELETE ON questionbank_solution WHEN OLD.status = 'published' BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES (OLD.problem_id, 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END",
    'CREATE TRIGGER IF NOT EXISTS qb_stamp_questionbank_solutionrevision_u AFTER UPDATE ON questionbank_solutionrevision  BEGIN INSERT INTO questionbank_browse_stamp (problem_id, n) VALUES ((SELECT problem_id FROM questionbank_solution WHERE id = NEW.solution_id), 1) ON CONFLICT (problem_id) DO UPDATE SET n = n + 1; END',
]

SQLITE_DROP = [
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_problem_u',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_problem_d',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_problem_tags_i',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_problem_tags_u',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_problem_tags_d',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_tag_u',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_tag_d',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_solution_i',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_solution_u',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_solution_d',
    'DROP TRIGGER IF EXISTS qb_stamp_questionbank_solutionrevision_u',
    'DROP TABLE IF EXISTS questionbank_browse_page',
    'DROP TABLE IF EXISTS questionbank_browse_stamp',
]

FORWARDS = {"postgresql": PG, "sqlite": SQLITE}
BACKWARDS = {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}


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
        ("questionbank", "0011_browse_search_candidates"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

"""The browse generation counter and its triggers (questionbank/browse_cache.py).

Not in Django's model state: a one-row table and vendor-specific triggers that bump it
whenever something a student can see changes, so cached pages are never stale.
"""

from django.db import migrations

# Frozen: the SQL this step ran when it was written. A later change is a new migration.
PG = [
    'CREATE TABLE IF NOT EXISTS questionbank_browse_generation (id integer PRIMARY KEY, n bigint NOT NULL)',
    'INSERT INTO questionbank_browse_generation (id, n) VALUES (1, floor(random() * 1e12)::bigint) ON CONFLICT (id) DO NOTHING',
    """CREATE OR REPLACE FUNCTION qb_browse_bump() RETURNS trigger AS $$
            BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; RETURN NULL; END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_problem',
    'CREATE TRIGGER qb_browse_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON questionbank_problem FOR EACH STATEMENT EXECUTE FUNCTION qb_browse_bump()',
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_tag',
    'CREATE TRIGGER qb_browse_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON questionbank_tag FOR EACH STATEMENT EXECUTE FUNCTION qb_browse_bump()',
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_problem_tags',
    'CREATE TRIGGER qb_browse_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON questionbank_problem_tags FOR EACH STATEMENT EXECUTE FUNCTION qb_browse_bump()',
    'DROP TRIGGER IF EXISTS qb_browse_bump_i ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_u ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_d ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_t ON questionbank_solution',
    "CREATE TRIGGER qb_browse_bump_i AFTER INSERT ON questionbank_solution FOR EACH ROW WHEN (NEW.status = 'published') EXECUTE FUNCTION qb_browse_bump()",
    "CREATE TRIGGER qb_browse_bump_u AFTER UPDATE ON questionbank_solution FOR EACH ROW WHEN (OLD.status = 'published' OR NEW.status = 'published') EXECUTE FUNCTION qb_browse_bump()",
    "CREATE TRIGGER qb_browse_bump_d AFTER DELETE ON questionbank_solution FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION qb_browse_bump()",
    'CREATE TRIGGER qb_browse_bump_t AFTER TRUNCATE ON questionbank_solution FOR EACH STATEMENT EXECUTE FUNCTION qb_browse_bump()',
]

PG_DROP = [
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_browse_bump_i ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_browse_bump_u ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_browse_bump_d ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_browse_bump_t ON questionbank_problem',
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_browse_bump_i ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_browse_bump_u ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_browse_bump_d ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_browse_bump_t ON questionbank_tag',
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_browse_bump_i ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_browse_bump_u ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_browse_bump_d ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_browse_bump_t ON questionbank_problem_tags',
    'DROP TRIGGER IF EXISTS qb_browse_bump ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_i ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_u ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_d ON questionbank_solution',
    'DROP TRIGGER IF EXISTS qb_browse_bump_t ON questionbank_solution',
    'DROP FUNCTION IF EXISTS qb_browse_bump()',
    'DROP TABLE IF EXISTS questionbank_browse_generation',
]

SQLITE = [
    'CREATE TABLE IF NOT EXISTS questionbank_browse_generation (id integer PRIMARY KEY, n integer NOT NULL)',
    'INSERT OR IGNORE INTO questionbank_browse_generation (id, n) VALUES (1, abs(random() % 1000000000000))',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_i AFTER INSERT ON questionbank_problem BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_u AFTER UPDATE ON questionbank_problem BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_d AFTER DELETE ON questionbank_problem BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_tag_i AFTER INSERT ON questionbank_tag BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_tag_u AFTER UPDATE ON questionbank_tag BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_tag_d AFTER DELETE ON questionbank_tag BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_tags_i AFTER INSERT ON questionbank_problem_tags BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_tags_u AFTER UPDATE ON questionbank_problem_tags BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    'CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_problem_tags_d AFTER DELETE ON questionbank_problem_tags BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END',
    "CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_solution_i AFTER INSERT ON questionbank_solution WHEN NEW.status = 'published' BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END",
    "CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_solution_u AFTER UPDATE ON questionbank_solution WHEN OLD.status = 'published' OR NEW.status = 'published' BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END",
    "CREATE TRIGGER IF NOT EXISTS qb_browse_questionbank_solution_d AFTER DELETE ON questionbank_solution WHEN OLD.status = 'published' BEGIN UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1; END",
]

SQLITE_DROP = [
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_i',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_u',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_d',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_tag_i',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_tag_u',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_tag_d',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_tags_i',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_tags_u',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_problem_tags_d',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_solution_i',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_solution_u',
    'DROP TRIGGER IF EXISTS qb_browse_questionbank_solution_d',
    'DROP TABLE IF EXISTS questionbank_browse_generation',
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
        ("questionbank", "0008_endpoint_penalty_style"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

"""Full-text search over problem titles and statements (issue 6: students browse).

Nothing here is in Django's model state: the objects are database-specific, so the
migration branches on the vendor and `makemigrations` never sees them.

- PostgreSQL: a stored generated ``tsvector`` column ``search_vector`` (title weighted A,
  statement B, config 'english') with a GIN index. The column is not a model field, so
  ordinary Problem queries never load it; questionbank.search reads it by name.
- SQLite: an FTS5 external-content table ``questionbank_problem_fts`` (tokenizer
  unicode61, diacritics removed) kept in step by triggers, ranked with bm25.

The app re-creates the current search objects after every ``migrate``
(QuestionbankConfig.ready), because Django drops a SQLite table's triggers when it
rebuilds the table.
"""

from django.db import migrations

# Frozen: the SQL this step ran when it was written. A later change is a new migration.
PG = [
    """ALTER TABLE questionbank_problem ADD COLUMN IF NOT EXISTS search_vector tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
            setweight(to_tsvector('english'::regconfig, coalesce(statement, '')), 'B')
        ) STORED""",
    'CREATE INDEX IF NOT EXISTS problem_search_gin ON questionbank_problem USING gin (search_vector)',
]

PG_DROP = [
    'DROP INDEX IF EXISTS problem_search_gin',
    'ALTER TABLE questionbank_problem DROP COLUMN IF EXISTS search_vector',
]

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS questionbank_problem_fts USING fts5(title, statement, content='questionbank_problem', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    """CREATE TRIGGER IF NOT EXISTS qb_problem_fts_ai
        AFTER INSERT ON questionbank_problem BEGIN
          INSERT INTO questionbank_problem_fts(rowid, title, statement)
          VALUES (new.id, new.title, new.statement);
        END""",
    """CREATE TRIGGER IF NOT EXISTS qb_problem_fts_ad
        AFTER DELETE ON questionbank_problem BEGIN
          INSERT INTO questionbank_problem_fts(questionbank_problem_fts, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
        END""",
    """CREATE TRIGGER IF NOT EXISTS qb_problem_fts_au
        AFTER UPDATE OF title, statement ON questionbank_problem BEGIN
          INSERT INTO questionbank_problem_fts(questionbank_problem_fts, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
          INSERT INTO questionbank_problem_fts(rowid, title, statement)
          VALUES (new.id, new.title, new.statement);
        END""",
    "INSERT INTO questionbank_problem_fts(questionbank_problem_fts) VALUES ('rebuild')",
]

SQLITE_DROP = [
    'DROP TRIGGER IF EXISTS qb_problem_fts_ai',
    'DROP TRIGGER IF EXISTS qb_problem_fts_ad',
    'DROP TRIGGER IF EXISTS qb_problem_fts_au',
    'DROP TABLE IF EXISTS questionbank_problem_fts',
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
        ("questionbank", "0003_review_edit_distance"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

"""Stemmed search on SQLite, and students' pages re-rendered after a template change.

- SQLite: the FTS5 table ``questionbank_problem_fts`` is rebuilt with the ``porter``
  tokenizer in front of ``unicode61``, so "integral" finds "integrals" and "Hexagons"
  finds "hexagon", as PostgreSQL's 'english' configuration already does (0004: the
  tsvector, the side table of 0011 that copies it, and every query use 'english'; there
  is nothing to change there). A tokenizer cannot be altered in place: the table and its
  three triggers are dropped, made again and refilled from the problem table ('rebuild').
- Both databases: the stored problem articles of 0012 are dropped (they are rendered again
  on the next view, now with the final answer as maths and the show/hide labels), and the
  browse generation of 0009 moves on, so no page cached before the upgrade is served.

Frozen SQL (DESIGN.md, convention 13): questionbank/search.py keeps the same definition
for re-creating the objects after a later SQLite table rebuild, and a test compares them.
"""

from django.db import migrations

FTS = "questionbank_problem_fts"
PROBLEM = "questionbank_problem"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER qb_problem_fts_ai AFTER INSERT ON {PROBLEM} BEGIN
          INSERT INTO {FTS}(rowid, title, statement) VALUES (new.id, new.title, new.statement);
        END""",
    f"""CREATE TRIGGER qb_problem_fts_ad AFTER DELETE ON {PROBLEM} BEGIN
          INSERT INTO {FTS}({FTS}, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
        END""",
    f"""CREATE TRIGGER qb_problem_fts_au AFTER UPDATE OF title, statement ON {PROBLEM} BEGIN
          INSERT INTO {FTS}({FTS}, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
          INSERT INTO {FTS}(rowid, title, statement) VALUES (new.id, new.title, new.statement);
        END""",
]


def sqlite_fts(tokenize: str) -> list[str]:
    """Drop and re-create the FTS table and its triggers with ``tokenize``, then refill."""
    return [
        "DROP TRIGGER IF EXISTS qb_problem_fts_ai",
        "DROP TRIGGER IF EXISTS qb_problem_fts_ad",
        "DROP TRIGGER IF EXISTS qb_problem_fts_au",
        f"DROP TABLE IF EXISTS {FTS}",
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(title, statement, content='{PROBLEM}', "
        f"content_rowid='id', tokenize='{tokenize}')",
        *SQLITE_TRIGGERS,
        f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
    ]


class SQLiteOnly(migrations.RunSQL):
    """RunSQL that does nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0014_one_published_solution"),
    ]

    operations = [
        SQLiteOnly(
            sql=sqlite_fts("porter unicode61 remove_diacritics 2"),
            reverse_sql=sqlite_fts("unicode61 remove_diacritics 2"),
            elidable=False,
        ),
        # Same SQL on both databases: plain DELETE and UPDATE.
        migrations.RunSQL(
            sql=[
                "DELETE FROM questionbank_browse_page",
                "UPDATE questionbank_browse_generation SET n = n + 1 WHERE id = 1",
            ],
            reverse_sql=migrations.RunSQL.noop,
            elidable=False,
        ),
    ]

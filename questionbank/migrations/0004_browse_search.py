"""Full-text search over problem titles and statements (issue 6: students browse).

Nothing here is in Django's model state: the objects are database-specific, so the
migration branches on the vendor and `makemigrations` never sees them.

- PostgreSQL: a stored generated ``tsvector`` column ``search_vector`` (title weighted A,
  statement B, config 'english') with a GIN index. The column is not a model field, so
  ordinary Problem queries never load it; questionbank.search reads it by name.
- SQLite: an FTS5 external-content table ``questionbank_problem_fts`` (tokenizer
  unicode61, diacritics removed) kept in step by triggers, ranked with bm25.

The SQL lives in questionbank.search so that a later migration that makes Django rebuild
the SQLite problem table (which drops its triggers) can call ``ensure_search_schema``
again; the app also re-checks it after every ``migrate`` (QuestionbankConfig.ready).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from questionbank.search import create_search_schema

    create_search_schema(schema_editor.connection)


def backwards(apps, schema_editor):
    from questionbank.search import drop_search_schema

    drop_search_schema(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0003_review_edit_distance"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

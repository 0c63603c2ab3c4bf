"""PostgreSQL: the narrow side table the students' search ranks from (questionbank/search.py,
``ensure_search_side_table``): problem id, created_at, a ``visible`` flag mirroring
``Problem.objects.published()`` and the tsvector, with partial GIN and newest-first indexes,
kept in step by triggers on problems and solutions. Ranking the newest 1,000 matches there
reads no wide problem rows. SQLite needs nothing (FTS5 already is a side table).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from questionbank.search import ensure_search_side_table

    ensure_search_side_table(schema_editor.connection)


def backwards(apps, schema_editor):
    from questionbank.search import drop_search_side_table

    drop_search_side_table(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0010_calllog_stats_index"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

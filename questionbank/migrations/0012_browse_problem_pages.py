"""Per-problem stamps and stored problem articles (questionbank/browse_cache.py).

Like 0009, outside Django's model state: two tables and vendor-specific triggers that
bump a problem's stamp whenever anything its page shows changes, so a stored article is
served only while it is current.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from questionbank.browse_cache import ensure_generation_schema

    ensure_generation_schema(schema_editor.connection)


def backwards(apps, schema_editor):
    from questionbank.browse_cache import drop_stamp_schema

    drop_stamp_schema(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0011_browse_search_candidates"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

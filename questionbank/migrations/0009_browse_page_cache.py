"""The browse generation counter and its triggers (questionbank/browse_cache.py).

Not in Django's model state: a one-row table and vendor-specific triggers that bump it
whenever something a student can see changes, so cached pages are never stale.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from questionbank.browse_cache import ensure_generation_schema

    ensure_generation_schema(schema_editor.connection)


def backwards(apps, schema_editor):
    from questionbank.browse_cache import drop_generation_schema

    drop_generation_schema(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0008_endpoint_penalty_style"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]

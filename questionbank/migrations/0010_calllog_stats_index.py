"""A covering index for the call-log statistics page (PostgreSQL only).

Every column the statistics read is in the index, so a month of calls is summed with an
index-only scan instead of reading the table (bodies and all). INCLUDE columns are a
PostgreSQL feature; SQLite does without.
"""

from django.db import migrations

INDEX = "calllog_stats_cover"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON questionbank_calllog (created_at) "
            "INCLUDE (endpoint_name, template_id, outcome, error_class, latency_ms, "
            "completion_tokens)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("questionbank", "0009_browse_page_cache"),
    ]

    operations = [migrations.RunPython(create, drop)]

"""Call-log audit (issue 7): an index per admin filter, a trigram index for searching error
text on PostgreSQL, and the django-q2 schedule of the daily retention purge.

The trigram index is PostgreSQL-only, so it is created in RunPython on that vendor; it is on
UPPER(error_message) because that is what Django's icontains compares on PostgreSQL.
"""

from django.db import migrations, models

TRGM_INDEX = "calllog_error_trgm"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON questionbank_calllog "
        "USING gin (UPPER(error_message) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


PURGE_SCHEDULE_NAME = "questionbank: call-log retention purge"  # frozen as written then


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=PURGE_SCHEDULE_NAME,
        defaults={"func": "questionbank.tasks.purge_call_logs", "schedule_type": "D",
                  "repeats": -1})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=PURGE_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("questionbank", "0005_generation_sweep_schedule"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="calllog",
            index=models.Index(fields=["error_class", "-id"], name="calllog_error_class"),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.RunPython(create_schedule, remove_schedule),
    ]

"""The django-q2 schedule that runs the generation sweep every minute.

A data migration (not a post_migrate hook or a `make run` step) so that every database
that is migrated, in development, production or tests, has exactly one such schedule,
created once and repaired by re-running ``sweep_schedule_ensure``.
"""

from django.db import migrations


def create_schedule(apps, schema_editor):
    from questionbank.services.generation import sweep_schedule_ensure

    sweep_schedule_ensure(apps.get_model("django_q", "Schedule"))


def remove_schedule(apps, schema_editor):
    from questionbank.services.generation import SWEEP_SCHEDULE_NAME

    apps.get_model("django_q", "Schedule").objects.filter(name=SWEEP_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("questionbank", "0004_browse_search"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

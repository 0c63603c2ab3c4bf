"""The django-q2 schedule that runs the generation sweep every minute.

A data migration (not a post_migrate hook or a `make run` step) so that every database
that is migrated, in development, production or tests, has exactly one such schedule,
created once; ``sweep_schedule_ensure`` repairs it. Frozen: the values as written then.
"""

from django.db import migrations

NAME = "questionbank: generation sweep"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "questionbank.tasks.sweep", "schedule_type": "I",
                             "minutes": 1, "repeats": -1})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("questionbank", "0004_browse_search"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

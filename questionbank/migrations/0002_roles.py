"""Create the Teacher and Student groups with their permissions, and the call-log chain head."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TEACHER_PERMISSIONS = {
    "problem": ("add", "change", "view", "delete"),
    "tag": ("add", "change", "view", "delete"),
    "prompttemplate": ("add", "change", "view"),
    "generationbatch": ("add", "view"),
    "generationjob": ("view",),
    "solution": ("change", "view"),
    "solutionrevision": ("add", "view"),
    "solutiontransition": ("view",),
    "modelendpoint": ("view",),
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist now.
    app_config = apps.get_app_config("questionbank")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    teacher, _ = Group.objects.get_or_create(name="Teacher")
    Group.objects.get_or_create(name="Student")
    codenames = [f"{action}_{model}" for model, actions in TEACHER_PERMISSIONS.items()
                 for action in actions]
    perms = Permission.objects.filter(content_type__app_label="questionbank",
                                      codename__in=codenames)
    teacher.permissions.set(perms)

    ChainHead = apps.get_model("questionbank", "CallLogChainHead")
    ChainHead.objects.get_or_create(id=1, defaults={"last_hash": "0" * 64, "last_id": 0})


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Teacher", "Student"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("questionbank", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class QuestionbankConfig(AppConfig):
    name = "questionbank"
    verbose_name = _("Question bank")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here: questionbank.db reads the models, which the app registry loads
        # only after this module (Django's documented place for signal wiring). checks
        # registers the start-up checks (questionbank.E020 and friends).
        from questionbank import (
            checks,  # noqa: F401
            robust_queues,
        )
        from questionbank.db.sqlite import recreate_triggers

        post_migrate.connect(recreate_triggers, sender=self,
                             dispatch_uid="questionbank.db.sqlite.recreate_triggers")
        # A qcluster worker killed while it waits for a task must not stall the cluster.
        robust_queues.install()

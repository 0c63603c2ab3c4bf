from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuestionbankConfig(AppConfig):
    name = "questionbank"
    verbose_name = "Question bank"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # SQLite drops a table's triggers when Django rebuilds it to alter a column:
        # put the full-text search objects back after every migrate (questionbank.search).
        # Imported here, not at the top: they need the app registry ready. checks
        # registers the start-up checks (questionbank.E020 and friends).
        from questionbank import checks  # noqa: F401
        from questionbank.search import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, sender=self,
                             dispatch_uid="questionbank.search.ensure_after_migrate")

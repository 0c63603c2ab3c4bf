"""Re-encrypt endpoint passwords and API keys with the newest key in QB_SECRETS_KEY.

    QB_SECRETS_KEY=NEW,OLD python manage.py rotate_secrets_key
    # then set QB_SECRETS_KEY=NEW and restart (README.md, "Secrets at rest")
"""

from django.core.management.base import BaseCommand, CommandError

from questionbank import encryption
from questionbank.services.endpoints import endpoint_secrets_reencrypt


class Command(BaseCommand):
    help = ("Re-encrypt every stored endpoint password and API key with the first (newest) "
            "key in QB_SECRETS_KEY, so older keys can be removed.")

    def handle(self, *args, **options):
        try:
            count = endpoint_secrets_reencrypt()
        except encryption.SecretsKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Re-encrypted {count} secret(s) with the newest key. Older keys can now be "
            "removed from QB_SECRETS_KEY."
        )

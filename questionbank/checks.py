"""System checks run at start-up (runserver, qcluster, migrate, ``manage.py check``, and
by ``wsgi.py`` before gunicorn serves): configuration that only the database can reveal."""

from __future__ import annotations

from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from questionbank import encryption


def _stored_secrets() -> list[str]:
    from questionbank.models import ModelEndpoint  # models load after the app registry

    values: list[str] = []
    for row in ModelEndpoint.objects.values_list(*ModelEndpoint.SECRET_FIELDS):
        values.extend(v for v in row if v)
    return values


@register()
def endpoint_secrets_key(app_configs=None, **kwargs):
    """E020: secrets are stored encrypted but QB_SECRETS_KEY is not set; E021: no key in
    it opens them; W022: plain secrets are left (run ``manage.py migrate``)."""
    try:
        values = _stored_secrets()
    except DatabaseError:
        return []  # no database yet, or not migrated: nothing stored to read
    encrypted = [v for v in values if encryption.is_encrypted(v)]
    problems = []
    if encrypted:
        try:
            for value in encrypted:
                encryption.decrypt(value)
        except encryption.SecretsKeyError as exc:
            problems.append(Error(
                str(exc),
                hint="Without the key the app cannot call model servers that need a "
                "password or API key. Re-enter the secrets in the admin only if the "
                "key is truly lost.",
                id=("questionbank.E020" if isinstance(exc, encryption.SecretsKeyMissing)
                    else "questionbank.E021"),
            ))
    if len(encrypted) < len(values):
        problems.append(Warning(
            f"{len(values) - len(encrypted)} endpoint secret(s) are stored unencrypted.",
            hint="Run python manage.py rotate_secrets_key (or migrate) to encrypt them.",
            id="questionbank.W022",
        ))
    return problems

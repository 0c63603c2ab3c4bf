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


@register()
def call_log_key(app_configs=None, **kwargs):
    """E023: the call-log chain head was made with none of the keys in QB_CALL_LOG_KEY;
    W023: the chain (or its oldest kept row) needs ``manage.py rekey_call_log``;
    W026: the statistics buckets are empty although calls are logged."""
    from questionbank.models import CallLog, CallLogChainHead, CallLogCheckpoint, CallLogStat
    from questionbank.services import calllogs

    try:
        head = CallLogChainHead.objects.filter(id=1).first()
        checkpoint = CallLogCheckpoint.objects.order_by("-purged_through_id").first()
        oldest = CallLog.objects.filter(
            pk__gt=checkpoint.purged_through_id if checkpoint else 0).order_by("pk").first()
        no_stats = oldest is not None and not CallLogStat.objects.exists()
    except DatabaseError:
        return []
    problems = []
    keys = calllogs.chain_keys()
    if head is not None and head.mac:
        matching = [k for k in keys if calllogs.head_mac(head.last_id, head.last_hash, k)
                    == head.mac]
        if not matching:
            problems.append(Error(
                "The call log's chain head was not made with any key in QB_CALL_LOG_KEY "
                "(or the key derived from SECRET_KEY): the key changed, or the head was "
                "edited.",
                hint="Set QB_CALL_LOG_KEY to the key the log was chained with (newest first "
                "when rotating) and run python manage.py verify_call_log; README.md, "
                "\u201cTamper-evident call log\u201d.",
                id="questionbank.E023"))
        elif matching[0] != keys[0]:
            problems.append(Warning(
                "The call log is chained with an older key in QB_CALL_LOG_KEY.",
                hint="Run python manage.py rekey_call_log.", id="questionbank.W023"))
    if oldest is not None and oldest.row_hash != calllogs.row_hash(oldest) and (
            oldest.row_hash == calllogs.unkeyed_row_hash(oldest)):
        problems.append(Warning(
            "Call-log rows from before migration 0022 are chained without a key.",
            hint="Run python manage.py rekey_call_log once (README.md, \u201cTamper-evident "
            "call log\u201d).", id="questionbank.W023"))
    if no_stats:
        problems.append(Warning(
            "The call-log statistics have not been built for the calls already logged.",
            hint="Run python manage.py rebuild_call_log_stats once.", id="questionbank.W026"))
    return problems

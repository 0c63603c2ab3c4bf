"""Writing model endpoints. Secrets are write-only: a blank value keeps the stored one,
and they are stored encrypted (``questionbank.encryption``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from questionbank import encryption
from questionbank.models import ModelEndpoint

_EDITABLE = (
    "name", "protocol", "base_url", "api_name", "model_name", "layout_override", "username",
    "password", "api_key", "connect_timeout", "read_timeout", "deadline", "max_concurrency",
    "stream", "penalty_style", "enabled",
)


@transaction.atomic
def endpoint_create(*, is_standin: bool = False, **fields) -> ModelEndpoint:
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"endpoint_create() got unexpected fields: {sorted(unknown)}")
    endpoint = ModelEndpoint(is_standin=is_standin, **fields)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(
    *, endpoint: ModelEndpoint, clear_secrets: bool = False, **fields
) -> ModelEndpoint:
    """Update an endpoint. Empty password/api_key mean "unchanged" unless clear_secrets."""
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"endpoint_update() got unexpected fields: {sorted(unknown)}")
    for secret in ModelEndpoint.SECRET_FIELDS:
        if secret in fields and not fields[secret] and not clear_secrets:
            del fields[secret]
    changed = [k for k, v in fields.items() if getattr(endpoint, k) != v]
    for name in changed:
        setattr(endpoint, name, fields[name])
    if clear_secrets:
        for secret in ModelEndpoint.SECRET_FIELDS:
            if getattr(endpoint, secret):
                setattr(endpoint, secret, "")
                changed.append(secret)
    if changed:
        endpoint.full_clean()
        endpoint.save(update_fields=[*set(changed), "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_secrets_reencrypt() -> int:
    """Re-encrypt every stored endpoint secret with the newest key in QB_SECRETS_KEY
    (plain ones left from before encryption get encrypted); return how many values were
    rewritten. Raises ``encryption.SecretsKeyError`` when a value opens with no key, before
    anything is written."""
    updates = []
    for row in ModelEndpoint.objects.select_for_update().order_by("pk").values(
            "pk", *ModelEndpoint.SECRET_FIELDS):
        new = {name: encryption.rotate(row[name]) for name in ModelEndpoint.SECRET_FIELDS
               if row[name]}
        if new:
            updates.append((row["pk"], new))
    for pk, new in updates:
        ModelEndpoint.objects.filter(pk=pk).update(**new)
    return sum(len(new) for _, new in updates)


def endpoint_save_discovery(*, endpoint: ModelEndpoint, api_name: str, layout: dict,
                            server_version: str) -> ModelEndpoint:
    """Store what discovery found (webui_status --save, the admin's "check now")."""
    from django.utils import timezone

    endpoint.api_name = api_name or endpoint.api_name
    endpoint.parameter_layout = layout
    endpoint.server_version = server_version[:50]
    endpoint.discovered_at = timezone.now()
    endpoint.save(update_fields=["api_name", "parameter_layout", "server_version",
                                 "discovered_at", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_record_health(*, endpoint: ModelEndpoint, ok: bool,
                           latency_s: float | None = None) -> ModelEndpoint:
    """Store the outcome of a health check (webui_status --save, the admin's "check now").

    ``ok`` is whether the server answered; ``latency_s`` how long the check took. Only the
    health fields are written, so a check never overwrites an admin's concurrent edit.
    """
    from django.utils import timezone

    endpoint.last_checked_at = timezone.now()
    endpoint.last_check_ok = ok
    endpoint.last_check_latency_ms = None if latency_s is None else max(0, round(latency_s * 1000))
    endpoint.save(update_fields=["last_checked_at", "last_check_ok", "last_check_latency_ms"])
    return endpoint


def client_endpoint(endpoint: ModelEndpoint, *, deadline: float | None = None):
    """The ``questionbank.webui.Endpoint`` describing ``endpoint``: the one adapter from the
    model to the Django-free client (generation, ``ask``, ``webui_status``, the admin).

    ``deadline`` (seconds), when given, replaces the endpoint's own overall deadline, e.g.
    to keep a call inside a task timeout. The admin's ``layout_override`` becomes the
    client's ``layout`` (the discovered ``parameter_layout`` is for display only: the
    client discovers again). The result holds the endpoint's secrets in fields its repr
    leaves out; never log it field by field.
    """
    from questionbank.webui import Endpoint

    return Endpoint(
        name=endpoint.name,
        protocol=endpoint.protocol,
        base_url=endpoint.base_url,
        api_name=endpoint.api_name,
        layout=dict(endpoint.layout_override) if endpoint.layout_override else None,
        model=endpoint.model_name,
        username=endpoint.username,
        password=endpoint.secret("password"),
        api_key=endpoint.secret("api_key"),
        connect_timeout=endpoint.connect_timeout,
        read_timeout=endpoint.read_timeout,
        deadline=endpoint.deadline if deadline is None else deadline,
        stream=endpoint.stream,
        penalty_style=endpoint.penalty_style,
    )


def endpoint_check(*, endpoint: ModelEndpoint, save: bool = True):
    """Run discovery and a health check against ``endpoint`` now; return the
    ``webui.Health`` (never raises for server trouble: ``health.error`` says what failed).

    With ``save`` (the default) the health fields are stored, and so is the discovered
    layout when discovery succeeded. The HTTP call runs outside any transaction (short
    timeouts: the client caps a health check at a minute).
    """
    from questionbank.webui import Client

    health = Client(client_endpoint(endpoint)).health()
    if save:
        endpoint_record_check(endpoint=endpoint, health=health)
    return health


@transaction.atomic
def endpoint_record_check(*, endpoint: ModelEndpoint, health) -> ModelEndpoint:
    """Store a ``webui.Health``: the health fields always, the discovered api name,
    layout and version only when discovery succeeded (a failed check keeps the last
    good layout)."""
    if health.reachable and not health.error:
        endpoint_save_discovery(endpoint=endpoint, api_name=health.api_name,
                                layout=dict(health.layout), server_version=health.version)
    return endpoint_record_health(endpoint=endpoint, ok=health.reachable,
                                  latency_s=health.latency_s if health.reachable else None)


def health_summary(health) -> str:
    """One line describing a ``webui.Health`` for admins and the command line."""
    if not health.reachable:
        return gettext("unreachable: %(error)s") % {"error": health.error}
    parts = [gettext("reachable in %(ms)s ms") % {"ms": round(health.latency_s * 1000)}]
    if health.version:
        parts.append(gettext("version %(version)s") % {"version": health.version})
    parts.append(gettext("protocol %(protocol)s") % {"protocol": health.protocol})
    if health.api_name:
        parts.append(gettext("endpoint %(name)s") % {"name": health.api_name})
    if health.models:
        parts.append(gettext("models %(names)s") % {"names": ", ".join(health.models[:5])})
    if health.layout:
        parts.append(gettext("layout %(layout)s") % {
            "layout": ", ".join(f"{k} = {v}" for k, v in health.layout.items())})
    if health.error:
        parts.append(gettext("but: %(error)s") % {"error": health.error})
    return " · ".join(parts)

"""Writing model endpoints. Secrets are write-only: a blank value keeps the stored one."""

from __future__ import annotations

from django.db import transaction

from questionbank.models import ModelEndpoint

_EDITABLE = (
    "name", "protocol", "base_url", "api_name", "model_name", "layout_override", "username",
    "password", "api_key", "connect_timeout", "read_timeout", "deadline", "max_concurrency",
    "stream", "enabled",
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

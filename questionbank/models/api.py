"""Personal API tokens and the Idempotency-Key record of the JSON API (issue 16)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, *, now=None):
        """Tokens that authenticate: not revoked and not past their expiry."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A personal token. Only the SHA-256 of the secret is stored: the secret is shown
    once, when the token is made (``services.api_tokens.token_create``). The secret is
    256 random bits, so a fast hash is as safe as a slow one and costs no CPU per call."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, shown on the account page to tell tokens apart.
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Updated at most once per QB_API_TOKEN_TOUCH_SECONDS, not on every request.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    # Last refused use (revoked or expired token presented), for the admin.
    last_refused_at = models.DateTimeField(_("last refused at"), null=True, blank=True)
    uses_refused = models.PositiveIntegerField(_("uses refused"), default=0)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    STATE_LABELS = {"active": _("active"), "expired": _("expired"), "revoked": _("revoked")}

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"

    @property
    def state_label(self) -> str:
        return self.STATE_LABELS[self.state]


class ApiIdempotencyKey(models.Model):
    """The first answer to a request that carried an ``Idempotency-Key``: a retry with the
    same key (same user, same operation, same body) gets it again instead of new work."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE,
                             related_name="+")
    key = models.CharField(_("key"), max_length=200)
    operation = models.CharField(_("operation"), max_length=100)
    request_hash = models.CharField(_("request hash"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), default=0)
    response_body = models.JSONField(_("response body"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="api_idempotency_key_per_user")]
        verbose_name = _("api idempotency key")
        verbose_name_plural = _("api idempotency keys")

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"

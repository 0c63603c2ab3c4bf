"""API tokens in the admin: who has which token, when it was last used or refused.
Read-only but for revoking: a token's secret is never stored, so it cannot be shown."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from questionbank.models import ApiToken
from questionbank.services.api_tokens import token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "state", "created_at", "last_used_at",
                    "expires_at", "uses_refused", "last_refused_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "revoked_at",
                       "last_used_at", "last_refused_at", "uses_refused")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # users make their own tokens, on their account page

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        n = sum(token_revoke(token=token, user=token.user) for token in queryset)
        self.message_user(request, _("%(n)d token(s) revoked.")
                          % {"n": n}, messages.SUCCESS)

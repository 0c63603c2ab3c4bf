"""The account page where a user makes and revokes personal API tokens."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from questionbank.api.queries import api_tokens_of
from questionbank.models import ApiToken
from questionbank.services.api_tokens import token_create, token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Where it is used, e.g. “Moodle sync”."))
    expires = forms.DateField(label=_("Expires"), required=False,
                              help_text=_("Optional: the last day it works."),
                              widget=forms.DateInput(attrs={"type": "date"}))


@login_required
def tokens(request):
    """List the user's tokens; POST makes one and shows its text this once."""
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            expires = form.cleaned_data["expires"]
            expires_at = (timezone.make_aware(datetime.combine(expires, time.max))
                          if expires else None)
            try:
                token, new_token = token_create(user=request.user,
                                                name=form.cleaned_data["name"],
                                                expires_at=expires_at)
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                form = TokenForm()
    else:
        form = TokenForm()
    response = render(request, "accounts/api_tokens.html", {
        "form": form, "tokens": api_tokens_of(user=request.user), "new_token": new_token})
    response["Cache-Control"] = "no-store"  # the new token must not be kept by a cache
    return response


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token_revoke(token=token, user=request.user):
        messages.success(request, _("The token “%(name)s” is revoked: it no longer works.")
                         % {"name": token.name})
    else:
        messages.info(request, _("The token “%(name)s” was already revoked.")
                      % {"name": token.name})
    return redirect("api-tokens")

"""Login throttling (issue 14, defect 7): per account and per address, on the site login
and the admin login, with a page in words and the lock-outs visible in the admin."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests import factories

GOOD = "correct horse battery staple"
SITE, ADMIN = "/login/", "/admin/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = settings.QB_LOGIN_FAILURE_LIMIT = 3


def _post(client: Client, url: str, username: str, password: str, addr: str = "10.0.0.1"):
    return client.post(url, {"username": username, "password": password},
                       REMOTE_ADDR=addr)


@pytest.mark.parametrize("url", [SITE, ADMIN])
def test_wrong_passwords_lock_the_account_even_for_the_right_one(db, client, url):
    user = factories.make_admin("ada")
    user.set_password(GOOD)
    user.save()
    for _ in range(2):
        assert _post(client, url, "ada", "wrong").status_code == 200  # the form again
    locked = _post(client, url, "ada", "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed log-ins" in text and "Wait 15 minutes" in text
    # The right password no longer gets in, from here or from another address.
    assert _post(client, url, "ada", GOOD).status_code == 429
    assert _post(Client(), url, "ada", GOOD, addr="10.9.9.9").status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_address_trying_many_accounts_is_locked_out(db):
    client = Client()
    for name in ("a1", "a2", "a3"):
        _post(client, SITE, name, "guess", addr="10.0.0.7")
    user = factories.make_teacher("bob")
    user.set_password(GOOD)
    user.save()
    assert _post(client, SITE, "bob", GOOD, addr="10.0.0.7").status_code == 429
    # bob himself, from his own machine, still gets in.
    assert _post(Client(), SITE, "bob", GOOD, addr="10.0.0.8").status_code == 302


def test_a_success_before_the_limit_resets_the_count(db, client):
    user = factories.make_teacher("cy")
    user.set_password(GOOD)
    user.save()
    for _ in range(2):
        _post(client, SITE, "cy", "wrong")
    assert _post(client, SITE, "cy", GOOD).status_code == 302
    client.logout()
    for _ in range(2):
        assert _post(client, SITE, "cy", "wrong").status_code == 200


def test_admins_see_and_lift_lockouts(db, admin_client):
    locked_client = Client()
    for _ in range(3):
        _post(locked_client, SITE, "victim", "wrong", addr="10.0.0.3")
    attempts = admin_client.get(
        reverse("admin:axes_accessattempt_changelist") + "?locked_out=yes")
    assert attempts.status_code == 200
    assert "victim" in attempts.content.decode()
    AccessAttempt.objects.filter(username="victim").delete()  # what "delete" in the admin does
    assert _post(locked_client, SITE, "victim", "wrong", addr="10.0.0.3").status_code == 200


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(db, settings):
    settings.QB_BEHIND_PROXY = True
    client = Client()
    for n in range(3):  # the client forges a different first hop each time
        client.post(SITE, {"username": f"x{n}", "password": "w"}, REMOTE_ADDR="127.0.0.1",
                    HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.5")
    assert AccessAttempt.objects.filter(ip_address="203.0.113.5").count() == 3
    blocked = client.post(SITE, {"username": "x9", "password": "w"}, REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.5")
    assert blocked.status_code == 429

"""manage.py create_teacher: create or promote, password checks, and what a teacher can open."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from questionbank.permissions import TEACHER_GROUP, is_teacher
from tests import factories

pytestmark = pytest.mark.django_db

GOOD = "lighthouse-marmalade-93"


def create_teacher(*args, stdin: str | None = None):
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("create_teacher", *args, **kwargs)
    return out.getvalue(), err.getvalue()


def get(username):
    return get_user_model().objects.get(username=username)


def test_creates_a_teacher_from_stdin():
    out, _ = create_teacher("alice", "--email", "alice@school.example", "--password-stdin",
                            stdin=GOOD + "\n")
    alice = get("alice")
    assert alice.is_staff and not alice.is_superuser
    assert alice.groups.filter(name=TEACHER_GROUP).exists()
    assert is_teacher(alice)
    assert alice.email == "alice@school.example"
    assert alice.check_password(GOOD)
    assert 'Created teacher "alice"' in out


def test_prompts_twice_and_retries_on_mismatch_and_weak(monkeypatch):
    answers = iter(["one-password-11", "another-password-22", "12345", "12345", GOOD, GOOD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _, err = create_teacher("bob")
    assert "The two passwords differ" in err
    assert "That password was refused" in err and "too short" in err
    assert get("bob").check_password(GOOD)


def test_prompt_gives_up_after_three_bad_attempts(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "password")
    with pytest.raises(CommandError, match="No acceptable password after 3 attempts"):
        create_teacher("carol")
    assert not get_user_model().objects.filter(username="carol").exists()


def test_weak_password_is_refused_with_reasons():
    with pytest.raises(CommandError) as caught:
        create_teacher("dave", "--password-stdin", stdin="password\n")
    message = str(caught.value)
    assert "That password was refused" in message and "too common" in message
    assert "Nothing was changed" in message
    assert not get_user_model().objects.filter(username="dave").exists()


def test_password_like_the_username_is_refused():
    with pytest.raises(CommandError, match="too similar"):
        create_teacher("margaretha", "--password-stdin", stdin="margaretha1\n")


def test_empty_stdin_is_a_clear_error():
    with pytest.raises(CommandError, match="standard input was empty"):
        create_teacher("erin", "--password-stdin", stdin="")


def test_no_input_creates_without_a_usable_password():
    out, _ = create_teacher("frank", "--no-input")
    frank = get("frank")
    assert is_teacher(frank) and frank.is_staff
    assert not frank.has_usable_password()
    assert "changepassword frank" in out


def test_promotes_an_existing_user_and_keeps_the_password():
    factories.make_student("grace")
    out, _ = create_teacher("grace", "--no-input")
    grace = get("grace")
    assert grace.is_staff and grace.groups.filter(name=TEACHER_GROUP).exists()
    assert grace.check_password("correct horse battery staple")
    assert "a teacher" in out and "password unchanged" in out


def test_promoting_can_set_a_new_password():
    factories.UserFactory(username="heidi")
    create_teacher("heidi", "--password-stdin", stdin=GOOD + "\n")
    assert get("heidi").check_password(GOOD) and is_teacher(get("heidi"))


def test_existing_teacher_is_a_clear_error():
    factories.make_teacher("ivan")
    with pytest.raises(CommandError, match='"ivan" is already a teacher.*changepassword ivan'):
        create_teacher("ivan", "--no-input")


def test_invalid_username_and_email():
    with pytest.raises(CommandError, match="cannot be used as a username"):
        create_teacher("no spaces allowed", "--no-input")
    with pytest.raises(CommandError, match="not a valid e-mail address"):
        create_teacher("judy", "--email", "not-an-address", "--no-input")
    assert get_user_model().objects.count() == 0


def test_password_options_are_exclusive():
    with pytest.raises(CommandError):
        create_teacher("kim", "--no-input", "--password-stdin", stdin=GOOD)


def test_new_teacher_can_open_the_teacher_pages_and_a_student_cannot(client):
    create_teacher("leo", "--password-stdin", stdin=GOOD + "\n")
    assert client.login(username="leo", password=GOOD)
    assert client.get("/teach/").status_code == 200
    assert client.get("/teach/problems/").status_code == 200
    client.logout()
    factories.make_student("mia")
    assert client.login(username="mia", password="correct horse battery staple")
    assert client.get("/teach/").status_code == 403

"""Anonymous users and students never reach teacher or admin pages."""

import pytest
from django.urls import reverse

from tests.factories import make_problem

TEACHER_URLS = ["teacher:dashboard", "teacher:problem-list", "teacher:problem-create"]


@pytest.mark.parametrize("name", TEACHER_URLS)
def test_anonymous_goes_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", TEACHER_URLS)
def test_student_is_refused(student_client, name):
    assert student_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", TEACHER_URLS)
def test_teacher_gets_in(teacher_client, name):
    assert teacher_client.get(reverse(name)).status_code == 200


def test_student_cannot_reach_admin(student_client):
    response = student_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_teacher_admin_access_is_limited_to_their_permissions(teacher_client):
    assert teacher_client.get(reverse("admin:questionbank_problem_changelist")).status_code == 200
    assert teacher_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert teacher_client.get(reverse("admin:questionbank_calllog_changelist")).status_code == 403


def test_teacher_sees_the_problem_list(teacher_client):
    make_problem(title="Quadratic residues")
    page = teacher_client.get(reverse("teacher:problem-list")).content.decode()
    assert "Quadratic residues" in page


def test_problem_detail_for_teacher_and_404_for_missing(teacher_client):
    problem = make_problem()
    url = reverse("teacher:problem-detail", args=[problem.pk])
    assert teacher_client.get(url).status_code == 200
    assert teacher_client.get(reverse("teacher:problem-detail", args=[999999])).status_code == 404


def test_login_page_and_bad_password_message(client, teacher):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "teacher", "password": "wrong"})
    assert "do not match an account" in response.content.decode()
    response = client.post(reverse("login"), {"username": "teacher",
                                               "password": "correct horse battery staple"})
    assert response.status_code == 302


def test_roles_created_by_migration(db):
    from django.contrib.auth.models import Group

    teacher = Group.objects.get(name="Teacher")
    assert teacher.permissions.filter(codename="change_solution").exists()
    assert not teacher.permissions.filter(codename="audit_calllog").exists()
    assert Group.objects.filter(name="Student").exists()

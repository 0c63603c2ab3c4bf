"""Writing user accounts and their roles (manage.py create_teacher, seed_demo).

Roles are groups (permissions.TEACHER_GROUP, STUDENT_GROUP) plus Django's own flags:
a teacher is staff (the admin site, limited by the Teacher group's permissions); an
admin is a superuser. Password strength is checked by the callers, which can explain
the problem in their own words; these functions only hash and store.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from questionbank.permissions import STUDENT_GROUP, TEACHER_GROUP

ROLE_TEACHER = "teacher"
ROLE_STUDENT = "student"
ROLE_ADMIN = "admin"
ROLES = (ROLE_TEACHER, ROLE_STUDENT, ROLE_ADMIN)


def password_problems(*, password: str, username: str, email: str = "") -> list[str]:
    """Django's password validators' complaints about ``password`` for this user (or [])."""
    user = get_user_model()(username=username, email=email)
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        return list(error.messages)
    return []


@transaction.atomic
def user_create(*, username: str, role: str, email: str = "", password: str | None = None):
    """Create a user with one role. ``password=None`` leaves an unusable password
    (set one later with ``manage.py changepassword``)."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    User = get_user_model()
    user = User(username=username, email=email)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.is_staff = role in (ROLE_TEACHER, ROLE_ADMIN)
    user.is_superuser = role == ROLE_ADMIN
    user.full_clean(exclude=["password"])
    user.save()
    if role == ROLE_TEACHER:
        user.groups.add(Group.objects.get(name=TEACHER_GROUP))
    elif role == ROLE_STUDENT:
        user.groups.add(Group.objects.get(name=STUDENT_GROUP))
    return user


@transaction.atomic
def user_make_teacher(*, user, email: str | None = None):
    """Give an existing user the teacher role: staff flag and the Teacher group."""
    fields = []
    if not user.is_staff:
        user.is_staff = True
        fields.append("is_staff")
    if email is not None and email != user.email:
        user.email = email
        fields.append("email")
    if fields:
        user.full_clean(exclude=["password"])
        user.save(update_fields=fields)
    user.groups.add(Group.objects.get(name=TEACHER_GROUP))
    user.__dict__.pop("_qb_groups", None)  # permissions.in_group caches memberships
    return user


def user_set_password(*, user, password: str):
    """Hash and store a new password for ``user``."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user

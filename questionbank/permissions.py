"""Who may do what. Roles are the Teacher and Student groups; staff superusers are admins."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

TEACHER_GROUP = "Teacher"
STUDENT_GROUP = "Student"


def in_group(user, name: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_qb_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._qb_groups = cache
    return name in cache


def is_teacher(user) -> bool:
    return user.is_authenticated and (user.is_superuser or in_group(user, TEACHER_GROUP))


def is_student(user) -> bool:
    return in_group(user, STUDENT_GROUP)


def is_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


def can_audit_calls(user) -> bool:
    return user.is_authenticated and user.has_perm("questionbank.audit_calllog")


def can_browse(user) -> bool:
    """Published explanations: public, or for any logged-in user (QB_PUBLIC_BROWSING)."""
    return settings.QB_PUBLIC_BROWSING or user.is_authenticated


def _require(test):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not test(request.user):
                raise PermissionDenied(gettext("This page is for teachers."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


teacher_required = _require(is_teacher)
"""View decorator: anonymous users go to the login page, other non-teachers get 403."""


def browse_allowed(view):
    """View decorator for student pages: login page unless browsing is public."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_browse(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped

"""The site's role rules (questionbank.permissions) as DRF permission classes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from questionbank import permissions as roles


class _Role(BasePermission):
    message = _("Your account may not do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 for an anonymous caller
        return self.allows(user)

    def allows(self, user) -> bool:
        raise NotImplementedError


class IsTeacher(_Role):
    """Teachers and admins: problems, templates, generation, review."""

    message = _("This is for teachers; your account is not a teacher's.")

    def allows(self, user) -> bool:
        return roles.is_teacher(user)


class CanAuditCalls(_Role):
    """Holders of "Can audit model call logs" (and admins)."""

    message = _("The call log is for auditors; your account may not read it.")

    def allows(self, user) -> bool:
        return roles.can_audit_calls(user)


class IsTeacherOrAuditor(_Role):
    """A job's calls: its teacher's (the view checks whose job it is), or an auditor's."""

    message = _("This is for teachers and auditors.")

    def allows(self, user) -> bool:
        return roles.is_teacher(user) or roles.can_audit_calls(user)


class IsAuthenticated(_Role):
    message = _("Log in first.")

    def allows(self, user) -> bool:
        return True


class CanBrowse(BasePermission):
    """Published problems: anyone when QB_PUBLIC_BROWSING, else any logged-in user."""

    message = _("Log in to read the published explanations.")

    def has_permission(self, request, view) -> bool:
        return roles.can_browse(request.user)

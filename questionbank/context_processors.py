from questionbank import permissions


def roles(request):
    """Role flags for the navigation bar."""
    user = request.user
    return {
        "is_teacher": permissions.is_teacher(user),
        "can_audit_calls": permissions.can_audit_calls(user),
    }

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect

from questionbank.forms import LoginForm
from questionbank.permissions import is_teacher


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def home(request):
    """Teachers land on their dashboard; everyone else on the published explanations."""
    if is_teacher(request.user):
        return redirect("teacher:dashboard")
    return redirect("browse:home")

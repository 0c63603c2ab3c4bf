"""URL routes. Each domain keeps its own list; the namespaces are used by templates."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from questionbank.views import accounts, browse, problems

# Teacher pages (login + Teacher group). Other domains add their routes to this list.
teacher_patterns = [
    path("", problems.dashboard, name="dashboard"),
    path("problems/", problems.problem_list, name="problem-list"),
    path("problems/new/", problems.problem_create_view, name="problem-create"),
    path("problems/<int:pk>/", problems.problem_detail, name="problem-detail"),
    path("problems/<int:pk>/edit/", problems.problem_edit, name="problem-edit"),
]

# Student pages (public or login, per QB_PUBLIC_BROWSING).
browse_patterns = [
    path("", browse.home, name="home"),
    path("problems/", browse.problem_list, name="problem-list"),
    path("problems/<int:pk>/", browse.problem_detail, name="problem-detail"),
    path("tags/", browse.tag_list, name="tag-list"),
    path("tags/<slug:slug>/", browse.tag_detail, name="tag"),
]

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("teach/", include((teacher_patterns, "teacher"))),
    path("browse/", include((browse_patterns, "browse"))),
    path("admin/", admin.site.urls),
]

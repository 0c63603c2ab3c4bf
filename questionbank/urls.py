"""URL routes. Each domain keeps its own list; the namespaces are used by templates."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import JavaScriptCatalog, set_language

from questionbank.views import accounts, batches, browse, problems, solutions, templates
from questionbank.views import calllogs as calllog_views
from questionbank.views import interchange as interchange_views
from questionbank.views import judge as judge_views

# Teacher pages (login + Teacher group). Other domains add their routes to this list.
teacher_patterns = [
    path("", problems.dashboard, name="dashboard"),
    path("problems/", problems.problem_list, name="problem-list"),
    path("problems/new/", problems.problem_create_view, name="problem-create"),
    path("problems/<int:pk>/", problems.problem_detail, name="problem-detail"),
    path("problems/<int:pk>/edit/", problems.problem_edit, name="problem-edit"),
    path("problems/bulk/", problems.problem_bulk, name="problem-bulk"),
    path("preview/", solutions.markdown_preview, name="preview"),
    path("generate/", batches.generate, name="generate"),
    path("batches/", batches.batch_list, name="batch-list"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/progress/", batches.batch_progress_json, name="batch-progress"),
    path("batches/<int:pk>/cancel/", batches.batch_cancel_view, name="batch-cancel"),
    path("batches/<int:pk>/retry/", batches.batch_retry_view, name="batch-retry"),
    path("templates/", templates.template_list, name="template-list"),
    path("templates/new/", templates.template_create_view, name="template-create"),
    path("templates/<int:pk>/", templates.template_detail, name="template-detail"),
    path("templates/<int:pk>/edit/", templates.template_edit, name="template-edit"),
    path("review/", solutions.review_queue, name="review-queue"),
    path("review/bulk/", solutions.review_bulk, name="review-bulk"),
    path("solutions/<int:pk>/", solutions.solution_review, name="solution-review"),
    path("solutions/<int:pk>/edit/", solutions.solution_edit, name="solution-edit"),
    path("solutions/<int:pk>/history/", solutions.solution_history, name="solution-history"),
    path("solutions/<int:pk>/revert/", solutions.solution_revert_view, name="solution-revert"),
    path("solutions/<int:pk>/status/", solutions.solution_transition_view,
         name="solution-transition"),
    path("solutions/<int:pk>/compare/<int:other>/", solutions.solution_compare,
         name="solution-compare"),
    path("solutions/<int:pk>/judge/", judge_views.solution_judge, name="solution-judge"),
    path("problems/<int:pk>/judge/", judge_views.problem_judge_reference,
         name="problem-judge-reference"),
    path("jobs/<int:pk>/calls/", calllog_views.job_calls, name="job-calls"),
    path("import/", interchange_views.import_upload, name="import"),
    path("import/<str:token>/", interchange_views.import_preview, name="import-preview"),
    path("export/", interchange_views.export_view, name="export"),
]

# Student pages (public or login, per QB_PUBLIC_BROWSING).
browse_patterns = [
    path("", browse.home, name="home"),
    path("problems/", browse.problem_list, name="problem-list"),
    path("problems/<int:pk>/", browse.problem_detail, name="problem-detail"),
    path("problems/<int:pk>/previous/", browse.problem_step, {"direction": "previous"},
         name="problem-previous"),
    path("problems/<int:pk>/next/", browse.problem_step, {"direction": "next"},
         name="problem-next"),
    path("tags/", browse.tag_list, name="tag-list"),
    path("tags/<slug:slug>/", browse.tag_detail, name="tag"),
]

urlpatterns = [
    # The students' pages first: they are most of the traffic, and resolving walks this
    # list in order.
    path("browse/", include((browse_patterns, "browse"))),
    path("", accounts.home, name="home"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("teach/", include((teacher_patterns, "teacher"))),
    path("admin/", admin.site.urls),
    # The language switcher posts to Django's set_language, which stores the choice in the
    # language cookie and goes back to the page. CSRF-exempt: the switcher is on the
    # students' pages, cached whole for every anonymous visitor (questionbank/browse/
    # cache.py), so it cannot carry a per-visitor token; the worst a forged post can do is
    # change someone's interface language (``next`` is still checked to be this site).
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    # The scripts' strings (static/js/*.js call gettext()), in the page's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("questionbank.api.urls")),  # /api/v1/ and /account/tokens/
]

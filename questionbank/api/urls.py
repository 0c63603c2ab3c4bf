"""/api/v1/ (the JSON API, its schema and docs) and the account page for API tokens."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from questionbank.api import account, views
from questionbank.api.errors import not_found

api = [
    path("me/", views.MeView.as_view(), name="me"),
    path("tags/", views.TagListView.as_view(), name="tag-list"),
    path("problems/", views.ProblemListView.as_view(), name="problem-list"),
    path("problems/import/", views.ProblemImportView.as_view(), name="problem-import"),
    path("problems/<int:pk>/", views.ProblemDetailView.as_view(), name="problem-detail"),
    path("problems/<int:pk>/archive/", views.ProblemArchiveView.as_view(),
         name="problem-archive"),
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path("templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template-detail"),
    path("endpoints/", views.EndpointListView.as_view(), name="endpoint-list"),
    path("batches/", views.BatchListView.as_view(), name="batch-list"),
    path("batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<int:pk>/jobs/", views.BatchJobsView.as_view(), name="batch-jobs"),
    path("batches/<int:pk>/cancel/", views.BatchCancelView.as_view(), name="batch-cancel"),
    path("batches/<int:pk>/retry/", views.BatchRetryView.as_view(), name="batch-retry"),
    path("jobs/<int:pk>/calls/", views.JobCallsView.as_view(), name="job-calls"),
    path("solutions/", views.SolutionListView.as_view(), name="solution-list"),
    path("solutions/<int:pk>/", views.SolutionDetailView.as_view(), name="solution-detail"),
    path("solutions/<int:pk>/revisions/", views.SolutionRevisionView.as_view(),
         name="solution-revisions"),
    path("solutions/<int:pk>/transition/", views.SolutionTransitionView.as_view(),
         name="solution-transition"),
    path("published/problems/", views.PublishedListView.as_view(), name="published-list"),
    path("published/problems/<int:pk>/", views.PublishedDetailView.as_view(),
         name="published-detail"),
    path("published/tags/", views.PublishedTagsView.as_view(), name="published-tags"),
    path("calls/", views.CallListView.as_view(), name="call-list"),
    path("calls/export/", views.CallExportView.as_view(), name="call-export"),
    path("calls/verify/", views.CallVerifyView.as_view(), name="call-verify"),
    path("calls/<int:pk>/", views.CallDetailView.as_view(), name="call-detail"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema",
                                                 permission_classes=[AllowAny]), name="docs"),
    re_path(r"^.*$", not_found),
]

urlpatterns = [
    path("api/v1/", include((api, "api"))),
    path("account/tokens/", account.tokens, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", account.token_revoke_view, name="api-token-revoke"),
]

"""The API's endpoints: HTTP in, a service or selector call, JSON out.

Rules are the site's: teachers (and admins) work on problems, templates, generation and
review; students and anonymous visitors (when QB_PUBLIC_BROWSING) read published
problems only; the call log is for holders of "Can audit model call logs"; a job's own
calls are for the teacher who started it. Nobody writes the call log.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from questionbank import selectors
from questionbank.api import queries
from questionbank.api import serializers as s
from questionbank.api.errors import ApiError, RequestTooLarge
from questionbank.api.idempotency import idempotent
from questionbank.api.pagination import NoCountPagination
from questionbank.api.permissions import (
    CanAuditCalls,
    CanBrowse,
    IsAuthenticated,
    IsTeacherOrAuditor,
)
from questionbank.browse.search import parse_query
from questionbank.models import (
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
    Solution,
    Tag,
)
from questionbank.permissions import can_audit_calls, is_admin, is_student, is_teacher
from questionbank.services import generation, interchange
from questionbank.services.calllog_export import EXPORT_FORMATS, calllog_export
from questionbank.services.calllogs import calllog_verify
from questionbank.services.problems import problem_create, problem_update, problems_set_status
from questionbank.services.solutions import solution_add_revision, solution_transition
from questionbank.services.templates import template_create, template_update

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (a UUID): a retry with the same key and body gets the "
                "first answer instead of starting the work again (kept 24 hours).")
# The site's students' list goes no deeper than this page either (views/browse.py).
BROWSE_MAX_PAGE = 2000


class ApiView(GenericAPIView):
    """Base view: a request body larger than the cap is refused before it is read."""

    body_cap_setting = "QB_API_MAX_BODY_BYTES"
    body_overhead = 0

    def initial(self, request, *args, **kwargs):
        cap = getattr(settings, self.body_cap_setting)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > cap + self.body_overhead:
            raise RequestTooLarge(cap)
        if kwargs.get("pk", 0) > s.MAX_ID:
            raise Http404  # no row has such an id; raw SQL would overflow on it
        super().initial(request, *args, **kwargs)

    def get_object_or_404(self, queryset, **lookup):
        return queryset.get(**lookup)  # DoesNotExist -> 404 (errors.py)

    def page(self, queryset, serializer_class, **context):
        rows = self.paginate_queryset(queryset)
        data = serializer_class(rows, many=True, context={"request": self.request, **context})
        return self.get_paginated_response(data.data)


def _validated(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Who am I -----------------------------------------------------------------------------


class MeView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeSerializer, tags=["account"],
                   summary="The account behind this token or session, and its roles")
    def get(self, request):
        user = request.user
        roles = [name for name, test in (("teacher", is_teacher), ("student", is_student),
                                         ("auditor", can_audit_calls), ("admin", is_admin))
                 if test(user)]
        token = getattr(request.auth, "name", None)
        return Response({"username": user.get_username(), "roles": roles, "token": token})


# --- Problems and tags ----------------------------------------------------------------------


class TagListView(ApiView):
    pagination_class = None

    @extend_schema(responses=s.TagSerializer(many=True), tags=["problems"],
                   summary="Every tag")
    def get(self, request):
        return Response(s.TagSerializer(selectors.all_tags(), many=True).data)


class ProblemListView(ApiView):
    @extend_schema(
        tags=["problems"], summary="Problems, filtered as on the teachers' list",
        parameters=[
            OpenApiParameter("q", str, description="Words in the title, statement or source."),
            OpenApiParameter("kind", str, enum=Problem.Kind.values),
            OpenApiParameter("status", str, enum=Problem.Status.values),
            OpenApiParameter("tag", str, description="A tag's slug."),
            OpenApiParameter("difficulty", int, enum=Problem.Difficulty.values),
        ],
        responses=s.ProblemSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.teacher_problem_list(
            q=p.get("q", "")[:200], kind=p.get("kind", ""), status=p.get("status", ""),
            tag=p.get("tag", ""), difficulty=p.get("difficulty", ""))
        return self.page(qs, s.ProblemSerializer)

    @extend_schema(tags=["problems"], summary="Create a problem (version 1)",
                   request=s.ProblemInputSerializer, responses={201: s.ProblemSerializer})
    def post(self, request):
        data = _validated(s.ProblemInputSerializer, request.data)
        tags = data.pop("tags", [])
        problem = problem_create(created_by=request.user, tags=tags, **data)
        return Response(s.ProblemSerializer(selectors.teacher_problem_detail(pk=problem.pk)).data,
                        status=status.HTTP_201_CREATED)


class ProblemDetailView(ApiView):
    @extend_schema(tags=["problems"], summary="One problem", responses=s.ProblemSerializer)
    def get(self, request, pk: int):
        return Response(s.ProblemSerializer(selectors.teacher_problem_detail(pk=pk)).data)

    @extend_schema(tags=["problems"], request=s.ProblemInputSerializer,
                   responses=s.ProblemSerializer,
                   summary="Change a problem: its version goes up when the statement or "
                           "reference answer changes (earlier solutions become stale)")
    def patch(self, request, pk: int):
        problem = selectors.teacher_problem_detail(pk=pk)
        data = _validated(s.ProblemInputSerializer, request.data, partial=True)
        tags = data.pop("tags", None)
        problem_update(problem=problem, tags=tags, **data)
        return Response(s.ProblemSerializer(selectors.teacher_problem_detail(pk=pk)).data)


class ProblemArchiveView(ApiView):
    @extend_schema(tags=["problems"], request=None, responses=s.ProblemSerializer,
                   summary="Archive a problem (students no longer see it; nothing is deleted)")
    def post(self, request, pk: int):
        problem = selectors.teacher_problem_detail(pk=pk)
        problems_set_status(problems=[problem], status=Problem.Status.ARCHIVED)
        return Response(s.ProblemSerializer(selectors.teacher_problem_detail(pk=pk)).data)


class ProblemImportView(ApiView):
    parser_classes = [MultiPartParser]
    body_cap_setting = "QB_IMPORT_MAX_BYTES"
    body_overhead = 64 * 1024  # multipart boundaries and the other fields

    @extend_schema(
        tags=["problems"], request={"multipart/form-data": s.ImportInputSerializer},
        parameters=[IDEMPOTENCY_HEADER], responses={200: s.ImportResultSerializer},
        summary="Import a file of problems, as the site's import does; dry_run is its preview")
    def post(self, request):
        data = _validated(s.ImportInputSerializer, request.data)
        upload = data["file"]
        content = upload.read(settings.QB_IMPORT_MAX_BYTES + 1)
        if len(content) > settings.QB_IMPORT_MAX_BYTES:
            raise RequestTooLarge(settings.QB_IMPORT_MAX_BYTES)
        fmt = data.get("format") or None

        def work():
            if data["dry_run"]:
                plan = interchange.import_plan(data=content, filename=upload.name, format=fmt)
                return Response(_import_payload(plan, dry_run=True))
            result = interchange.import_apply(data=content, filename=upload.name, format=fmt,
                                              user=request.user, strict=data["strict"])
            return Response(_import_payload(result.plan, dry_run=False, result=result))

        if data["dry_run"]:
            return work()
        return idempotent(request, "problems.import", work)


def _import_payload(plan, *, dry_run: bool, result=None) -> dict:
    rows = [{"number": r.number, "label": r.label, "action": r.action, "title": r.title,
             "reason": r.reason, "problem_id": r.problem_id, "changes": r.change_labels,
             "warnings": list(r.warnings)} for r in plan.rows]
    if result is None:
        counts = plan.counts
        values = {"create": counts["create"], "update": counts["update"],
                  "skip": counts["skip"], "error": counts["error"]}
        if counts["error"]:
            summary = gettext("Importing would create %(create)s problem(s), update %(update)s, "
                              "leave %(skip)s unchanged and skip %(error)s row(s) with "
                              "errors.") % values
        else:
            summary = gettext("Importing would create %(create)s problem(s), update %(update)s, "
                              "leave %(skip)s unchanged.") % values
    else:
        summary = result.summary()
    return s.ImportResultSerializer({
        "dry_run": dry_run, "format": plan.format, "digest": plan.digest,
        "counts": plan.counts, "notes": list(plan.notes), "rows": rows,
        "created": result.created if result else [], "updated": result.updated if result else [],
        "summary": summary}).data


# --- Prompt templates and model servers ---------------------------------------------------


class TemplateListView(ApiView):
    @extend_schema(tags=["templates"], summary="Current template versions",
                   parameters=[OpenApiParameter("q", str),
                               OpenApiParameter("kind", str, enum=PromptTemplate.Kind.values)],
                   responses=s.TemplateSerializer(many=True))
    def get(self, request):
        p = request.query_params
        return self.page(selectors.teacher_template_list(q=p.get("q", "")[:200],
                                                         kind=p.get("kind", "")),
                         s.TemplateSerializer)

    @extend_schema(tags=["templates"], summary="Create a template (version 1)",
                   request=s.TemplateInputSerializer, responses={201: s.TemplateSerializer})
    def post(self, request):
        data = _validated(s.TemplateInputSerializer, request.data)
        template = template_create(created_by=request.user, **data)
        return Response(s.TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(ApiView):
    @extend_schema(tags=["templates"], summary="One template version, with all its versions",
                   responses=s.TemplateDetailSerializer)
    def get(self, request, pk: int):
        template = PromptTemplate.objects.select_related("created_by").get(pk=pk)
        return Response(self._data(template))

    @extend_schema(tags=["templates"], request=s.TemplateInputSerializer,
                   responses=s.TemplateDetailSerializer,
                   summary="Edit a template: a version already used for generation is kept "
                           "and the edit becomes a new version (returned)")
    def patch(self, request, pk: int):
        template = PromptTemplate.objects.get(pk=pk)
        data = _validated(s.TemplateInputSerializer, request.data, partial=True)
        return Response(self._data(template_update(template=template, user=request.user,
                                                   **data)))

    @staticmethod
    def _data(template) -> dict:
        versions = selectors.template_versions(template=template)
        return s.TemplateDetailSerializer(template, context={"versions": versions}).data


class EndpointListView(ApiView):
    pagination_class = None

    @extend_schema(tags=["generation"], summary="Model servers that generation can use",
                   responses=s.EndpointSerializer(many=True))
    def get(self, request):
        return Response(s.EndpointSerializer(selectors.endpoints_for_generation(),
                                             many=True).data)


# --- Generation -------------------------------------------------------------------------------


def _progress(batch) -> dict:
    raw = selectors.batch_progress(batch)
    return {k: raw[k] for k in ("counts", "total", "done", "remaining", "finished",
                                "eta_seconds", "paused")}


class BatchListView(ApiView):
    @extend_schema(tags=["generation"], summary="Batches, newest first",
                   responses=s.BatchSerializer(many=True))
    def get(self, request):
        qs = selectors.teacher_batch_list().prefetch_related("endpoints")
        rows = self.paginate_queryset(qs)
        progress = {b.pk: _progress(b) for b in rows}
        return self.get_paginated_response(
            s.BatchSerializer(rows, many=True, context={"progress": progress}).data)

    @extend_schema(
        tags=["generation"], request=s.BatchInputSerializer, parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.BatchSerializer},
        summary="Start generation: problems × samples jobs through a template on model servers")
    def post(self, request):
        data = _validated(s.BatchInputSerializer, request.data)
        problem_ids = list(dict.fromkeys(data["problems"]))
        problems = list(Problem.objects.filter(pk__in=problem_ids))
        missing = sorted(set(problem_ids) - {p.pk for p in problems})
        if missing:
            raise ApiError(gettext("There is no problem %(numbers)s; check the numbers.")
                           % {"numbers": ", ".join(map(str, missing[:10]))},
                           code="unknown_problem")
        template = PromptTemplate.objects.filter(pk=data["template"]).first()
        if template is None:
            raise ApiError(gettext("There is no prompt template %(number)s.")
                           % {"number": data["template"]}, code="unknown_template")
        endpoint_ids = list(dict.fromkeys(data["endpoints"]))
        endpoints = list(ModelEndpoint.objects.filter(pk__in=endpoint_ids))
        missing = sorted(set(endpoint_ids) - {e.pk for e in endpoints})
        if missing:
            raise ApiError(gettext("There is no model server %(numbers)s; GET "
                                   "/api/v1/endpoints/ lists them.")
                           % {"numbers": ", ".join(map(str, missing[:10]))},
                           code="unknown_endpoint")

        def work():
            batch = generation.batch_create(
                problems=problems, template=template, endpoints=endpoints,
                samples=data.get("samples"), created_by=request.user, name=data.get("name", ""))
            batch = queries.api_batch(pk=batch.pk)
            return Response(s.BatchSerializer(batch, context={
                "progress": {batch.pk: _progress(batch)}}).data, status=status.HTTP_201_CREATED)

        return idempotent(request, "batches.create", work)


class BatchDetailView(ApiView):
    @extend_schema(tags=["generation"], summary="A batch and its progress",
                   responses=s.BatchSerializer)
    def get(self, request, pk: int):
        batch = queries.api_batch(pk=pk)
        return Response(s.BatchSerializer(batch, context={
            "progress": {batch.pk: _progress(batch)}}).data)


class BatchJobsView(ApiView):
    @extend_schema(tags=["generation"], summary="A batch's jobs and the state of each",
                   parameters=[OpenApiParameter("status", str,
                                                enum=GenerationJob.Status.values)],
                   responses=s.JobSerializer(many=True))
    def get(self, request, pk: int):
        batch = GenerationBatch.objects.get(pk=pk)
        qs = selectors.batch_jobs(batch=batch)
        wanted = request.query_params.get("status", "")
        if wanted in GenerationJob.Status.values:
            qs = qs.filter(status=wanted)
        return self.page(qs, s.JobSerializer)


class BatchCancelView(ApiView):
    @extend_schema(tags=["generation"], request=None, responses=s.CountSerializer,
                   summary="Cancel: queued jobs never start; running ones finish and are kept")
    def post(self, request, pk: int):
        batch = GenerationBatch.objects.get(pk=pk)
        n = generation.batch_cancel(batch=batch, user=request.user)
        message = (f"Cancelled {n} job{'s' if n != 1 else ''} that had not finished. Answers "
                   "already generated are kept." if n else
                   "Nothing to cancel: every job of this batch had finished.")
        return Response({"count": n, "message": message})


class BatchRetryView(ApiView):
    @extend_schema(tags=["generation"], request=None, responses=s.CountSerializer,
                   summary="Queue a batch's failed jobs again")
    def post(self, request, pk: int):
        batch = GenerationBatch.objects.get(pk=pk)
        n = generation.batch_retry_failed(batch=batch, user=request.user)
        message = (f"{n} failed job{'s' if n != 1 else ''} queued again." if n else
                   "There were no failed jobs to retry.")
        return Response({"count": n, "message": message})


# --- Solutions --------------------------------------------------------------------------------


class SolutionListView(ApiView):
    @extend_schema(tags=["solutions"], summary="Solutions, by problem and state",
                   parameters=[OpenApiParameter("problem", int),
                               OpenApiParameter("status", str, enum=Solution.Status.values)],
                   responses=s.SolutionSerializer(many=True))
    def get(self, request):
        raw = request.query_params.get("problem", "")
        if raw and not raw.isdigit():
            raise ApiError(gettext("problem must be a problem's number."), code="invalid")
        qs = queries.api_solution_list(problem=int(raw) if raw else None,
                                       status=request.query_params.get("status", ""))
        return self.page(qs, s.SolutionSerializer)


class SolutionDetailView(ApiView):
    @extend_schema(tags=["solutions"], summary="A solution with its revisions and history",
                   responses=s.SolutionDetailSerializer)
    def get(self, request, pk: int):
        return Response(s.SolutionDetailSerializer(queries.api_solution_detail(pk=pk)).data)


class SolutionRevisionView(ApiView):
    @extend_schema(tags=["solutions"], request=s.RevisionInputSerializer,
                   responses={201: s.SolutionDetailSerializer},
                   summary="Add a revision (history is never rewritten)")
    def post(self, request, pk: int):
        solution = Solution.objects.get(pk=pk)
        data = _validated(s.RevisionInputSerializer, request.data)
        solution_add_revision(solution=solution, body=data["body"], author=request.user,
                              note=data.get("note", ""), base_revision=data.get("base_revision"),
                              final_answer=data.get("final_answer") or None)
        return Response(s.SolutionDetailSerializer(queries.api_solution_detail(pk=pk)).data,
                        status=status.HTTP_201_CREATED)


class SolutionTransitionView(ApiView):
    @extend_schema(
        tags=["solutions"], request=s.TransitionInputSerializer,
        responses=s.SolutionDetailSerializer,
        summary="Publish, unpublish (to draft), send to review or reject a solution",
        description="Publishing applies the site's guards: a concern (disagrees with the "
                    "reference, stand-in text, stale, replaces the published one, ...) "
                    "answers 409 needs_confirmation with the concerns; send their codes in "
                    "`confirm` to publish anyway.")
    def post(self, request, pk: int):
        solution = Solution.objects.get(pk=pk)
        data = _validated(s.TransitionInputSerializer, request.data)
        solution_transition(solution=solution, target=data["target"], user=request.user,
                            reason=data.get("reason", ""), confirm=data.get("confirm", []))
        return Response(s.SolutionDetailSerializer(queries.api_solution_detail(pk=pk)).data)


# --- Students' reading ----------------------------------------------------------------------


class PublishedListView(ApiView):
    permission_classes = [CanBrowse]
    pagination_class = NoCountPagination

    @extend_schema(
        tags=["published"], summary="Published problems (what students see), with search",
        parameters=[OpenApiParameter("q", str, description="Full-text search."),
                    OpenApiParameter("kind", str, enum=Problem.Kind.values),
                    OpenApiParameter("difficulty", int, enum=Problem.Difficulty.values),
                    OpenApiParameter("tag", str, description="A tag's slug."),
                    OpenApiParameter("sort", str, enum=["newest", "relevance"])],
        responses=s.PublishedRowSerializer(many=True))
    def get(self, request):
        p = request.query_params
        search = parse_query(p.get("q", "")[:200])
        kind, difficulty = p.get("kind", ""), p.get("difficulty", "")
        sort = "relevance" if p.get("sort") == "relevance" and search else "newest"
        tag = None
        if p.get("tag"):
            tag = Tag.objects.filter(slug=p["tag"][:120]).first()
            if tag is None:
                raise ApiError(gettext("There is no tag “%(tag)s”.") % {"tag": p["tag"][:120]},
                               code="unknown_tag", status_code=404)
        paginator = self.paginator
        if search.mode == "fts":
            matches = selectors.browse_search_matches(search=search, kind=kind,
                                                      difficulty=difficulty, tag=tag, sort=sort)
            rows = paginator.paginate_queryset(
                matches.ids, request, rows=lambda ids, offset, n: selectors.browse_rows(
                    ids[offset:offset + n]) if self._shallow(paginator) else [])
        else:
            qs = selectors.browse_problem_list(search=search, kind=kind, difficulty=difficulty,
                                               tag=tag, sort=sort)
            rows = paginator.paginate_queryset(
                qs, request, rows=lambda qs, offset, n: selectors.browse_page_rows(
                    qs, offset, n) if self._shallow(paginator) else [])
        return paginator.get_paginated_response(s.PublishedRowSerializer(rows, many=True).data)

    @staticmethod
    def _shallow(paginator) -> bool:
        return paginator.number <= BROWSE_MAX_PAGE


class PublishedDetailView(ApiView):
    permission_classes = [CanBrowse]

    @extend_schema(tags=["published"], responses=s.PublishedProblemSerializer,
                   summary="A published problem and its one published explanation")
    def get(self, request, pk: int):
        return Response(s.PublishedProblemSerializer(selectors.browse_problem_page(pk=pk)).data)


class PublishedTagsView(ApiView):
    permission_classes = [CanBrowse]
    pagination_class = None

    @extend_schema(tags=["published"], summary="Tags with how many published problems each",
                   responses=inline_serializer("PublishedTag", {
                       "name": serializers.CharField(), "slug": serializers.CharField(),
                       "count": serializers.IntegerField()}, many=True))
    def get(self, request):
        return Response([{"name": t["name"], "slug": t["slug"], "count": t["n"]}
                         for t in selectors.browse_tag_counts()])


# --- Call log -----------------------------------------------------------------------------------

CALL_FILTERS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
    OpenApiParameter("endpoint", str, description="An endpoint's id or name."),
    OpenApiParameter("outcome", str, enum=["success", "error"]),
    OpenApiParameter("error_class", str), OpenApiParameter("template", str),
    OpenApiParameter("batch", int), OpenApiParameter("user", str),
    OpenApiParameter("problem", int), OpenApiParameter("job", int),
    OpenApiParameter("search", str, description="In problem titles and error texts."),
]


def _calls(request):
    p = request.query_params
    values = {}
    for name in ("since", "until"):
        if p.get(name):
            field = serializers.DateTimeField()
            try:
                values[name] = field.to_internal_value(p[name])
            except serializers.ValidationError:
                raise ApiError(gettext("%(name)s must be a date and time like "
                                       "2026-01-31T09:00:00Z.") % {"name": name},
                               code="invalid") from None
    for name in ("batch", "problem", "job"):
        if p.get(name) and not p[name].isdigit():
            raise ApiError(gettext("%(name)s must be a number.") % {"name": name},
                           code="invalid")
    text = {name: p.get(name, "")[:200] for name in
            ("endpoint", "outcome", "error_class", "template", "batch", "user", "problem",
             "job", "search")}
    return selectors.calllog_filter(**values, **text)


class CallListView(ApiView):
    permission_classes = [CanAuditCalls]
    pagination_class = NoCountPagination

    @extend_schema(tags=["call log"], summary="Model calls, newest first (auditors)",
                   parameters=CALL_FILTERS, responses=s.CallLogSerializer(many=True))
    def get(self, request):
        qs = selectors.calllog_list(_calls(request)).order_by("-created_at", "-id")
        return self.page(qs, s.CallLogSerializer)


class CallDetailView(ApiView):
    permission_classes = [CanAuditCalls]

    @extend_schema(tags=["call log"], summary="One model call, with what was sent and received",
                   responses=s.CallLogDetailSerializer)
    def get(self, request, pk: int):
        return Response(s.CallLogDetailSerializer(selectors.calllog_detail(pk=pk)).data)


class _TextRenderer(BaseRenderer):
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CSVRenderer(_TextRenderer):
    media_type, format = "text/csv", "csv"


class JSONLinesRenderer(_TextRenderer):
    media_type, format = "application/x-ndjson", "jsonl"


class CallExportView(ApiView):
    permission_classes = [CanAuditCalls]
    renderer_classes = [JSONRenderer, CSVRenderer, JSONLinesRenderer]

    @extend_schema(
        tags=["call log"], summary="Every matching call, streamed as CSV or JSON Lines",
        parameters=[*CALL_FILTERS, OpenApiParameter("format", str, enum=list(EXPORT_FORMATS))],
        responses={(200, "text/csv"): OpenApiTypes.STR,
                   (200, "application/x-ndjson"): OpenApiTypes.STR})
    def get(self, request):
        fmt = request.query_params.get("format", "csv")
        if fmt not in EXPORT_FORMATS:
            raise ApiError(gettext("format must be csv or jsonl."), code="invalid")
        qs = _calls(request)
        media = CSVRenderer.media_type if fmt == "csv" else JSONLinesRenderer.media_type
        response = StreamingHttpResponse(calllog_export(queryset=qs, fmt=fmt),
                                         content_type=f"{media}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="call-log.{fmt}"'
        return response


class CallVerifyView(ApiView):
    permission_classes = [CanAuditCalls]

    @extend_schema(tags=["call log"], responses=s.VerifySerializer,
                   summary="The tamper check: walk the hash chain, report the first broken row")
    def get(self, request):
        report = calllog_verify()
        return Response({"ok": report.ok, "rows_checked": report.rows_checked,
                         "first_broken_id": report.first_broken_id, "message": str(report)})


class JobCallsView(ApiView):
    permission_classes = [IsTeacherOrAuditor]
    pagination_class = None

    @extend_schema(tags=["call log"], responses=s.JobCallSerializer(many=True),
                   summary="The calls of one of your own jobs (any job, for auditors)")
    def get(self, request, pk: int):
        _job, calls = selectors.job_calls_for(user=request.user, pk=pk)
        return Response(s.JobCallSerializer(calls, many=True).data)

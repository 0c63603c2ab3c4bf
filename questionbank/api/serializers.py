"""What the API reads and writes. Output serializers are read-only views of models;
input serializers check types and sizes before a service sees the values (the services
still apply the site's rules and raise the site's sentences)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from questionbank.models import (
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
    Solution,
    SolutionRevision,
    SolutionTransition,
    Tag,
)
from questionbank.sanitize_words import describe_report

# The largest id a database row can have (a 64-bit signed integer).
MAX_ID = 2**63 - 1

# --- Errors (for the schema) --------------------------------------------------------------


class ConcernSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Send this code in “confirm” to accept the concern.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. not_found, rate_limited.")
    message = serializers.CharField(help_text="A sentence for a person.")
    fields = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="Per field, what is wrong with it (validation errors only).")
    concerns = ConcernSerializer(many=True, required=False,
                                 help_text="What publishing needs confirmed (409 only).")


# --- Problems and tags ----------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]


class TestCaseSerializer(serializers.Serializer):
    input = serializers.CharField(allow_blank=True, max_length=20_000)
    output = serializers.CharField(allow_blank=True, max_length=20_000)


class ProblemSerializer(serializers.ModelSerializer):
    tags = TagSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                allow_null=True)
    test_cases = serializers.JSONField(read_only=True)

    class Meta:
        model = Problem
        fields = ["id", "title", "kind", "status", "statement", "statement_html",
                  "reference_answer", "test_cases", "difficulty", "source", "language",
                  "external_id", "version", "tags", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class ProblemInputSerializer(serializers.Serializer):
    """Create (title and statement required) or update (any subset) a problem."""

    title = serializers.CharField(max_length=300)
    statement = serializers.CharField()
    kind = serializers.ChoiceField(choices=Problem.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Problem.Status.choices, required=False)
    reference_answer = serializers.CharField(allow_blank=True, required=False,
                                             max_length=2000)
    test_cases = TestCaseSerializer(many=True, required=False, max_length=500)
    difficulty = serializers.ChoiceField(choices=Problem.Difficulty.choices, required=False)
    source = serializers.CharField(allow_blank=True, required=False, max_length=200)
    language = serializers.CharField(required=False, max_length=16)
    external_id = serializers.CharField(allow_blank=True, required=False, max_length=200)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].max_length = settings.QB_MAX_TITLE_CHARS
        self.fields["statement"].max_length = settings.QB_MAX_STATEMENT_CHARS


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A Moodle XML, GIFT, CSV/XLSX or Markdown/HTML file.")
    format = serializers.CharField(required=False, allow_blank=True, max_length=20,
                                   help_text="Leave out to detect it from the file.")
    dry_run = serializers.BooleanField(
        required=False, default=False,
        help_text="Only say what importing would do (the site's preview); write nothing.")
    strict = serializers.BooleanField(
        required=False, default=False,
        help_text="Refuse the whole file if any row has an error.")


class ImportRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    action = serializers.CharField(help_text="create, update, skip or error")
    title = serializers.CharField()
    reason = serializers.CharField()
    problem_id = serializers.IntegerField(allow_null=True)
    changes = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    format = serializers.CharField()
    digest = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    notes = serializers.ListField(child=serializers.CharField())
    rows = ImportRowSerializer(many=True)
    created = serializers.ListField(child=serializers.IntegerField())
    updated = serializers.ListField(child=serializers.IntegerField())
    summary = serializers.CharField()


# --- Prompt templates and model servers ---------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                allow_null=True)

    class Meta:
        model = PromptTemplate
        fields = ["id", "lineage", "version", "is_current", "name", "kind", "description",
                  "system_prompt", "user_prompt", "temperature", "top_p", "max_new_tokens",
                  "repetition_penalty", "samples", "sampling_policy", "agree_with_reference",
                  "confidence_threshold", "min_samples", "created_by", "created_at"]
        read_only_fields = fields


class TemplateVersionSerializer(serializers.ModelSerializer):
    n_jobs = serializers.IntegerField(help_text="Generation jobs that used this version.")

    class Meta:
        model = PromptTemplate
        fields = ["id", "version", "is_current", "created_at", "n_jobs"]
        read_only_fields = fields


class TemplateDetailSerializer(TemplateSerializer):
    versions = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "versions"]
        read_only_fields = fields

    @extend_schema_field(TemplateVersionSerializer(many=True))
    def get_versions(self, obj) -> list[dict]:
        return TemplateVersionSerializer(self.context["versions"], many=True).data


class TemplateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    user_prompt = serializers.CharField(max_length=40_000)
    kind = serializers.ChoiceField(choices=PromptTemplate.Kind.choices, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    system_prompt = serializers.CharField(allow_blank=True, required=False, max_length=40_000)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, required=False)
    top_p = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    max_new_tokens = serializers.IntegerField(min_value=16, max_value=40960, required=False)
    repetition_penalty = serializers.FloatField(min_value=0.5, max_value=2.0, required=False)
    samples = serializers.IntegerField(min_value=1, max_value=16, required=False)
    sampling_policy = serializers.ChoiceField(choices=PromptTemplate.SamplingPolicy.choices,
                                              required=False)
    agree_with_reference = serializers.IntegerField(min_value=1, max_value=16, required=False)
    confidence_threshold = serializers.FloatField(min_value=0.5, max_value=0.999,
                                                  required=False)
    min_samples = serializers.IntegerField(min_value=1, max_value=16, required=False)


class EndpointSerializer(serializers.ModelSerializer):
    paused = serializers.BooleanField(source="is_paused")
    pause_message = serializers.CharField()

    class Meta:
        model = ModelEndpoint
        fields = ["id", "name", "protocol", "enabled", "is_standin", "max_concurrency",
                  "paused", "pause_message"]
        read_only_fields = fields


# --- Generation -------------------------------------------------------------------------------


class BatchInputSerializer(serializers.Serializer):
    problems = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1, max_length=5000)
    template = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    endpoints = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1, max_length=50)
    samples = serializers.IntegerField(required=False, min_value=1, max_value=16,
                                       help_text="Per problem; the template's by default.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class JobSerializer(serializers.ModelSerializer):
    endpoint = serializers.SlugRelatedField(slug_field="name", read_only=True,
                                                allow_null=True)
    solution = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = ["id", "problem", "sample_index", "status", "attempts", "max_attempts",
                  "endpoint", "last_error", "error_class", "warnings", "solution",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_solution(self, obj) -> int | None:
        solution = getattr(obj, "solution", None)
        return solution.pk if solution is not None else None


class ProgressSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="Jobs per state.")
    total = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Finished in any way.")
    remaining = serializers.IntegerField()
    finished = serializers.BooleanField()
    eta_seconds = serializers.FloatField(allow_null=True)
    paused = serializers.ListField(child=serializers.CharField())


class BatchSerializer(serializers.ModelSerializer):
    template_name = serializers.CharField(source="template.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                allow_null=True)
    endpoints = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = GenerationBatch
        fields = ["id", "name", "template", "template_name", "samples", "endpoints",
                  "created_by", "created_at", "cancelled_at", "finished_at", "progress"]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, obj) -> dict | None:
        progress = self.context.get("progress", {}).get(obj.pk)
        return ProgressSerializer(progress).data if progress is not None else None


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many jobs this changed.")
    message = serializers.CharField()


# --- Solutions --------------------------------------------------------------------------------


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                          help_text="Empty for the model's own text.")

    class Meta:
        model = SolutionRevision
        fields = ["number", "body", "body_html", "author", "note", "final_answer",
                  "final_answer_by_teacher", "verdict", "created_at"]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                allow_null=True)

    class Meta:
        model = SolutionTransition
        fields = ["source", "target", "user", "reason", "created_at"]
        read_only_fields = fields


class SolutionSerializer(serializers.ModelSerializer):
    endpoint = serializers.SlugRelatedField(slug_field="name", read_only=True,
                                                allow_null=True)
    revision = serializers.IntegerField(source="current_revision.number", read_only=True,
                                        allow_null=True)
    body = serializers.CharField(source="current_revision.body", read_only=True,
                                 allow_null=True)

    class Meta:
        model = Solution
        fields = ["id", "problem", "status", "final_answer", "verdict", "majority_share",
                  "is_best", "problem_version", "template", "endpoint", "from_standin",
                  "rejection_reason", "published_at", "created_at", "updated_at",
                  "revision", "body"]
        read_only_fields = fields


class SolutionDetailSerializer(SolutionSerializer):
    is_stale = serializers.BooleanField(read_only=True)
    revisions = RevisionSerializer(many=True, read_only=True, source="revision_list")
    transitions = TransitionSerializer(many=True, read_only=True, source="transition_list")

    class Meta(SolutionSerializer.Meta):
        fields = [*SolutionSerializer.Meta.fields, "is_stale", "revisions", "transitions"]
        read_only_fields = fields


class RevisionInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=200_000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    final_answer = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                         help_text="Typed answer; else taken from the text.")
    base_revision = serializers.IntegerField(
        required=False, min_value=1, max_value=100_000,
        help_text="The revision you edited; 409 edit_conflict if a newer one was saved.")


class TransitionInputSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=Solution.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Required to reject.")
    confirm = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20,
        help_text="Codes of publish concerns you accept (from a 409 needs_confirmation).")


# --- Students' reading ----------------------------------------------------------------------


class PublishedRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Problem.Kind.choices)
    difficulty = serializers.IntegerField()
    tags = TagSerializer(many=True, source="tag_list")


class ExplanationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    final_answer = serializers.CharField()
    body_html = serializers.CharField(source="current_revision.body_html", allow_null=True,
                                      default=None)


class PublishedProblemSerializer(PublishedRowSerializer):
    statement_html = serializers.CharField()
    created_at = serializers.DateTimeField()
    solution = ExplanationSerializer(help_text="The one published explanation.")


# --- Call log -----------------------------------------------------------------------------------


class CallLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallLog
        fields = ["id", "created_at", "endpoint", "endpoint_name", "outcome", "error_class",
                  "response_status", "latency_ms", "prompt_tokens", "completion_tokens",
                  "attempt", "job", "batch", "problem", "template", "user"]
        read_only_fields = fields


class JobCallSerializer(CallLogSerializer):
    """A call of one job, with what sanitization changed (the list leaves the report out)."""

    sanitize_summary = serializers.SerializerMethodField(
        help_text=gettext_lazy("What sanitization changed in the prompt, one sentence per "
                               "part."))

    class Meta(CallLogSerializer.Meta):
        fields = [*CallLogSerializer.Meta.fields, "sanitize_summary"]
        read_only_fields = fields

    def get_sanitize_summary(self, obj) -> list[str]:
        return describe_report(obj.sanitize_report)


class CallLogDetailSerializer(serializers.ModelSerializer):
    request_headers = serializers.JSONField(read_only=True)
    sanitize_report = serializers.JSONField(read_only=True)
    sanitize_summary = serializers.SerializerMethodField(
        help_text=gettext_lazy("What sanitization changed in the prompt, one sentence per "
                               "part."))

    class Meta:
        model = CallLog
        fields = "__all__"
        read_only_fields = [f.name for f in CallLog._meta.concrete_fields]


    def get_sanitize_summary(self, obj) -> list[str]:
        return describe_report(obj.sanitize_report)


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    rows_checked = serializers.IntegerField()
    first_broken_id = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


# --- Who am I ---------------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField(),
                                  help_text="teacher, student, auditor, admin")
    token = serializers.CharField(allow_null=True, help_text="The token's name, if one is used.")

"""Site forms. Error messages are sentences a teacher can act on."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from questionbank.models import Problem, PromptTemplate, Tag
from questionbank.validation import CleanTextMixin, clean_data, parse_int


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That username and password do not match an account. "
        "Check them (passwords are case-sensitive) or ask your administrator.",
        "inactive": "This account is disabled. Ask your administrator to enable it.",
    }


class TagListField(CleanTextMixin, forms.CharField):
    """Tags typed as a comma-separated list."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple) and value and isinstance(value[0], Tag | int):
            tags = Tag.objects.filter(pk__in=[getattr(t, "pk", t) for t in value])
            return ", ".join(t.name for t in tags)
        return value

    def to_python(self, value):
        value = super().to_python(value) or ""
        names = [" ".join(part.split()) for part in value.split(",")]
        names = [n for n in names if n]
        too_long = [n for n in names if len(n) > 100]
        if too_long:
            raise forms.ValidationError(
                f"Tag names are limited to 100 characters: {too_long[0][:40]}…"
            )
        return names


class ProblemForm(forms.ModelForm):
    tags = TagListField(required=False, help_text="Comma-separated, e.g. algebra, AIME.")
    test_cases = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text='Programming problems: JSON list of {"input": "...", "output": "..."}.',
    )

    class Meta:
        model = Problem
        fields = ("title", "kind", "status", "difficulty", "tags", "statement",
                  "reference_answer", "test_cases", "source", "language")
        widgets = {
            "statement": forms.Textarea(attrs={"rows": 14, "class": "mono",
                                               "data-preview": "statement"}),
            "reference_answer": forms.TextInput(attrs={"class": "mono"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
            self.initial["test_cases"] = (
                json.dumps(self.instance.test_cases, indent=2, ensure_ascii=False)
                if self.instance.test_cases else ""
            )

    def clean_test_cases(self):
        raw = (self.cleaned_data.get("test_cases") or "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Test cases are not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
            ) from None
        if not isinstance(value, list) or not all(
            isinstance(c, dict) and "input" in c and "output" in c for c in value
        ):
            raise forms.ValidationError(
                'Test cases must be a list like [{"input": "1 2", "output": "3"}].'
            )
        return clean_data(value, label="Test cases")

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("tags", None)
        return data


class PromptTemplateForm(forms.ModelForm):
    class Meta:
        model = PromptTemplate
        fields = ("name", "kind", "description", "system_prompt", "user_prompt", "temperature",
                  "top_p", "max_new_tokens", "repetition_penalty", "samples")
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 4, "class": "mono"}),
            "user_prompt": forms.Textarea(attrs={"rows": 8, "class": "mono"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }


# --- Review, generation, templates (teacher pages) --------------------------------------


class EndpointChoiceField(forms.ModelMultipleChoiceField):
    """Endpoints labelled with their state, so a paused one says so before it is chosen."""

    def label_from_instance(self, obj):
        label = obj.name
        if obj.is_standin:
            label += " (stand-in: answers are not the model's)"
        pause = obj.pause_message()
        return f"{label} — {pause}" if pause else label


class GenerateForm(forms.Form):
    """Template, endpoint(s) and samples for a generation batch of one or more problems."""

    problems = forms.ModelMultipleChoiceField(
        queryset=Problem.objects.all(), widget=forms.MultipleHiddenInput,
        error_messages={"required": "Choose at least one problem to generate solutions for.",
                        "invalid_choice": "One of the chosen problems no longer exists. "
                                          "Go back to the problem list and choose again."},
    )
    template = forms.ModelChoiceField(
        queryset=PromptTemplate.objects.none(), empty_label=None,
        help_text="The prompt sent to the model. Each template has its own sampling settings.",
        error_messages={"required": "Choose a prompt template.",
                        "invalid_choice": "That template has been edited meanwhile: choose "
                                          "it again from the list."},
    )
    endpoints = EndpointChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, label="Model servers",
        help_text="Jobs are shared between the servers you tick. A paused server is retried "
                  "automatically once its pause ends.",
        error_messages={"required": "Tick at least one model server."},
    )
    samples = forms.IntegerField(
        required=False, min_value=1, max_value=16, label="Answers per problem",
        help_text="Leave empty to use the template's setting. With several answers, the final "
                  "answers are checked against each other by majority vote.",
        error_messages={"min_value": "Ask for at least 1 answer per problem.",
                        "max_value": "At most 16 answers per problem can be generated at once."},
    )
    name = forms.CharField(required=False, max_length=200, label="Batch name",
                           help_text="Optional, to find the batch again later.")

    def __init__(self, *args, kind: str | None = None, **kwargs):
        from questionbank import selectors

        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.templates_for_generation(kind=kind)
        endpoints = selectors.endpoints_for_generation()
        self.fields["endpoints"].queryset = endpoints
        self.fields["samples"].widget.attrs["placeholder"] = "the template's setting"
        if not self.is_bound and len(endpoints) == 1:
            self.initial.setdefault("endpoints", [endpoints[0].pk])


class ProblemBulkForm(forms.Form):
    ACTIONS = [
        ("generate", "Generate solutions…"),
        ("status:ready", "Mark as ready"),
        ("status:draft", "Mark as draft"),
        ("status:archived", "Archive"),
        ("tag", "Add tags"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, error_messages={
        "required": "Choose what to do with the selected problems.",
        "invalid_choice": "Choose what to do with the selected problems from the list."})
    problems = forms.ModelMultipleChoiceField(
        queryset=Problem.objects.all(),
        error_messages={"required": "Tick at least one problem first."},
    )
    tags = TagListField(required=False, help_text="For “Add tags”: comma-separated.")

    def clean(self):
        data = super().clean()
        if data.get("action") == "tag" and not data.get("tags"):
            self.add_error("tags", "Type the tags to add, separated by commas.")
        return data


class SolutionEditForm(forms.Form):
    body = forms.CharField(
        label="Explanation", strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "mono", "spellcheck": "true"}),
        help_text="Markdown. Maths in $...$ or $$...$$; code in ``` fences.",
        error_messages={"required": "The explanation cannot be empty. To withdraw a solution, "
                                    "reject it instead."},
    )
    final_answer = forms.CharField(
        required=False, max_length=300, label="Final answer",
        help_text="Leave empty to take it from the text (the last \\boxed{…} or "
        "\"Final answer: …\"). Type one to set it yourself; it is checked against the "
        "reference answer either way.",
    )
    note = forms.CharField(required=False, max_length=300, label="What did you change?",
                           help_text="Optional; shown in the revision history.")
    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        label="Why is it rejected?",
        error_messages={"required": "Say why the solution is rejected, so the next reviewer "
                                    "knows."},
    )


class SolutionBulkForm(forms.Form):
    ACTIONS = [
        ("published", "Publish"),
        ("in_review", "Send to review"),
        ("rejected", "Reject"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, error_messages={
        "required": "Choose what to do with the selected solutions."})
    solutions = forms.ModelMultipleChoiceField(
        queryset=None, error_messages={"required": "Tick at least one solution first."},
    )
    reason = forms.CharField(required=False, max_length=2000, label="Reason (for rejecting)")
    # The second, explicit step of a bulk publish: these were held back for a reason the
    # teacher has now read.
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        from questionbank.models import Solution

        super().__init__(*args, **kwargs)
        self.fields["solutions"].queryset = Solution.objects.all()

    def clean(self):
        data = super().clean()
        if data.get("action") == "rejected" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why these solutions are rejected, so the next "
                                     "reviewer knows.")
        return data


class TemplatePreviewForm(forms.Form):
    problem = forms.CharField(
        label="Problem", max_length=300,
        help_text="A problem number, or words from its title.",
        error_messages={"required": "Type a problem number or words from its title."},
    )

    def clean_problem(self):
        value = self.cleaned_data["problem"].strip().lstrip("#")
        qs = Problem.objects.all()
        number = parse_int(value)
        problem = qs.filter(pk=number).first() if number is not None else None
        if problem is None:
            problem = qs.filter(title__icontains=value).order_by("-id").first()
        if problem is None:
            raise forms.ValidationError(
                f"No problem has the number or a title containing “{value}”. "
                "Check the problem list for its number."
            )
        return problem


# --- Import / export (issue 8) -------------------------------------------------------------

_IMPORT_FORMATS = [("", "Recognise from the file"), ("moodle", "Moodle XML"), ("gift", "GIFT"),
                   ("csv", "CSV"), ("json", "JSON")]
_EXPORT_FORMATS = _IMPORT_FORMATS[1:]


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="Moodle XML, GIFT, CSV or JSON. Nothing is saved until you confirm the "
                  "preview.",
        error_messages={"required": "Choose the file to import.",
                        "empty": "The file is empty. Choose another file."},
    )
    format = forms.ChoiceField(label="Format", choices=_IMPORT_FORMATS, required=False)

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data["file"]
        limit = settings.QB_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size // 1024} KB, over the {limit // 1024} KB limit. "
                "Split it into smaller files and import them one after the other."
            )
        return upload


class ExportForm(forms.Form):
    format = forms.ChoiceField(label="Format", choices=_EXPORT_FORMATS, initial="moodle")
    with_solutions = forms.BooleanField(
        label="Include published solutions", required=False, initial=True,
        help_text="Moodle XML and GIFT: as the general feedback. CSV and JSON: a solution "
                  "column. Drafts are never exported.",
    )
    tag = forms.CharField(label="Tag", required=False)
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *Problem.Status.choices])
    kind = forms.ChoiceField(label="Kind", required=False,
                             choices=[("", "Any kind"), *Problem.Kind.choices])
    q = forms.CharField(label="Search", required=False)
    ids = forms.CharField(
        label="Problem numbers", required=False,
        help_text="Optional: only these problems, e.g. 12, 15, 40.",
    )

    def clean_ids(self):
        raw = self.cleaned_data["ids"].replace(";", ",").replace(" ", ",")
        ids = []
        for part in filter(None, raw.split(",")):
            if parse_int(part) is None:
                raise forms.ValidationError(f"“{part}” is not a problem number.")
            ids.append(parse_int(part))
        return ids

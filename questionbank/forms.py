"""Site forms. Error messages are sentences a teacher can act on."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from questionbank import selectors
from questionbank.interchange import size_message
from questionbank.models import Problem, PromptTemplate, Solution, Tag
from questionbank.validation import CleanTextMixin, clean_data, parse_int


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("That username and password do not match an account. "
        "Check them (passwords are case-sensitive) or ask your administrator."),
        "inactive": _("This account is disabled. Ask your administrator to enable it."),
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
                _("Tag names are limited to 100 characters: %(name)s…")
                % {"name": too_long[0][:40]}
            )
        return names


class ProblemForm(forms.ModelForm):
    tags = TagListField(label=_("Tags"), required=False,
                        help_text=_("Comma-separated, e.g. algebra, AIME."))
    test_cases = forms.CharField(
        label=_("Test cases"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text=_('Programming problems: JSON list of {"input": "...", "output": "..."}; add '
                  '"tolerance": 1e-6 to a test whose numbers may be off by that much.'),
    )

    class Meta:
        model = Problem
        fields = ("title", "kind", "status", "difficulty", "tags", "statement",
                  "reference_answer", "test_cases", "reference_solution", "judge_cpu_seconds",
                  "judge_memory_mb", "source", "language")
        widgets = {
            "statement": forms.Textarea(attrs={"rows": 14, "class": "mono",
                                               "data-preview": "statement"}),
            "reference_answer": forms.TextInput(attrs={"class": "mono"}),
            "reference_solution": forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("judge_cpu_seconds", "judge_memory_mb"):
            self.fields[name].required = False
        if self.instance.pk:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
            self.initial["test_cases"] = (
                json.dumps(self.instance.test_cases, indent=2, ensure_ascii=False)
                if self.instance.test_cases else ""
            )

    def _limit_or_default(self, name: str):
        # Left empty (or posted by a script that predates the field): the model's default.
        value = self.cleaned_data.get(name)
        return Problem._meta.get_field(name).default if value is None else value

    def clean_judge_cpu_seconds(self):
        return self._limit_or_default("judge_cpu_seconds")

    def clean_judge_memory_mb(self):
        return self._limit_or_default("judge_memory_mb")

    def clean_test_cases(self):
        raw = (self.cleaned_data.get("test_cases") or "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Test cases are not valid JSON (line %(line)s, column %(column)s): %(error)s.")
                % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
            ) from None
        if not isinstance(value, list) or not all(
            isinstance(c, dict) and "input" in c and "output" in c for c in value
        ):
            raise forms.ValidationError(
                _('Test cases must be a list like [{"input": "1 2", "output": "3"}].')
            )
        for n, case in enumerate(value, 1):
            tolerance = case.get("tolerance")
            if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(
                    tolerance, int | float) or tolerance < 0):
                raise forms.ValidationError(
                    _("Test %(n)s: the tolerance must be a positive number such as 1e-6, "
                      "not %(value)s.") % {"n": n, "value": json.dumps(tolerance)})
        return clean_data(value, label=_("Test cases"))

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("tags", None)
        return data


class PromptTemplateForm(forms.ModelForm):
    class Meta:
        model = PromptTemplate
        fields = ("name", "kind", "description", "system_prompt", "user_prompt", "temperature",
                  "top_p", "max_new_tokens", "repetition_penalty", "samples", "sampling_policy",
                  "agree_with_reference", "confidence_threshold", "min_samples")
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 4, "class": "mono"}),
            "user_prompt": forms.Textarea(attrs={"rows": 8, "class": "mono"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    # The sampling policy's fields may be left out (older forms, scripts): the model's
    # defaults ("fixed", 2, 0.95, 3) then apply.
    POLICY_FIELDS = ("sampling_policy", "agree_with_reference", "confidence_threshold",
                     "min_samples")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.POLICY_FIELDS:
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.POLICY_FIELDS:
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = (getattr(self.instance, name) if self.instance.pk
                              else PromptTemplate._meta.get_field(name).default)
        return data


# --- Review, generation, templates (teacher pages) --------------------------------------


TEMPLATE_EDITED = _("That template has been edited meanwhile: choose it again from the list.")


class EndpointChoiceField(forms.ModelMultipleChoiceField):
    """Endpoints labelled with their state, so a paused one says so before it is chosen."""

    def label_from_instance(self, obj):
        label = obj.name
        if obj.is_standin:
            label = gettext("%(name)s (stand-in: answers are not the model's)") % {"name": label}
        pause = obj.pause_message()
        return f"{label} — {pause}" if pause else label


class GenerateForm(forms.Form):
    """Template(s), endpoint(s) and samples for a generation batch of one or more problems.

    ``kinds`` maps each kind of problem in the selection to how many there are. One kind
    (or none known): one ``template`` field offering that kind's templates and those for
    any problem. Several kinds (a mixed maths + programming selection): one field per
    kind, ``template_<kind>``, each offering what suits that kind and preset to its
    default template, so the whole selection is generated in one go.
    """

    problems = forms.ModelMultipleChoiceField(
        queryset=Problem.objects.all(), widget=forms.MultipleHiddenInput,
        error_messages={"required": _("Choose at least one problem to generate solutions for."),
                        "invalid_choice": _("One of the chosen problems no longer exists. "
                                          "Go back to the problem list and choose again.")},
    )
    template = forms.ModelChoiceField(
        queryset=PromptTemplate.objects.none(), empty_label=None, label=_("Template"),
        help_text=_("The prompt sent to the model. Each template has its own sampling settings."),
        error_messages={"required": _("Choose a prompt template."),
                        "invalid_choice": TEMPLATE_EDITED},
    )
    endpoints = EndpointChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, label=_("Model servers"),
        help_text=_("Jobs are shared between the servers you tick. A paused server is retried "
                  "automatically once its pause ends."),
        error_messages={"required": _("Tick at least one model server.")},
    )
    samples = forms.IntegerField(
        required=False, min_value=1, max_value=16, label=_("Answers per problem"),
        help_text=_("Leave empty to use the template's setting. With several answers, the final "
                  "answers are checked against each other by majority vote."),
        error_messages={"min_value": _("Ask for at least 1 answer per problem."),
                        "max_value": _("At most 16 answers per problem can be generated at once.")},
    )
    name = forms.CharField(required=False, max_length=200, label=_("Batch name"),
                           help_text=_("Optional, to find the batch again later."))

    def __init__(self, *args, kind: str | None = None, kinds: dict[str, int] | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        kinds = dict(kinds or ({kind: 0} if kind else {}))
        self.kinds = kinds
        if len(kinds) > 1:
            del self.fields["template"]
            for each, count in sorted(kinds.items()):
                label = Problem.Kind(each).label.lower()
                field = forms.ModelChoiceField(
                    queryset=selectors.templates_for_generation(kind=each), empty_label=None,
                    label=ngettext("Template for the %(n)d %(kind)s problem",
                                   "Template for the %(n)d %(kind)s problems", count)
                    % {"n": count, "kind": label},
                    help_text=gettext("Offers templates for %(kind)s problems and for any "
                                      "problem; preset to the usual one for %(kind)s.")
                    % {"kind": label},
                    error_messages={"required": gettext("Choose a template for the %(kind)s "
                                                        "problems.") % {"kind": label},
                                    "invalid_choice": TEMPLATE_EDITED},
                )
                self.fields[f"template_{each}"] = field
                default = selectors.default_template_for_generation(kind=each)
                if default is not None:
                    self.initial.setdefault(f"template_{each}", default.pk)
            # The page's order: templates first, then servers, samples and name.
            self.order_fields(["problems", *[f"template_{k}" for k in sorted(kinds)]])
        else:
            self.fields["template"].queryset = selectors.templates_for_generation(
                kind=next(iter(kinds), None))
        endpoints = selectors.endpoints_for_generation()
        self.fields["endpoints"].queryset = endpoints
        self.fields["samples"].widget.attrs["placeholder"] = _("the template's setting")
        if not self.is_bound and len(endpoints) == 1:
            self.initial.setdefault("endpoints", [endpoints[0].pk])

    @property
    def template_fields(self) -> list[str]:
        return [name for name in self.fields if name == "template"
                or name.startswith("template_")]

    def has_templates(self) -> bool:
        """Whether every template field has something to offer."""
        return all(self.fields[name].queryset.exists() for name in self.template_fields)

    def batch_templates(self) -> dict:
        """``batch_create``'s template arguments from the cleaned data."""
        data = self.cleaned_data
        if "template" in self.fields:
            return {"template": data["template"]}
        return {"templates_by_kind": {kind: data[f"template_{kind}"] for kind in self.kinds}}


class ProblemBulkForm(forms.Form):
    ACTIONS = [
        ("generate", _("Generate solutions…")),
        ("status:ready", _("Mark as ready")),
        ("status:draft", _("Mark as draft")),
        ("status:archived", _("Archive")),
        ("tag", _("Add tags")),
    ]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS, error_messages={
        "required": _("Choose what to do with the selected problems."),
        "invalid_choice": _("Choose what to do with the selected problems from the list.")})
    problems = forms.ModelMultipleChoiceField(
        queryset=Problem.objects.all(), required=False, label=_("Problems"),
        error_messages={"invalid_choice": _("One of the ticked problems no longer exists; "
                                          "reload the list and tick again.")},
    )
    all_matching = forms.BooleanField(
        required=False, label=_("All problems matching the filters, on every page"))
    tags = TagListField(label=_("Tags"), required=False,
                        help_text=_("For “Add tags”: comma-separated."))
    # The list's filters, sent along so "all matching" means what the teacher saw.
    FILTERS = ("q", "kind", "status", "tag", "difficulty")

    def clean(self):
        data = super().clean()
        if not data.get("all_matching") and not data.get("problems") and \
                "problems" not in self.errors:
            self.add_error("problems", _("Tick at least one problem first."))
        if data.get("action") == "tag" and not data.get("tags"):
            self.add_error("tags", _("Type the tags to add, separated by commas."))
        return data

    def filters(self) -> dict[str, str]:
        """The list's filters as posted (``filter_<name>``), for ``all_matching``."""
        return {name: str(self.data.get(f"filter_{name}", "")).strip()
                for name in self.FILTERS}


class SolutionEditForm(forms.Form):
    body = forms.CharField(
        label=_("Explanation"), strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "mono", "spellcheck": "true"}),
        help_text=_("Markdown. Maths in $...$ or $$...$$; code in ``` fences."),
        error_messages={"required": _("The explanation cannot be empty. To withdraw a solution, "
                                    "reject it instead.")},
    )
    final_answer = forms.CharField(
        required=False, max_length=300, label=_("Final answer"),
        help_text=_("Leave empty to take it from the text (the last \\boxed{…} or "
        "\"Final answer: …\"). Type one to set it yourself; it is checked against the "
        "reference answer either way."),
    )
    note = forms.CharField(required=False, max_length=300, label=_("What did you change?"),
                           help_text=_("Optional; shown in the revision history."))
    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why is it rejected?"),
        error_messages={"required": _("Say why the solution is rejected, so the next reviewer "
                                    "knows.")},
    )


class SolutionBulkForm(forms.Form):
    ACTIONS = [
        ("published", _("Publish")),
        ("in_review", _("Send to review")),
        ("rejected", _("Reject")),
    ]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS, error_messages={
        "required": _("Choose what to do with the selected solutions.")})
    solutions = forms.ModelMultipleChoiceField(
        queryset=None, label=_("Solutions"),
        error_messages={"required": _("Tick at least one solution first.")},
    )
    reason = forms.CharField(required=False, max_length=2000, label=_("Reason (for rejecting)"))
    # The second, explicit step of a bulk publish: these were held back for a reason the
    # teacher has now read.
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["solutions"].queryset = Solution.objects.all()

    def clean(self):
        data = super().clean()
        if data.get("action") == "rejected" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why these solutions are rejected, so the next "
                                     "reviewer knows."))
        return data


class TemplatePreviewForm(forms.Form):
    problem = forms.CharField(
        label=_("Problem"), max_length=300,
        help_text=_("A problem number, or words from its title."),
        error_messages={"required": _("Type a problem number or words from its title.")},
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
                _("No problem has the number or a title containing “%(value)s”. "
                  "Check the problem list for its number.") % {"value": value}
            )
        return problem


# --- Import / export (issue 8) -------------------------------------------------------------

_IMPORT_FORMATS = [("", _("Recognise from the file")), ("moodle", "Moodle XML"), ("gift", "GIFT"),
                   ("csv", "CSV"), ("json", "JSON")]
_EXPORT_FORMATS = _IMPORT_FORMATS[1:]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("Moodle XML, GIFT, CSV or JSON. Nothing is saved until you confirm the "
                  "preview."),
        error_messages={"required": _("Choose the file to import."),
                        "empty": _("The file is empty. Choose another file.")},
    )
    format = forms.ChoiceField(label=_("Format"), choices=_IMPORT_FORMATS, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.QB_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(size_message(upload.size, limit))
        return upload


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=_EXPORT_FORMATS, initial="moodle")
    with_solutions = forms.BooleanField(
        label=_("Include published solutions"), required=False, initial=True,
        help_text=_("Moodle XML and GIFT: as the general feedback. CSV and JSON: a solution "
                  "column. Drafts are never exported."),
    )
    tag = forms.CharField(label=_("Tag"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *Problem.Status.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Any kind")), *Problem.Kind.choices])
    q = forms.CharField(label=_("Search"), required=False)
    ids = forms.CharField(
        label=_("Problem numbers"), required=False,
        help_text=_("Optional: only these problems, e.g. 12, 15, 40."),
    )

    def clean_ids(self):
        raw = self.cleaned_data["ids"].replace(";", ",").replace(" ", ",")
        ids = []
        for part in filter(None, raw.split(",")):
            if parse_int(part) is None:
                raise forms.ValidationError(_("“%(value)s” is not a problem number.")
                                            % {"value": part})
            ids.append(parse_int(part))
        return ids

"""Site forms. Error messages are sentences a teacher can act on."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from questionbank.models import Problem, PromptTemplate, Tag


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That username and password do not match an account. "
        "Check them (passwords are case-sensitive) or ask your administrator.",
        "inactive": "This account is disabled. Ask your administrator to enable it.",
    }


class TagListField(forms.CharField):
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
        return value

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

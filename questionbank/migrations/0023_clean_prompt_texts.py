"""Issue 14: clean the stored texts a prompt sends, and remember when a reply was cut.

1. ``Solution.reply_truncated_from``: the length of the model's reply when it was longer
   than ``QB_MAX_REPLY_CHARS`` and cut (defect 3).
2. Problems (title, statement, source, and the rendered statement), prompt templates
   (system and user prompt) and tag names are cleaned the way
   ``questionbank.sanitize.sanitize_text`` cleaned them when this was written (defect 9),
   so a teacher's page shows what the model reads. Frozen here: a later change to the
   sanitizer is a new migration.

   - A problem's version is not raised (the model already read the cleaned text, so its
     solutions are not stale); its content hash is recomputed.
   - The rendered statement is cleaned in place rather than rendered again (rendering is
     app code): the removed characters are taken out of the HTML, and the control tokens
     are neutralised in their HTML-escaped form. The next save renders it afresh.
   - A tag whose cleaned name another tag already has is left as it is.

Not reversible in data (the removed characters are gone); reversing only drops the field.
"""

import hashlib
import re
import unicodedata

from django.db import migrations, models

_REMOVE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    "\u200b-\u200d\u2060-\u2064\ufeff\u180e"
    "\U000e0000-\U000e007f"
    "\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f"
    "\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\u206a-\u206f\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0080-\U000e00ff\U000e01f0-\U000e0fff]"
)
_LINE_ENDINGS = re.compile("\r\n|\r|\u2028|\u2029")
_NAME = r"[A-Za-z_][\w.:\-\u2581]+"


def _token_pattern(lt, gt):
    return re.compile(
        rf"{lt}[|｜](?P<n1>{_NAME})[|｜]{gt}"
        r"|\[(?P<n2>/?INST)\]"
        rf"|{lt}{lt}(?P<n3>/?SYS){gt}{gt}"
        rf"|{lt}(?P<n4>start_of_turn|end_of_turn){gt}"
    )


_TOKENS_TEXT = _token_pattern("<", ">")
_TOKENS_HTML = _token_pattern("&lt;", "&gt;")


def _neutraliser(lt, gt):
    def neutralise(match):
        name = next(value for value in match.groups() if value is not None)
        if match.group(0).startswith("["):
            return f"[\u00a6{name}\u00a6]"
        return f"{lt}\u00a6{name}\u00a6{gt}"
    return neutralise


def clean_text(text):
    text = _LINE_ENDINGS.sub("\n", text or "")
    text = unicodedata.normalize("NFC", _REMOVE.sub("", text))
    return _TOKENS_TEXT.sub(_neutraliser("<", ">"), text)


def clean_html(html):
    html = unicodedata.normalize("NFC", _REMOVE.sub("", html or ""))
    return _TOKENS_HTML.sub(_neutraliser("&lt;", "&gt;"), html)


def _content_hash(kind, title, statement):
    text = "\x1f".join([kind, title.strip(), statement.strip()])
    return hashlib.sha256(text.encode()).hexdigest()


def clean_rows(apps, schema_editor):
    Problem = apps.get_model("questionbank", "Problem")
    PromptTemplate = apps.get_model("questionbank", "PromptTemplate")
    Tag = apps.get_model("questionbank", "Tag")
    problems = Problem.objects.only("pk", "kind", "title", "statement", "source",
                                    "statement_html")
    for problem in problems.iterator(chunk_size=500):
        values = {"title": clean_text(problem.title), "statement": clean_text(problem.statement),
                  "source": clean_text(problem.source)}
        if all(values[name] == getattr(problem, name) for name in values):
            continue
        values["statement_html"] = clean_html(problem.statement_html)
        values["content_hash"] = _content_hash(problem.kind, values["title"],
                                               values["statement"])
        Problem.objects.filter(pk=problem.pk).update(**values)
    templates = PromptTemplate.objects.only("pk", "system_prompt", "user_prompt")
    for template in templates.iterator(chunk_size=500):
        values = {"system_prompt": clean_text(template.system_prompt),
                  "user_prompt": clean_text(template.user_prompt)}
        if any(values[name] != getattr(template, name) for name in values):
            PromptTemplate.objects.filter(pk=template.pk).update(**values)
    for tag in Tag.objects.only("pk", "name").iterator(chunk_size=500):
        name = " ".join(clean_text(tag.name).split())[:100]
        if name and name != tag.name and not Tag.objects.filter(name__iexact=name).exclude(
                pk=tag.pk).exists():
            Tag.objects.filter(pk=tag.pk).update(name=name)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0022_calllog_keyed_chain_stats"),
    ]

    operations = [
        migrations.AddField(
            model_name="solution",
            name="reply_truncated_from",
            field=models.PositiveIntegerField(
                blank=True, null=True,
                help_text="Length in characters of the model's reply when it was longer than "
                "QB_MAX_REPLY_CHARS and cut; the call log has the reply as received."),
        ),
        migrations.RunPython(clean_rows, migrations.RunPython.noop, elidable=True),
    ]

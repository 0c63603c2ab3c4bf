"""Translations (issue 19): the catalogues are complete, current and compiled; sentences
stored in English are shown translated; the language switcher works without JavaScript;
the browser's language is used until the visitor chooses. The pages themselves, in both
languages and for every role: tests/views/test_i18n_pages.py."""

from __future__ import annotations

import ast
import gettext
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from questionbank import stored_text
from questionbank.management.commands.messages import catalogue_paths
from tests.browse_helpers import published_problem

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"


def gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y gettext (make test installs it)")
    return path


def read_po(path: Path) -> dict[tuple, dict]:
    """(msgctxt, msgid, msgid_plural) -> {"str": [msgstr...], "fuzzy": bool} of a .po file."""
    entries, entry, field = {}, None, None

    def close():
        if entry and entry.get("msgid") is not None:
            key = (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))
            entries[key] = {"str": [v for k, v in sorted(entry.items())
                                    if k.startswith("msgstr")],
                            "fuzzy": entry["fuzzy"]}

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            close()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"fuzzy": False}
        if line.startswith("#,") and "fuzzy" in line:
            entry["fuzzy"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[field] += ast.literal_eval(line)
        else:
            field, _, value = line.partition(" ")
            entry[field] = ast.literal_eval(value)
    return entries


@pytest.mark.parametrize("po", catalogue_paths(LOCALE), ids=lambda p: p.name)
def test_every_string_is_translated(po):
    entries = read_po(po)
    assert len(entries) > (1000 if po.name == "django.po" else 10)
    missing = [key[1] for key, e in entries.items()
               if key[1] and (e["fuzzy"] or not all(e["str"]))]
    assert not missing, f"{len(missing)} untranslated or fuzzy in {po}: {missing[:20]}"


def test_catalogues_are_current(tmp_path, monkeypatch):
    """makemessages over a copy of the source: no source string is missing from the
    committed catalogues, and none of theirs is gone from the source."""
    gettext_tool("xgettext")
    for part in ("questionbank", "templates", "static/js"):
        shutil.copytree(ROOT / part, tmp_path / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(LOCALE, tmp_path / "locale")
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command("messages", no_compile=True, verbosity=0)
    for committed, fresh in zip(catalogue_paths(LOCALE), catalogue_paths(tmp_path / "locale"),
                                strict=True):
        before, after = set(read_po(committed)), set(read_po(fresh))
        assert not after - before and not before - after, (
            f"{committed.name} is out of date: run `make messages` and translate the new "
            f"strings. New in the source: {sorted(k[1] for k in after - before)[:20]}; "
            f"gone from it: {sorted(k[1] for k in before - after)[:20]}")


@pytest.mark.parametrize("po", catalogue_paths(LOCALE), ids=lambda p: p.name)
def test_compiled_catalogues_match_the_po_files(po, tmp_path):
    fresh = tmp_path / "fresh.mo"
    subprocess.run([gettext_tool("msgfmt"), "--check-format", "-o", str(fresh), str(po)],
                   check=True)
    with open(fresh, "rb") as a, open(po.with_suffix(".mo"), "rb") as b:
        expected, committed = gettext.GNUTranslations(a), gettext.GNUTranslations(b)
    assert committed._catalog == expected._catalog, f"run `make messages` to compile {po}"


# --- Sentences stored in English, shown translated ---------------------------------------


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return stored_text.translate_stored(text)


def test_job_failure_translated_around_the_servers_own_words():
    detail = "Could not connect to http://gpu:7860: connection refused."
    stored = stored_text.english(
        stored_text.GAVE_UP, attempts=4,
        error=stored_text.english(stored_text.WORKER_LOST_REQUEUED, error=detail))
    assert stored.startswith(detail) and "Gave up after 4 attempts" in stored
    shown = zh(stored)
    assert detail in shown and "尝试 4 次后放弃" in shown and "已被放回队列" in shown
    assert "Gave up" not in shown
    # English pages show it exactly as stored.
    with translation.override("en-gb"):
        assert stored_text.translate_stored(stored) == stored


def test_unknown_text_is_left_alone():
    assert zh("Something the model server said.") == "Something the model server said."
    assert zh("") == ""


def test_writers_that_keep_their_own_wording_are_recognised():
    """The sanitizer's and the judge's sentences are written in English by Django-free
    code; the patterns in stored_text must still match them word for word."""
    from questionbank import judge, sanitize

    warning = sanitize.detect_non_english("一个长方形的长是宽的两倍，周长是二十四厘米，求面积。")
    assert warning and "中文" in zh(warning) and "English" not in zh(warning)
    report = judge.judge_text("```python\nprint(1)\n```", [])
    assert report.message and zh(report.message) != report.message
    assert re.search(r"[\u4e00-\u9fff]", zh(report.message))


def test_review_notes_translated():
    note = stored_text.english(stored_text.PUBLISHED_AFTER_CONFIRMING,
                               concerns="could not be checked; came from the stand-in server")
    assert zh(note) == "确认后发布：无法核对; 来自模拟服务器。"
    assert zh(stored_text.GENERATED_BY_MODEL) == "由模型生成"


# --- Choosing the language ----------------------------------------------------------------


@pytest.mark.django_db
def test_browser_language_first_then_the_visitors_choice(client):
    url = reverse("browse:home")
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="en-gb">' in english.content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    page = chinese.content.decode()
    assert '<html lang="zh-hans">' in page and "找到题目，再弄懂它的解答" in page
    assert "Accept-Language" in chinese["Vary"]

    # The switcher: a plain form post to set_language (no JavaScript, no CSRF token on the
    # cached students' pages), back to the page, remembered in the language cookie.
    assert 'action="/i18n/setlang/"' in page and 'name="next" value="/browse/"' in page
    response = client.post(reverse("set_language"), {"language": "en-gb", "next": url},
                           HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 302 and response["Location"] == url
    assert response.cookies["django_language"].value == "en-gb"
    again = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en-gb">' in again and "Find a problem, then understand" in again
    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert '<html lang="zh-hans">' in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_switcher_stays_on_this_site(client):
    response = client.post(reverse("set_language"),
                           {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response["Location"]


@pytest.mark.django_db
@override_settings(QB_BROWSE_PAGE_CACHE=True)
def test_cached_students_pages_are_kept_per_language(client):
    problem = published_problem(title="Shared title")
    url = reverse("browse:problem-detail", args=[problem.pk])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Show the worked solution" in english and "显示详细解答" in chinese
    assert "Show the worked solution" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_dates_and_numbers_follow_the_language(teacher_client, teacher):
    from questionbank.services.api_tokens import token_create

    token_create(user=teacher, name="Moodle")
    url = reverse("api-tokens")
    english = teacher_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = teacher_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d</td>", english)
    assert re.search(r"<td>\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d</td>", chinese)


def test_javascript_catalog_in_chinese(client):
    response = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    # The catalog is JSON, non-ASCII characters written as \uXXXX escapes.
    assert response.status_code == 200
    assert json.dumps("请先至少勾选一行。")[1:-1] in response.content.decode()

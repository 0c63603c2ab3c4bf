import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from questionbank.models import Problem, Solution
from questionbank.services.solutions import Concern, solution_create, solution_transition
from tests.factories import make_problem

FIXTURES = Path(__file__).parent.parent / "interchange" / "fixtures"
pytestmark = pytest.mark.django_db


def _upload(client, name="quiz.xml", data=None, url="teacher:import", **extra):
    data = (FIXTURES / "moodle_quiz.xml").read_bytes() if data is None else data
    return client.post(reverse(url), {"file": SimpleUploadedFile(name, data), **extra})


def test_pages_need_a_teacher(db, student):
    from django.test import Client

    anonymous, student_client = Client(), Client()
    student_client.force_login(student)
    for name in ("teacher:import", "teacher:export"):
        assert anonymous.get(reverse(name)).status_code == 302
        assert student_client.get(reverse(name)).status_code == 403


def test_upload_preview_then_confirm(teacher_client, teacher):
    page = teacher_client.get(reverse("teacher:import"))
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content

    response = _upload(teacher_client)
    assert response.status_code == 302
    preview_url = response["Location"]
    assert Problem.objects.count() == 0  # nothing before confirm

    preview = teacher_client.get(preview_url)
    html = preview.content.decode()
    assert preview.status_code == 200 and Problem.objects.count() == 0
    assert "Completing the square" in html and "Question 5" in html
    assert "question type “multichoice” is not imported" in html.replace("&ldquo;", "“").replace(
        "&rdquo;", "”") or "multichoice" in html
    assert "parabola sketch.png" in html
    assert re.search(r"Import 4 new and 0 updated problems", html)

    done = teacher_client.post(preview_url)
    assert done.status_code == 302 and done["Location"] == reverse("teacher:problem-list")
    assert Problem.objects.count() == 4
    assert Solution.objects.filter(current_revision__author=teacher).count() == 2
    # The stashed upload is gone: confirming again imports nothing.
    again = teacher_client.post(preview_url)
    assert again.status_code == 302 and again["Location"] == reverse("teacher:import")
    assert Problem.objects.count() == 4


def test_reupload_shows_everything_skipped(teacher_client):
    teacher_client.post(_upload(teacher_client)["Location"])
    preview = teacher_client.get(_upload(teacher_client)["Location"])
    html = preview.content.decode()
    assert "There is nothing to import" in html and "Unchanged: already in the bank" in html


@pytest.mark.parametrize(("name", "data", "message"), [
    ("laughs.xml", b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "a"><!ENTITY b "&a;&a;">]>'
                   b"<quiz>&b;</quiz>", "declares a DTD or entities"),
    ("bad.xml", b"<quiz><question></quiz>", "not well-formed XML"),
    ("bank.xlsx", b"PK\x03\x04rest", "CSV UTF-8"),
    ("bank.csv", b"title,answer\nA,1\n", "no statement column"),
])
def test_bad_files_are_refused_on_the_form(teacher_client, name, data, message):
    response = _upload(teacher_client, name=name, data=data)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&lt;", "<").replace("&gt;", ">")
    assert Problem.objects.count() == 0


def test_oversize_upload_is_refused(teacher_client, settings):
    settings.QB_IMPORT_MAX_BYTES = 2048
    response = _upload(teacher_client)
    assert response.status_code == 200
    page = response.content.decode()
    assert "over the 2 KB import limit" in page and "QB_IMPORT_MAX_BYTES" in page


def test_another_users_token_is_refused(teacher_client, client):
    from tests.factories import make_teacher

    preview_url = _upload(teacher_client)["Location"]
    other = make_teacher("other")
    client.force_login(other)
    response = client.post(preview_url)
    assert response.status_code == 302 and response["Location"] == reverse("teacher:import")
    assert Problem.objects.count() == 0


def test_latin1_csv_preview_says_which_encoding(teacher_client):
    data = 'title,statement\nÉté,"Calculer 2+2, s\'il vous plaît."\n'.encode("latin-1")
    preview = teacher_client.get(_upload(teacher_client, name="bank.csv", data=data)["Location"])
    html = preview.content.decode()
    assert "Windows-1252" in html and "Été" in html


def test_export_page_counts_and_downloads(teacher_client, teacher):
    p = make_problem(title="Exported", tags=["exam"], reference_answer="7")
    make_problem(title="Other")
    s = solution_create(problem=p, body="Because $3+4=7$.", author=teacher)
    solution_transition(solution=s, target=Solution.Status.PUBLISHED, user=teacher,
                        confirm=Concern.LABELS)
    page = teacher_client.get(reverse("teacher:export"), {"format": "moodle", "tag": "exam",
                                                          "with_solutions": "on"})
    assert page.status_code == 200 and "<strong>1</strong> problem matches" in page.content.decode()
    download = teacher_client.get(reverse("teacher:export"), {
        "format": "moodle", "tag": "exam", "with_solutions": "on", "download": "1"})
    assert download["Content-Disposition"] == 'attachment; filename="problems.xml"'
    body = download.content.decode()
    assert "Exported" in body and "Other" not in body and "\\(3+4=7\\)" in body
    by_ids = teacher_client.get(reverse("teacher:export"), {"format": "json", "download": "1",
                                                            "ids": [str(p.pk)]})
    assert b'"Exported"' in by_ids.content and b'"solution": ""' in by_ids.content


def test_export_with_no_match_says_so(teacher_client):
    response = teacher_client.get(reverse("teacher:export"), {"format": "csv", "tag": "none",
                                                              "download": "1"})
    assert response.status_code == 200 and "nothing to export" in response.content.decode()


def test_export_rejects_bad_ids(teacher_client):
    response = teacher_client.get(reverse("teacher:export"), {"format": "csv", "ids": "1, x"})
    assert "“x” is not a problem number" in response.content.decode()


def test_nav_links_to_import(teacher_client):
    assert reverse("teacher:import") in teacher_client.get(reverse("teacher:dashboard")).content \
        .decode()


# --- Admin ------------------------------------------------------------------------------


def test_admin_export_action(admin_client):
    p = make_problem(title="Admin export")
    response = admin_client.post(reverse("admin:questionbank_problem_changelist"), {
        "action": "export_gift", "_selected_action": [p.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="problems.gift.txt"'
    assert b"::Admin export::" in response.content


def test_admin_changelist_links_to_import_and_import_flow(admin_client):
    changelist = admin_client.get(reverse("admin:questionbank_problem_changelist"))
    assert reverse("admin:questionbank_problem_import") in changelist.content.decode()
    assert "Export selected as Moodle XML" in changelist.content.decode()
    response = _upload(admin_client, url="admin:questionbank_problem_import")
    assert response.status_code == 302 and Problem.objects.count() == 0
    preview = admin_client.get(response["Location"])
    assert "Completing the square" in preview.content.decode()
    done = admin_client.post(response["Location"])
    assert done.status_code == 302 and Problem.objects.count() == 4


def test_admin_import_refuses_bad_xml(admin_client):
    response = _upload(admin_client, url="admin:questionbank_problem_import",
                       data=b"<quiz><question></quiz>")
    assert response.status_code == 200 and "not well-formed XML" in response.content.decode()


# --- Issue 15: the preview's choices ---------------------------------------------------------

ISSUE15 = FIXTURES / "issue15"


def _preview(client, name, **query):
    response = _upload(client, name=name, data=(ISSUE15 / name).read_bytes())
    assert response.status_code == 302, response.content.decode()[:500]
    url = response["Location"]
    return url, client.get(url, query).content.decode()


def test_preview_shows_the_encoding_and_the_language_choice(teacher_client):
    _, html = _preview(teacher_client, "naive_cp1252.gift")
    assert "read as Windows-1252 (Western European)" in html and "Naïve sets" in html

    url, html = _preview(teacher_client, "multilang.xml")
    assert "language kept: en" in html and '<select name="language"' in html
    assert '<option value="fi">fi</option>' in html and "Capital" in html
    finnish = teacher_client.get(url, {"language": "fi"}).content.decode()
    assert "language kept: fi" in finnish and "Pääkaupunki" in finnish
    assert '<input type="hidden" name="language" value="fi">' in finnish
    teacher_client.post(url, {"language": "fi"})
    assert Problem.objects.get(reference_answer="Helsinki").title == "Pääkaupunki"


def test_preview_flags_a_look_alike_and_the_teacher_chooses_update(teacher_client):
    teacher_client.post(_preview(teacher_client, "plant_cells_v1.xml")[0])
    original = Problem.objects.get()
    url, html = _preview(teacher_client, "plant_cells_v2.xml")
    link = reverse("teacher:problem-detail", args=[original.pk])
    assert (f'Looks like problem <a href="{link}">#{original.pk}</a> (same title and '
            "category, different text).") in html
    assert 'name="update_similar" value="1" form="import-confirm"' in html
    teacher_client.post(url, {"update_similar": ["1"]})
    assert Problem.objects.count() == 1
    original.refresh_from_db()
    assert original.statement == "Name three parts of a plant cell that animal cells lack."


def test_confirm_without_the_choice_creates_beside_the_look_alike(teacher_client):
    teacher_client.post(_preview(teacher_client, "plant_cells_v1.xml")[0])
    url, _ = _preview(teacher_client, "plant_cells_v2.xml")
    teacher_client.post(url)
    assert Problem.objects.filter(title="Plant cells").count() == 2


def test_admin_preview_offers_the_same_choices(admin_client):
    response = _upload(admin_client, name="multilang.xml",
                       data=(ISSUE15 / "multilang.xml").read_bytes(),
                       url="admin:questionbank_problem_import")
    url = response["Location"]
    html = admin_client.get(url, {"language": "fi"}).content.decode()
    assert "language kept: fi" in html and "Pääkaupunki" in html
    admin_client.post(url, {"language": "fi"})
    assert Problem.objects.get(reference_answer="Helsinki").title == "Pääkaupunki"

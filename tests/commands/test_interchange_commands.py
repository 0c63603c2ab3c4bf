import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from questionbank.models import Problem, Solution
from questionbank.services.solutions import Concern, solution_create, solution_transition
from tests.factories import make_problem

FIXTURES = Path(__file__).parent.parent / "interchange" / "fixtures"
pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_writes_nothing_and_prints_the_plan():
    out, _ = _run("import_problems", str(FIXTURES / "moodle_quiz.xml"), "--dry-run")
    assert Problem.objects.count() == 0
    assert "Question 1: create “Completing the square”" in out
    assert "Question 5: error" in out and "multichoice" in out
    assert "To create: 4, to update: 0, unchanged: 0, errors: 2." in out
    assert "Dry run: nothing was written." in out


def test_import_then_import_again(teacher):
    out, _ = _run("import_problems", str(FIXTURES / "questions.gift"), "--user", "teacher")
    assert "6 problem(s) created" in out and "1 draft solution(s) added" in out
    assert Solution.objects.get().current_revision.author == teacher
    out, _ = _run("import_problems", str(FIXTURES / "questions.gift"), "--user", "teacher")
    assert "0 problem(s) created, 0 updated, 6 unchanged" in out
    assert Problem.objects.count() == 6


def test_strict_refuses_and_writes_nothing():
    with pytest.raises(CommandError, match="3 row\\(s\\) have errors"):
        _run("import_problems", str(FIXTURES / "questions.gift"), "--strict")
    assert Problem.objects.count() == 0


def test_refused_files(tmp_path, settings):
    laughs = tmp_path / "laughs.xml"
    laughs.write_bytes(b'<!DOCTYPE q [<!ENTITY a "a"><!ENTITY b "&a;&a;">]><quiz>&b;</quiz>')
    with pytest.raises(CommandError, match="DTD or entities"):
        _run("import_problems", str(laughs))
    with pytest.raises(CommandError, match="no such file"):
        _run("import_problems", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="no user"):
        _run("import_problems", str(laughs), "--user", "nobody")
    settings.QB_IMPORT_MAX_BYTES = 1024
    with pytest.raises(CommandError, match="import limit.*raise the QB_IMPORT_MAX_BYTES setting"):
        _run("import_problems", str(FIXTURES / "moodle_quiz.xml"))
    assert Problem.objects.count() == 0


def test_export_to_file_and_back(tmp_path, teacher):
    p = make_problem(title="Tagged", tags=["exam"], reference_answer="5")
    make_problem(title="Untagged")
    s = solution_create(problem=p, body="Two plus three is $5$.", author=teacher)
    solution_transition(solution=s, target=Solution.Status.PUBLISHED, user=teacher,
                        confirm=Concern.LABELS)
    target = tmp_path / "out.json"
    _, err = _run("export_problems", "--format", "json", "--with-solutions", "--tag", "exam",
                  "--output", str(target))
    assert "Exported 1 problem(s)" in err
    document = json.loads(target.read_text())
    assert [x["title"] for x in document["problems"]] == ["Tagged"]
    assert document["problems"][0]["solution"] == "Two plus three is $5$."

    Problem.objects.all().delete()
    out, _ = _run("import_problems", str(target), "--user", "teacher")
    assert "1 problem(s) created" in out
    assert Problem.objects.get().tags.get().name == "exam"


def test_export_to_stdout_and_errors(capsysbinary):
    make_problem(title="Out")
    call_command("export_problems", "--format", "gift", "--ids", str(Problem.objects.get().pk))
    assert b"::Out::" in capsysbinary.readouterr().out
    with pytest.raises(CommandError, match="No problem matches"):
        _run("export_problems", "--tag", "nothing-here")


ISSUE15 = FIXTURES / "issue15"


def test_language_and_update_similar_options(teacher):
    out, _ = _run("import_problems", str(ISSUE15 / "multilang.xml"), "--language", "fi",
                  "--dry-run")
    assert "multilang.xml: Moodle XML, read as UTF-8, language kept: fi." in out
    assert "create “Pääkaupunki”" in out

    _run("import_problems", str(ISSUE15 / "plant_cells_v1.xml"))
    out, _ = _run("import_problems", str(ISSUE15 / "plant_cells_v2.xml"), "--dry-run")
    original = Problem.objects.get()
    assert f"looks like problem #{original.pk} (same title and category, different text); " \
        "--update-similar updates it instead of creating one." in out
    out, _ = _run("import_problems", str(ISSUE15 / "plant_cells_v2.xml"), "--update-similar")
    assert "0 problem(s) created, 1 updated" in out and Problem.objects.count() == 1


def test_dropped_parts_are_printed_per_question():
    out, _ = _run("import_problems", str(ISSUE15 / "dropped_parts.xml"), "--dry-run")
    assert "    units were not kept: cm²." in out
    assert "    the response template was not imported." in out

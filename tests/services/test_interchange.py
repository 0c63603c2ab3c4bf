import json
from pathlib import Path

import pytest

from questionbank import selectors
from questionbank.interchange import FileRefused
from questionbank.models import Problem, Solution, SolutionRevision, Tag
from questionbank.services import interchange as service
from questionbank.services.interchange import export_problems, import_apply, import_plan
from questionbank.services.problems import problem_update
from questionbank.services.solutions import solution_create, solution_transition
from tests.factories import make_problem

FIXTURES = Path(__file__).parent.parent / "interchange" / "fixtures"
pytestmark = pytest.mark.django_db


def _counts():
    return (Problem.objects.count(), Solution.objects.count(), SolutionRevision.objects.count(),
            Tag.objects.count())


def _moodle():
    return (FIXTURES / "moodle_quiz.xml").read_bytes()


def test_plan_writes_nothing_and_lists_every_row(teacher):
    before = _counts()
    plan = import_plan(data=_moodle(), filename="quiz.xml")
    assert _counts() == before
    assert plan.format == "moodle" and plan.counts == {"create": 4, "update": 0, "skip": 0,
                                                       "error": 2}
    assert [r.label for r in plan.rows] == [f"Question {n}" for n in range(1, 7)]
    assert plan.rows[0].add_solution  # the essay's general feedback


def test_apply_creates_problems_tags_and_draft_solutions(teacher):
    result = import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    assert len(result.created) == 4 and result.solutions == 2
    essay = Problem.objects.get(external_id="ALG-Q-001")
    assert essay.status == Problem.Status.DRAFT and essay.created_by == teacher
    assert sorted(t.name for t in essay.tags.all()) == ["Algebra/Quadratics", "year 11"]
    assert "<math" in essay.statement_html  # rendered through rendering.render_markdown
    solution = essay.solutions.get()
    assert solution.status == Solution.Status.DRAFT
    assert solution.current_revision.author == teacher
    assert "general feedback" in solution.current_revision.note
    assert solution.problem_version == essay.version
    circle = Problem.objects.get(external_id="GEO-7")
    assert circle.reference_answer == "12.57"
    assert [t.name for t in circle.tags.all()] == ["Geometry"]


def test_importing_the_same_file_twice_creates_nothing_new(teacher):
    import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    before = _counts()
    plan = import_plan(data=_moodle(), filename="quiz.xml")
    assert plan.counts == {"create": 0, "update": 0, "skip": 4, "error": 2}
    result = import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    assert result.created == [] and result.updated == [] and result.solutions == 0
    assert _counts() == before


def test_changed_row_updates_the_matched_problem_and_bumps_its_version(teacher):
    import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    changed = _moodle().replace(b"<text>12.57</text>", b"<text>12.566</text>")
    plan = import_plan(data=changed, filename="quiz.xml")
    row = next(r for r in plan.rows if r.action == "update")
    assert row.changes == ["reference_answer"]
    before = _counts()
    import_apply(data=changed, filename="quiz.xml", user=teacher)
    assert _counts() == before
    circle = Problem.objects.get(external_id="GEO-7")
    assert circle.reference_answer == "12.566" and circle.version == 2


def test_match_by_content_hash_when_there_is_no_external_id(teacher):
    existing = make_problem(title="Sum", statement="Compute $1+1$.", reference_answer="2",
                            status=Problem.Status.READY)
    data = b"title,statement,reference_answer,tags\nSum,Compute $1+1$.,2,Arithmetic\n"
    plan = import_plan(data=data, filename="x.csv")
    assert plan.rows[0].action == "update" and plan.rows[0].problem_id == existing.pk
    assert plan.rows[0].changes == ["tags"]
    import_apply(data=data, filename="x.csv", user=teacher)
    existing.refresh_from_db()
    assert [t.name for t in existing.tags.all()] == ["Arithmetic"]
    assert existing.status == Problem.Status.READY  # not given by the file: kept
    assert Problem.objects.count() == 1


def test_same_text_under_another_external_id_is_skipped(teacher):
    make_problem(title="Sum", statement="Compute $1+1$.", external_id="OLD-1")
    plan = import_plan(data=b"external_id,title,statement\nNEW-1,Sum,Compute $1+1$.\n",
                       filename="x.csv")
    assert plan.rows[0].action == "skip" and "OLD-1" in plan.rows[0].reason


def test_two_rows_matching_one_existing_problem(teacher):
    make_problem(title="Sum", statement="Compute $1+1$.", external_id="S1")
    data = b"external_id,title,statement\nS1,Sum v2,Compute $1+1$ now.\n,Sum,Compute $1+1$.\n"
    plan = import_plan(data=data, filename="x.csv")
    assert [r.action for r in plan.rows] == ["update", "error"]
    assert "same existing problem" in plan.rows[1].reason


def test_a_failure_halfway_writes_nothing(teacher, monkeypatch):
    real = service.problem_create
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(service, "problem_create", flaky)
    before = _counts()
    with pytest.raises(RuntimeError):
        import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    assert _counts() == before


def test_strict_refuses_a_file_with_row_errors(teacher):
    before = _counts()
    with pytest.raises(FileRefused, match="2 row\\(s\\) have errors"):
        import_apply(data=_moodle(), filename="quiz.xml", user=teacher, strict=True)
    assert _counts() == before


@pytest.mark.parametrize(("data", "name", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     b"<quiz>&b;</quiz>", "x.xml", "DTD or entities"),
    (b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<quiz>&x;</quiz>", "x.xml", "DTD or entities"),
    (b"<quiz><question>", "x.xml", "not well-formed"),
    (bytes(range(256)) * 4, "x.csv", "could not be recognised"),
])
def test_refused_files_write_nothing(teacher, data, name, message):
    before = _counts()
    with pytest.raises(FileRefused, match=message):
        import_plan(data=data, filename=name)
    with pytest.raises(FileRefused, match=message):
        import_apply(data=data, filename=name, user=teacher)
    assert _counts() == before


def test_oversize_file_is_refused(teacher, settings):
    settings.QB_IMPORT_MAX_BYTES = 1024
    with pytest.raises(FileRefused, match="over the 1 KB import limit"):
        import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    assert Problem.objects.count() == 0


def test_changed_file_is_refused_on_confirm(teacher):
    plan = import_plan(data=_moodle(), filename="quiz.xml")
    with pytest.raises(FileRefused, match="changed since the preview"):
        import_apply(data=_moodle() + b" ", filename="quiz.xml", user=teacher,
                     expected_digest=plan.digest)
    assert Problem.objects.count() == 0


def test_without_a_user_feedback_is_not_imported():
    result = import_apply(data=_moodle(), filename="quiz.xml", user=None)
    assert len(result.created) == 4 and Solution.objects.count() == 0
    assert any("not imported" in note for note in result.plan.notes)


def test_reimport_with_new_feedback_adds_one_more_draft(teacher):
    import_apply(data=_moodle(), filename="quiz.xml", user=teacher)
    changed = _moodle().replace(b"Half of 6 is 3", b"Half of six is 3")
    result = import_apply(data=changed, filename="quiz.xml", user=teacher)
    assert result.solutions == 1
    assert Problem.objects.get(external_id="ALG-Q-001").solutions.count() == 2
    assert import_apply(data=changed, filename="quiz.xml", user=teacher).solutions == 0


# --- Export and round trips ----------------------------------------------------------------


def _bank(teacher):
    maths = make_problem(
        title="Quadratic: roots", statement="Solve $x^2 - 5x + 6 = 0$.\n\n"
        "Give **both** roots, e.g. `x = 1`. Note: 3 < 4 & \\(a_1 = {b}\\).",
        reference_answer="x = 2 or x = 3", tags=["Algebra/Quadratics", "exam"], difficulty=2,
        source="Textbook p. 12", external_id="Q-1", status=Problem.Status.READY)
    numeric = make_problem(title="Number", statement="Compute $$\\sum_{i=1}^{10} i.$$",
                           reference_answer="55", difficulty=1, language="fr")
    essay = make_problem(title="Essay ]]> <odd> title", statement="Explain why ~ {x} = #1: yes.",
                         reference_answer="", difficulty=5, status=Problem.Status.DRAFT)
    code = make_problem(kind=Problem.Kind.PROGRAMMING, title="Reverse a string",
                        statement="Write `rev(s)`.\n\n```python\nassert rev('ab') == 'ba'\n```",
                        reference_answer="def rev(s): return s[::-1]",
                        test_cases=[{"input": "ab", "output": "ba"}], difficulty=3)
    published = solution_create(problem=maths, body="Factor: $(x-2)(x-3)=0$, so "
                                "$\\boxed{x=2 \\text{ or } x=3}$.", author=teacher)
    solution_transition(solution=published, target=Solution.Status.PUBLISHED, user=teacher)
    solution_create(problem=numeric, body="A draft that must not be exported.", author=teacher)
    return [maths, numeric, essay, code]


def _snapshot():
    rows = []
    for p in Problem.objects.order_by("title").prefetch_related("tags"):
        rows.append((p.title, p.kind, p.statement, p.reference_answer, p.test_cases,
                     sorted(t.name for t in p.tags.all()), p.difficulty, p.source, p.language,
                     p.external_id))
    return rows


@pytest.mark.parametrize("fmt", ["moodle", "gift", "csv", "json"])
def test_round_trip_export_then_import_gives_the_same_problems(teacher, fmt):
    _bank(teacher)
    original = _snapshot()
    problems = selectors.problems_for_export(with_solutions=True)
    export = export_problems(problems=problems, format=fmt, with_solutions=True)
    assert export.count == 4

    # Into the same bank: nothing changes.
    plan = import_plan(data=export.content, filename=export.filename)
    assert plan.counts["error"] == 0 and plan.counts["create"] == 0
    assert plan.counts["update"] == 0, [(r.title, r.changes) for r in plan.rows]

    # Into an empty bank: the same problems, the published solution as a draft.
    Problem.objects.all().delete()
    Tag.objects.all().delete()
    result = import_apply(data=export.content, filename=export.filename, user=teacher)
    assert len(result.created) == 4
    assert _snapshot() == original
    imported = Solution.objects.get()
    assert imported.status == Solution.Status.DRAFT
    assert imported.current_revision.body.startswith("Factor: $(x-2)(x-3)=0$")
    assert imported.final_answer == "x=2 \\text{ or } x=3"


def test_export_content_per_format(teacher):
    _bank(teacher)
    problems = selectors.problems_for_export(with_solutions=True)
    xml = export_problems(problems=problems, format="moodle", with_solutions=True)
    text = xml.content.decode()
    assert xml.filename == "problems.xml"
    assert '<question type="shortanswer">' in text  # the maths problem with a text answer
    assert '<question type="numerical">' in text and "<text>55</text>" in text
    assert text.count('<question type="essay">') == 2  # no answer; programming
    assert "\\((x-2)(x-3)=0\\)" in text  # solution as general feedback, TeX for MathJax
    assert "must not be exported" not in text

    without = export_problems(problems=selectors.problems_for_export(), format="json",
                              with_solutions=False)
    document = json.loads(without.content)
    assert document["format"] == "questionbank"
    assert all(p["solution"] == "" for p in document["problems"])

    csv_file = export_problems(problems=problems, format="csv", with_solutions=True)
    assert csv_file.content.startswith(b"\xef\xbb\xbf")  # BOM so Excel reads UTF-8
    gift = export_problems(problems=problems, format="gift", with_solutions=True)
    assert "{=x \\= 2 or x \\= 3 ####[markdown]Factor" in gift.content.decode()


def test_export_selector_filters_and_queries(teacher, django_assert_max_num_queries):
    bank = _bank(teacher)
    assert [p.pk for p in selectors.problems_for_export(tag="exam")] == [bank[0].pk]
    assert selectors.problems_for_export(kind="programming").count() == 1
    assert selectors.problems_for_export(ids=[bank[1].pk, bank[2].pk]).count() == 2
    for _ in range(5):
        make_problem(tags=["exam"])
    with django_assert_max_num_queries(3):
        export_problems(problems=selectors.problems_for_export(with_solutions=True),
                        format="json", with_solutions=True)


# --- Issue 15: moving a real Moodle bank in loses nothing ------------------------------------

ISSUE15 = FIXTURES / "issue15"


def _file(name: str) -> bytes:
    return (ISSUE15 / name).read_bytes()


def _apply(name: str, user, **kwargs):
    return import_apply(data=_file(name), filename=name, user=user, **kwargs)


@pytest.mark.parametrize("fmt", ["moodle", "gift", "csv", "json"])
def test_reimport_keeps_a_reference_answer_and_test_cases_added_in_the_app(teacher, fmt):
    essay = make_problem(title="Explain", statement="Explain why $x^2 \\ge 0$.",
                         reference_answer="", external_id="E-1")
    exported = export_problems(problems=selectors.problems_for_export(), format=fmt)
    problem_update(problem=essay, reference_answer="it is a square",
                   test_cases=[{"input": "1", "output": "1"}])
    essay.refresh_from_db()
    version = essay.version
    plan = import_plan(data=exported.content, filename=exported.filename)
    assert [(r.action, r.changes) for r in plan.rows] == [("skip", [])]
    import_apply(data=exported.content, filename=exported.filename, user=teacher)
    essay.refresh_from_db()
    assert essay.reference_answer == "it is a square" and essay.version == version
    assert essay.test_cases == [{"input": "1", "output": "1"}]


def test_reimporting_moodle_essays_and_descriptions_blanks_nothing(teacher):
    _apply("essay_reference.xml", teacher)
    explained = Problem.objects.get(external_id="ESS-1")
    assert explained.reference_answer == "x = 2"  # read from <graderinfo>
    proof = Problem.objects.get(external_id="ESS-2")
    problem_update(problem=proof, reference_answer="by induction on n")
    proof.refresh_from_db()
    plan = import_plan(data=_file("essay_reference.xml"), filename="essay_reference.xml")
    assert plan.counts == {"create": 0, "update": 0, "skip": 3, "error": 0}
    _apply("essay_reference.xml", teacher)
    after = Problem.objects.get(pk=proof.pk)
    assert after.reference_answer == "by induction on n" and after.version == proof.version
    about = Problem.objects.get(external_id="DESC-1")
    assert (about.reference_answer, about.external_type) == ("", "description")
    assert explained.external_category == "Algebra"


def test_same_idnumber_in_another_category_is_another_problem(teacher):
    _apply("plant_botany.xml", teacher)
    result = _apply("plant_chemistry.xml", teacher)
    assert len(result.created) == 1 and result.updated == []
    essay = Problem.objects.get(external_id="plant", external_category="Botany")
    assert essay.title == "Parts of a plant" and essay.reference_answer == ""
    fuel = Problem.objects.get(external_id="plant", external_category="Chemistry")
    assert fuel.reference_answer == "methane"
    # Re-importing either file now matches its own problem.
    for name in ("plant_botany.xml", "plant_chemistry.xml"):
        plan = import_plan(data=_file(name), filename=name)
        assert plan.counts["skip"] == 1, name


def test_an_update_changing_type_title_and_statement_is_refused(teacher):
    _apply("plant_botany.xml", teacher)
    essay = Problem.objects.get()
    plan = import_plan(data=_file("plant_reused_in_botany.xml"), filename="x.xml")
    (row,) = plan.rows
    assert row.action == "error" and row.problem_id == essay.pk
    assert row.reason == (
        f"its idnumber “plant” in category “Botany” belongs to problem #{essay.pk} “Parts of a "
        "plant”, but this question differs in type, title and statement, so it was not "
        "imported over it. If it is a different question, give it its own idnumber (or "
        f"another category); if it really replaces #{essay.pk}, edit #{essay.pk} in the bank")
    _apply("plant_reused_in_botany.xml", teacher)
    essay.refresh_from_db()
    assert essay.title == "Parts of a plant" and Problem.objects.count() == 1


def test_a_problem_imported_without_a_category_is_still_matched_by_its_idnumber(teacher):
    legacy = make_problem(title="Parts of a plant", statement="Name the parts of a plant.",
                          reference_answer="", external_id="plant")
    plan = import_plan(data=_file("plant_botany.xml"), filename="x.xml")
    assert [(r.action, r.problem_id) for r in plan.rows] == [("update", legacy.pk)]
    assert plan.rows[0].changes == ["statement", "external_category", "tags"]


def test_an_edited_question_without_idnumber_looks_like_its_problem(teacher):
    _apply("plant_cells_v1.xml", teacher)
    original = Problem.objects.get()
    plan = import_plan(data=_file("plant_cells_v2.xml"), filename="v2.xml")
    (row,) = plan.rows
    assert (row.action, row.similar_id, row.updates_similar) == ("create", original.pk, False)

    chosen = import_plan(data=_file("plant_cells_v2.xml"), filename="v2.xml",
                         update_similar=[row.number])
    assert (chosen.rows[0].action, chosen.rows[0].problem_id) == ("update", original.pk)
    assert chosen.rows[0].changes == ["statement"]
    result = _apply("plant_cells_v2.xml", teacher, update_similar=[row.number])
    assert result.updated == [original.pk] and Problem.objects.count() == 1
    original.refresh_from_db()
    assert original.statement == "Name three parts of a plant cell that animal cells lack."


def test_multilang_import_keeps_the_chosen_language(teacher):
    plan = import_plan(data=_file("multilang.xml"), filename="m.xml")
    assert (plan.languages, plan.language) == (["en", "fi", "de"], "en")
    _apply("multilang.xml", teacher, language="fi")
    capital = Problem.objects.get(reference_answer="Helsinki")
    assert (capital.title, capital.statement, capital.language) == (
        "Pääkaupunki", "Mikä on Suomen pääkaupunki?", "fi")


def test_an_imported_table_renders_as_a_table(teacher):
    _apply("table.xml", teacher)
    problem = Problem.objects.get()
    assert "<table>" in problem.statement_html and "<th>f(x)</th>" in problem.statement_html


def test_alternative_answers_are_stored_and_the_summary_names_dropped_parts(teacher):
    result = _apply("dropped_parts.gift", teacher)
    four = Problem.objects.get(title="Four")
    assert (four.reference_answer, four.accepted_answers) == ("four", ["4"])
    assert result.summary() == (
        "2 problem(s) created, 0 updated, 0 unchanged. Parts of 2 question(s) were not "
        "imported: Question 1 (line 1) (the feedback given for an answer was not imported; "
        "answers with partial credit were not kept: “three” (50 %)), Question 2 (line 3) "
        "(answers with partial credit were not kept: “3” (50 %); numerical tolerance ±0.005 "
        "was not kept).")


def test_a_statement_that_shrinks_on_update_is_a_warning(teacher):
    make_problem(title="Long", statement="A long statement " * 10, external_id="L-1")
    data = b"external_id,title,statement\nL-1,Long,A short one.\n"
    (row,) = import_plan(data=data, filename="x.csv").rows
    assert row.action == "update"
    assert row.warnings == ["the statement would shrink from 169 to 12 characters; check "
                            "that nothing was cut off."]


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
def test_round_trip_keeps_category_description_and_accepted_answers(teacher, fmt):
    _apply("essay_reference.xml", teacher)
    _apply("dropped_parts.gift", teacher)
    fields = ("title", "statement", "reference_answer", "accepted_answers",
              "external_category", "external_type", "external_id")
    before = sorted(Problem.objects.values_list(*fields))
    export = export_problems(problems=selectors.problems_for_export(), format=fmt)
    plan = import_plan(data=export.content, filename=export.filename)
    assert plan.counts["update"] == plan.counts["create"] == plan.counts["error"] == 0, \
        [(r.title, r.action, r.changes, r.reason) for r in plan.rows]
    Problem.objects.all().delete()
    import_apply(data=export.content, filename=export.filename, user=teacher)
    assert sorted(Problem.objects.values_list(*fields)) == before


def test_a_row_with_its_own_idnumber_does_not_look_like_another_idnumbered_problem(teacher):
    make_problem(title="Question 1", statement="Compute $1+1$.", external_id="A")
    data = b"external_id,title,statement\nB,Question 1,Compute $2+2$.\n"
    (row,) = import_plan(data=data, filename="x.csv").rows
    assert (row.action, row.similar_id) == ("create", None)

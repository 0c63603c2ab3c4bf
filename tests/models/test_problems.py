from questionbank.models import Problem
from questionbank.services.problems import problem_update, problems_add_tags, problems_set_status
from tests.factories import make_problem


def test_new_problem_is_version_one_with_rendered_statement(db):
    problem = make_problem(statement="Find $x$ such that **x = 2**.")
    assert problem.version == 1
    assert "<strong>" in problem.statement_html
    assert problem.content_hash == problem.compute_content_hash()


def test_statement_or_reference_change_bumps_version(db):
    problem = make_problem()
    problem_update(problem=problem, statement="A new statement.")
    assert Problem.objects.get(pk=problem.pk).version == 2
    problem_update(problem=problem, reference_answer="99")
    assert Problem.objects.get(pk=problem.pk).version == 3


def test_other_changes_keep_the_version(db):
    problem = make_problem()
    problem_update(problem=problem, title="Renamed", difficulty=5, status="archived",
                   statement=problem.statement)
    problem.refresh_from_db()
    assert problem.version == 1
    assert problem.title == "Renamed"


def test_statement_html_follows_the_statement(db):
    problem = make_problem(statement="old")
    problem_update(problem=problem, statement="*new*")
    problem.refresh_from_db()
    assert "<em>new</em>" in problem.statement_html


def test_tags_and_bulk_status(db):
    a, b = make_problem(tags=["Algebra"]), make_problem()
    problems_add_tags(problems=[a, b], names=["algebra", "AIME"])
    assert sorted(t.name for t in a.tags.all()) == ["AIME", "Algebra"]
    assert problems_set_status(problems=[a, b], status="archived") == 2
    assert problems_set_status(problems=[a, b], status="archived") == 0


def test_str(db):
    assert str(make_problem(title="Pigeons")) == "Pigeons"

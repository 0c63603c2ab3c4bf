"""The students' selectors (questionbank/selectors/browse.py), through their public
functions: what a student may see, what a page and a row hold, the neighbours."""

from __future__ import annotations

import pytest

from questionbank.models import Problem, Solution
from questionbank.selectors import (
    browse_newest_neighbours,
    browse_problem_page,
    browse_rows,
    browse_tag_counts,
)
from questionbank.services.problems import problems_set_status
from tests.browse_helpers import STATES, published_problem, with_solution
from tests.factories import make_problem

pytestmark = pytest.mark.django_db


def _every_state() -> list[Problem]:
    """One problem per solution state, an archived published one and one without any."""
    problems = []
    for state in STATES:
        problem = make_problem(title=f"State {state}")
        with_solution(problem, state)
        problems.append(problem)
    archived = published_problem(title="Archived")
    problems_set_status(problems=[archived], status=Problem.Status.ARCHIVED)
    problems.append(archived)
    problems.append(make_problem(title="No solution"))
    return problems


def test_raw_visibility_rule_matches_published_queryset():
    problems = _every_state()
    visible = set()
    for problem in problems:
        try:
            browse_problem_page(pk=problem.pk)
        except Problem.DoesNotExist:
            continue
        visible.add(problem.pk)
    assert visible == set(Problem.objects.published().values_list("pk", flat=True))
    assert len(visible) == 1


def test_rows_show_only_visible_problems_in_the_order_asked():
    problems = _every_state()
    first = published_problem(title="First", tags=["Zeta", "Alpha"])
    second = published_problem(title="Second")
    ids = [second.pk, *(p.pk for p in problems), first.pk]
    rows = browse_rows(ids)
    assert [r.pk for r in rows] == [second.pk, problems[2].pk, first.pk]
    assert [t.name for t in rows[-1].tag_list] == ["Alpha", "Zeta"]
    assert rows[-1].get_kind_display() == first.get_kind_display()


def test_problem_page_holds_the_published_solution_its_revision_and_tags():
    problem = make_problem(title="Roots", tags=["Quadratics", "Algebra"])
    with_solution(problem, "draft", body="Draft words.")
    with_solution(problem, "published", body="Published words.", final_answer="7")
    page = browse_problem_page(pk=problem.pk)
    assert page.title == "Roots" and "<p>" in page.statement_html
    assert page.solution.status == Solution.Status.PUBLISHED
    assert page.solution.final_answer == "7"
    assert "Published words." in page.solution.current_revision.body_html
    assert [t.name for t in page.tag_list] == ["Algebra", "Quadratics"]


def test_newest_neighbours_skip_what_students_may_not_see():
    published_problem(title="Older")
    _every_state()
    middle = published_problem(title="Middle")
    hidden = make_problem(title="Hidden")
    with_solution(hidden, "draft")
    newer = published_problem(title="Newer")
    page = browse_problem_page(pk=middle.pk)
    previous, following = browse_newest_neighbours(problem=page)
    assert previous == {"pk": newer.pk, "title": "Newer"}
    # The visible problem just older than "Middle": the one published state of _every_state.
    assert following["title"] == "State published"
    assert browse_newest_neighbours(problem=browse_problem_page(pk=newer.pk))[0] is None


def test_tag_counts_count_only_visible_problems():
    published_problem(tags=["Algebra", "Geometry"])
    published_problem(tags=["Algebra"])
    make_problem(tags=["Algebra", "Hidden"])
    assert browse_tag_counts() == [{"name": "Algebra", "slug": "algebra", "n": 2},
                                   {"name": "Geometry", "slug": "geometry", "n": 1}]

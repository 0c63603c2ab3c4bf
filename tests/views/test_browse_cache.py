"""The students' page cache: served while nothing visible changed, never stale after a
publish, unpublish, archive or edit, whichever way the write happened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionbank.browse.cache import current_generation
from questionbank.models import Problem, Solution, Tag
from questionbank.services.problems import problem_update, problems_set_status
from questionbank.services.solutions import Concern, solution_transition
from tests.browse_helpers import published_problem, with_solution
from tests.factories import make_problem, make_student

LIST = reverse("browse:problem-list")
pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache(settings):
    settings.QB_BROWSE_PAGE_CACHE = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "browse-cache-tests"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_second_request_is_one_query(client, page_cache, django_assert_num_queries):
    published_problem(title="Cached one")
    first = client.get(LIST)
    with django_assert_num_queries(1):  # the generation
        second = client.get(LIST)
    assert second.status_code == 200 and second.content == first.content
    assert "Cached one" in second.content.decode()


def test_publish_and_edit_show_at_once(client, page_cache):
    client.get(LIST)
    problem = make_problem(title="Brand new")
    solution = with_solution(problem, "in_review")
    assert "Brand new" not in client.get(LIST).content.decode()
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=None,
                        confirm=Concern.LABELS)
    assert "Brand new" in client.get(LIST).content.decode()
    problem_update(problem=problem, title="Renamed problem")
    assert "Renamed problem" in client.get(LIST).content.decode()


@pytest.mark.parametrize("how", ["unpublish", "archive", "delete_solution", "update_status"])
def test_hidden_problem_is_404_even_after_being_cached(client, page_cache, how):
    problem = published_problem(title="Soon hidden")
    url = reverse("browse:problem-detail", args=[problem.pk])
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # now from the cache
    solution = problem.solutions.get()
    if how == "unpublish":
        solution_transition(solution=solution, target=Solution.Status.DRAFT, user=None)
    elif how == "archive":
        problems_set_status(problems=[problem], status=Problem.Status.ARCHIVED)  # .update()
    elif how == "delete_solution":
        solution.delete()
    else:
        Solution.objects.filter(pk=solution.pk).update(status=Solution.Status.REJECTED)
    assert client.get(url).status_code == 404
    assert "Soon hidden" not in client.get(LIST).content.decode()


def test_tag_rename_by_queryset_update_is_seen(client, page_cache):
    published_problem(tags=["Old name"])
    assert "Old name" in client.get(LIST).content.decode()
    Tag.objects.filter(name="Old name").update(name="New name")
    assert "New name" in client.get(LIST).content.decode()


def test_drafts_do_not_invalidate(client, page_cache):
    problem = published_problem()
    before = current_generation()
    with_solution(problem, "draft")
    with_solution(problem, "in_review")
    assert current_generation() == before


def test_logged_in_users_share_the_content_in_their_own_page(client, page_cache,
                                                            monkeypatch):
    published_problem(title="Shared content")
    anonymous = client.get(LIST).content.decode()  # caches the list's content
    assert "Log in" in anonymous
    from questionbank import selectors

    def no_rows(*args, **kwargs):
        raise AssertionError("the content should have come from the cache")

    monkeypatch.setattr(selectors, "browse_page_rows", no_rows)
    client.force_login(make_student("cached-student"))
    page = client.get(LIST).content.decode()
    assert "cached-student" in page and "Shared content" in page  # their name, shared rows


def test_off_by_default_under_debug(client, settings, django_assert_num_queries):
    settings.QB_BROWSE_PAGE_CACHE = False
    published_problem()
    client.get(LIST)
    with django_assert_num_queries(2):
        client.get(LIST)


# --- Problem pages: cached whole, never stale -------------------------------------------

def _detail(problem) -> str:
    return reverse("browse:problem-detail", args=[problem.pk])


def _change(how: str, problem) -> str:
    """Change what a problem's page shows, one way or another; returns the text now shown."""
    from questionbank.models import SolutionRevision
    from questionbank.services.solutions import solution_add_revision

    solution = problem.solutions.get()
    if how == "title_by_update":
        Problem.objects.filter(pk=problem.pk).update(title="Retitled by update")
        return "Retitled by update"
    if how == "statement_by_service":
        problem_update(problem=problem, statement="A brand new statement.")
        return "A brand new statement."
    if how == "tag_rename":
        Tag.objects.filter(name="Algebra").update(name="Number theory")
        return "Number theory"
    if how == "tag_added":
        problem.tags.add(Tag.objects.create(name="Geometry", slug="geometry"))
        return "Geometry"
    if how == "new_revision":
        solution_add_revision(solution=solution, body="A corrected explanation.", author=None)
        return "A corrected explanation."
    if how == "revision_html_by_update":
        SolutionRevision.objects.filter(pk=solution.current_revision_id).update(
            body_html="<p>Re-rendered in place.</p>")
        return "Re-rendered in place."
    if how == "answer_by_update":
        Solution.objects.filter(pk=solution.pk).update(final_answer="42424242")
        return "42424242"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["title_by_update", "statement_by_service", "tag_rename",
                                 "tag_added", "new_revision", "revision_html_by_update",
                                 "answer_by_update"])
@pytest.mark.parametrize("who", ["anonymous", "student"])
def test_cached_problem_page_is_never_stale(client, page_cache, how, who):
    problem = published_problem(title="Stored one", tags=["Algebra"])
    if who == "student":
        client.force_login(make_student("reader"))
    before = current_generation()
    first = client.get(_detail(problem)).content.decode()  # cached (anonymous)
    if who == "anonymous":
        assert client.get(_detail(problem)).content.decode() == first  # from the cache
    shown = _change(how, problem)
    assert current_generation() != before  # the generation moved on
    page = client.get(_detail(problem)).content.decode()
    assert shown in page


def test_page_rendered_from_data_older_than_a_change_is_not_served(client, page_cache):
    """The race: a request reads the generation and the data, a teacher changes the
    problem, then the request stores what it rendered. That page is stored under the
    older generation and must never be served."""
    problem = published_problem(title="Before the change")
    assert "Before the change" in client.get(_detail(problem)).content.decode()  # stored
    Problem.objects.filter(pk=problem.pk).update(title="After the change")
    page = client.get(_detail(problem)).content.decode()
    assert "After the change" in page and "Before the change" not in page


@pytest.mark.parametrize("how", ["unpublish", "archive", "delete_solution", "update_status"])
def test_problem_page_of_a_hidden_problem_is_404(client, how):
    problem = published_problem(title="Hidden later")
    url = _detail(problem)
    assert client.get(url).status_code == 200
    solution = problem.solutions.get()
    if how == "unpublish":
        solution_transition(solution=solution, target=Solution.Status.DRAFT, user=None)
    elif how == "archive":
        problems_set_status(problems=[problem], status=Problem.Status.ARCHIVED)
    elif how == "delete_solution":
        solution.delete()
    else:
        Solution.objects.filter(pk=solution.pk).update(status=Solution.Status.REJECTED)
    assert client.get(url).status_code == 404


def test_revisions_of_drafts_do_not_invalidate():
    from questionbank.models import SolutionRevision

    problem = published_problem()
    draft = with_solution(problem, "draft")
    before = current_generation()
    SolutionRevision.objects.filter(solution=draft).update(body_html="<p>x</p>")
    assert current_generation() == before


def test_cached_tag_page_is_one_query_and_unknown_tags_stay_404(client, page_cache,
                                                                django_assert_num_queries):
    published_problem(title="Tagged one", tags=["Geometry"])
    url = reverse("browse:tag", args=["geometry"])
    first = client.get(url)
    with django_assert_num_queries(1):  # the generation: the tag is not looked up again
        second = client.get(url)
    assert second.content == first.content and "Tagged one" in second.content.decode()
    assert client.get(reverse("browse:tag", args=["no-such-tag"])).status_code == 404
    Tag.objects.filter(slug="geometry").delete()
    assert client.get(url).status_code == 404

"""The students' page cache: served while nothing visible changed, never stale after a
publish, unpublish, archive or edit, whichever way the write happened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionbank.browse_cache import current_generation
from questionbank.models import Problem, Solution, Tag
from questionbank.services.problems import problem_update, problems_set_status
from questionbank.services.solutions import solution_transition
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
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=None)
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


def test_logged_in_pages_are_never_cached(client, page_cache):
    published_problem()
    client.get(LIST)  # cache the anonymous page
    client.force_login(make_student("cached-student"))
    assert "cached-student" in client.get(LIST).content.decode()


def test_off_by_default_under_debug(client, settings, django_assert_num_queries):
    settings.QB_BROWSE_PAGE_CACHE = False
    published_problem()
    client.get(LIST)
    with django_assert_num_queries(2):
        client.get(LIST)

"""Students' pages: who sees what, lists, search, problem pages, tags, worksheets, and a
query count that does not grow with the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.urls import reverse

from questionbank.models import Problem, Solution
from questionbank.services.problems import problems_set_status
from questionbank.services.solutions import solution_transition
from tests.browse_helpers import STATES, published_problem, with_solution
from tests.factories import make_problem, make_student, make_teacher

LIST = reverse("browse:problem-list")


def detail(problem) -> str:
    return reverse("browse:problem-detail", args=[problem.pk])


def result_titles(response) -> list[str]:
    html = response.content.decode()
    return [re.sub("<[^>]+>", "", t) for t in
            re.findall(r'<h2 class="result-title"><a href="[^"]*">(.*?)</a></h2>', html)]


@pytest.fixture(autouse=True)
def _fresh_tag_counts(settings):
    # Each test's writes are rolled back, so the next test meets the same browse
    # generations again: tag counts cached by one test must not reach another.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "browse-view-tests"}}
    cache.clear()
    yield
    cache.clear()


# --- Visibility: every solution state x every role ------------------------------------

ROLES = ("anonymous_public", "anonymous_private", "student", "teacher")


def _client_for(role, client, settings):
    settings.QB_PUBLIC_BROWSING = role == "anonymous_public"
    if role == "student":
        client.force_login(make_student("s1"))
    elif role == "teacher":
        client.force_login(make_teacher("t1"))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES)
def test_visibility(client, settings, role, state):
    problem = make_problem(title=f"The {state} problem", statement="Find the roots.")
    with_solution(problem, state)
    client = _client_for(role, client, settings)
    urls = [LIST, f"{LIST}?q=roots", detail(problem), reverse("browse:home")]
    responses = [client.get(url) for url in urls]
    if role == "anonymous_private":
        for response in responses:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))
        return
    listing, found, page, home = responses
    visible = state == "published"
    assert (problem.title in result_titles(listing)) is visible
    assert (problem.title in result_titles(found)) is visible
    assert page.status_code == (200 if visible else 404)
    assert (problem.title in home.content.decode()) is visible


@pytest.mark.django_db
def test_a_draft_solution_next_to_a_published_one_is_never_shown(client):
    problem = make_problem()
    with_solution(problem, "published", body="The published explanation.")
    with_solution(problem, "draft", body="A secret draft explanation.")
    with_solution(problem, "rejected", body="A rejected explanation.")
    html = client.get(detail(problem)).content.decode()
    assert "The published explanation." in html
    assert "secret draft" not in html and "rejected explanation" not in html


@pytest.mark.django_db
def test_archived_problem_is_gone_even_with_a_published_solution(client):
    problem = published_problem(title="Archived one")
    problems_set_status(problems=[problem], status=Problem.Status.ARCHIVED)
    assert client.get(detail(problem)).status_code == 404
    assert "Archived one" not in result_titles(client.get(LIST))


@pytest.mark.django_db
def test_missing_problem_is_404(client):
    assert client.get(reverse("browse:problem-detail", args=[987654])).status_code == 404


@pytest.mark.django_db
def test_home_sends_students_to_browse_and_teachers_to_dashboard(client, settings):
    settings.QB_PUBLIC_BROWSING = True
    assert client.get(reverse("home"))["Location"] == reverse("browse:home")
    client.force_login(make_student("s2"))
    assert client.get(reverse("home"))["Location"] == reverse("browse:home")
    client.force_login(make_teacher("t2"))
    assert client.get(reverse("home"))["Location"] == reverse("teacher:dashboard")


@pytest.mark.django_db
def test_navigation_offers_student_pages(client, teacher):
    html = client.get(reverse("browse:home")).content.decode()
    assert f'href="{LIST}"' in html and f'href="{reverse("browse:tag-list")}"' in html
    client.force_login(teacher)
    html = client.get(reverse("browse:home")).content.decode()
    assert "Student view" in html


# --- The problem page -----------------------------------------------------------------

@pytest.mark.django_db
def test_problem_page_shows_statement_solution_answer_and_tags(client):
    problem = make_problem(title="Sum", statement="Compute $1+1$.", tags=["Arithmetic"])
    with_solution(problem, "published", body="Add: $1+1=2$.", final_answer="2")
    html = client.get(detail(problem)).content.decode()
    assert problem.statement_html in html
    assert "<math" in html  # server-rendered MathML, no script needed
    assert re.search(r"<details class=\"solution\">\s*<summary><span class=\"when-closed\">"
                     "Show the worked solution", html)
    assert '<span class="answer"><math display="inline">' in html and "<mn>2</mn>" in html
    assert f'href="{reverse("browse:tag", args=["arithmetic"])}"' in html
    assert "<script" not in html


@pytest.mark.django_db
def test_best_published_solution_is_shown(client):
    problem = make_problem()
    with_solution(problem, "published", body="Plain explanation.")
    with_solution(problem, "published", body="The best explanation.", is_best=True)
    html = client.get(detail(problem)).content.decode()
    assert "The best explanation." in html and "Plain explanation." not in html


@pytest.mark.django_db
def test_untrusted_text_is_escaped(client):
    problem = make_problem(title="<script>alert('t')</script> roots",
                           statement="<script>alert('s')</script>")
    with_solution(problem, "published", final_answer="<img src=x onerror=alert(1)>")
    for url in (LIST, f"{LIST}?q=roots", detail(problem), f"{LIST}?print=1&solutions=1"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url


def _step(client, url: str) -> str:
    """Follow a previous/next link: where it redirects to."""
    response = client.get(url.replace("&amp;", "&"))
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.django_db
def test_previous_and_next_follow_the_list_and_keep_its_filters(client):
    a = published_problem(title="Alpha roots", kind=Problem.Kind.MATHS)
    published_problem(title="Loop program", kind=Problem.Kind.PROGRAMMING)
    b = published_problem(title="Beta roots", kind=Problem.Kind.MATHS)
    c = published_problem(title="Gamma roots", kind=Problem.Kind.MATHS)
    # Newest first: c, b, a (the programming one is filtered out).
    html = client.get(f"{detail(b)}?kind=maths&pos=1").content.decode()
    prev = f"{detail(b)}previous/?kind=maths&amp;pos=1"
    nxt = f"{detail(b)}next/?kind=maths&amp;pos=1"
    assert f'href="{prev}" rel="prev"' in html and f'href="{nxt}" rel="next"' in html
    assert _step(client, prev) == f"{detail(c)}?kind=maths&pos=0"
    assert _step(client, nxt) == f"{detail(a)}?kind=maths&pos=2"
    assert f'href="{LIST}?kind=maths"' in html  # back to the results
    # The first of the results has no "previous".
    first = client.get(f"{detail(c)}?kind=maths&pos=0").content.decode()
    assert 'rel="prev"' not in first and 'rel="next"' in first
    newest = client.get(f"{detail(c)}?pos=0").content.decode()  # from the unfiltered list
    assert 'rel="prev"' not in newest and 'rel="next"' in newest
    # Without a position (a shared link) the neighbours are still found.
    assert _step(client, f"{detail(a)}previous/?kind=maths") == f"{detail(b)}?kind=maths"
    # Past the end: back to the same problem, with a message saying so.
    assert _step(client, f"{detail(a)}next/?kind=maths") == f"{detail(a)}?kind=maths"
    page = client.get(f"{detail(a)}?kind=maths").content.decode()
    assert "is the last problem in these results" in page
    # Relevance order: the list link's position is used.
    listing = client.get(f"{LIST}?q=roots").content.decode()
    links = re.findall(r'<h2 class="result-title"><a href="([^"]*)"', listing)
    assert len(links) == 3
    second = links[1].replace("&amp;", "&")
    path, query = second.split("?")
    assert _step(client, f"{path}previous/?{query}") == links[0].replace("&amp;", "&")
    assert _step(client, f"{path}next/?{query}") == links[2].replace("&amp;", "&")


@pytest.mark.django_db
def test_steps_from_a_hidden_problem_are_404(client):
    problem = make_problem()
    with_solution(problem, "draft")
    assert client.get(f"{detail(problem)}next/").status_code == 404
    assert client.get(f"{detail(problem)}previous/?q=x").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?q=%3C%26%22roots%22&pos=3&kind=maths",
                                   "?tag=a%20b&pos=zz"])
def test_problem_page_escapes_everything_and_frames_the_article(client, query):
    """Anonymous or not, the page is the template: its title, tags and step links escaped."""
    problem = published_problem(title='Roots <of> "x" & y', tags=["Alg & <b>"])
    response = client.get(detail(problem) + query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Roots &lt;of&gt; &quot;x&quot; &amp; y" in html and "<of>" not in html
    assert "Alg &amp; &lt;b&gt;" in html
    assert 'rel="next">Next problem →</a></nav>' in html
    if "q=" in query:
        # The filters travel in the step links, escaped in the attribute.
        assert f"{detail(problem)}next/?q=%3C%26%22roots%22&amp;kind=maths&amp;pos=3" in html
    assert ("← All problems" in html) == (query == "")
    assert ("← Back to results" in html) == (query != "")


# --- Lists, filters, tags, pagination -------------------------------------------------

@pytest.mark.django_db
def test_filters_by_kind_difficulty_and_tag(client):
    published_problem(title="Easy maths", difficulty=2, tags=["Algebra"])
    published_problem(title="Hard maths", difficulty=4, tags=["Geometry"])
    published_problem(title="Programs", kind=Problem.Kind.PROGRAMMING, difficulty=2)
    assert result_titles(client.get(f"{LIST}?kind=programming")) == ["Programs"]
    assert set(result_titles(client.get(f"{LIST}?difficulty=2"))) == {"Easy maths", "Programs"}
    assert result_titles(client.get(f"{LIST}?tag=geometry")) == ["Hard maths"]
    assert result_titles(client.get(reverse("browse:tag", args=["algebra"]))) == ["Easy maths"]
    # Nonsense filter values are ignored rather than failing.
    assert len(result_titles(client.get(f"{LIST}?kind=x&difficulty=9&sort=zzz"))) == 3
    response = client.get(f"{LIST}?tag=no-such-tag")
    assert "There is no tag" in response.content.decode()
    assert client.get(reverse("browse:tag", args=["no-such-tag"])).status_code == 404


@pytest.mark.django_db
def test_search_page_highlights_and_sorts(client):
    published_problem(title="Triangles", statement="Count them.")
    published_problem(title="Shapes", statement="How many triangles?")
    response = client.get(f"{LIST}?q=triangles")
    assert result_titles(response) == ["Triangles", "Shapes"]
    html = response.content.decode()
    assert "<mark>Triangles</mark>" in html
    assert result_titles(client.get(f"{LIST}?q=triangles&sort=newest")) == ["Shapes", "Triangles"]
    empty = client.get(f"{LIST}?q=zebra").content.decode()
    assert "No problems match" in empty


@pytest.mark.django_db
def test_chinese_search_page_highlights_sorts_and_steps(client):
    first = published_problem(title="三角形", statement="求面积。")
    published_problem(title="面积", statement="直角三角形的面积。")
    published_problem(title="สมการ", statement="กำลังสอง")
    response = client.get(LIST, {"q": "三角形"})
    assert result_titles(response) == ["三角形", "面积"]
    html = response.content.decode()
    assert "<mark>三角形</mark>" in html and "直角<mark>三角形</mark>的面积" in html
    assert "Searching for the exact characters" not in html
    assert result_titles(client.get(LIST, {"q": "三角形", "sort": "newest"})) == ["面积", "三角形"]
    # The ranked ids give the problem page its neighbours, as for English searches.
    links = re.findall(r'<h2 class="result-title"><a href="([^"]*)"', html)
    path, query = links[0].replace("&amp;", "&").split("?")
    assert path == detail(first)
    assert _step(client, f"{path}next/?{query}") == links[1].replace("&amp;", "&")
    assert "No problems match" in client.get(LIST, {"q": "鼠"}).content.decode()
    thai = client.get(LIST, {"q": "สมการ"}).content.decode()
    assert "Searching for the exact characters" in thai and "<mark>สมการ</mark>" in thai


@pytest.mark.django_db
# A NUL is refused for every page in one place (a 400 with a sentence):
# tests/views/test_bad_input.py.
@pytest.mark.parametrize("q", ['"', "&", ":*", "'", "\\", "x" * 3000, "二次", "уравнение",
                               "<script>"])
def test_odd_queries_give_a_page(client, q):
    published_problem(title="Roots", statement="уравнение 二次方程")
    response = client.get(LIST, {"q": q})
    assert response.status_code == 200
    if len(q) > 200:
        assert "first 200 characters" in response.content.decode()


@pytest.mark.django_db
def test_home_and_tag_index(client):
    published_problem(title="Newest thing", tags=["Algebra", "Geometry"])
    published_problem(tags=["Algebra"])
    make_problem(tags=["Hidden"])  # no published solution: its tag is not counted
    html = client.get(reverse("browse:home")).content.decode()
    assert "Newest thing" in html
    assert html.index("Algebra") < html.index("Geometry")
    index = client.get(reverse("browse:tag-list")).content.decode()
    assert "2 problems" in index and "Hidden" not in index


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "status", "rows"), [
    ("1", 200, 10), ("0", 200, 10), ("-4", 200, 10), ("abc", 200, 10), ("", 200, 10),
    ("2", 200, 2), ("3", 404, 0),
    ("99999999999999999999999", 404, 0),
])
def test_pagination_pages(client, page, status, rows):
    for _ in range(12):
        published_problem()
    response = client.get(f"{LIST}?per_page=10&page={page}")
    assert response.status_code == status
    assert len(result_titles(response)) == rows
    html = response.content.decode()
    if status == 404:
        assert "past the end" in html
    if page == "1":
        assert 'rel="next"' in html and 'rel="prev"' not in html
    if page == "2":
        assert 'rel="prev"' in html and 'rel="next"' not in html


# --- Worksheets -----------------------------------------------------------------------

@pytest.mark.django_db
def test_worksheet_with_and_without_solutions(client):
    problem = make_problem(title="Worksheet item", statement="Compute $3 \\times 3$.")
    with_solution(problem, "published", body="Nine, because $3 \\times 3 = 9$.",
                  final_answer="9")
    plain = client.get(f"{LIST}?print=1").content.decode()
    assert "Worksheet item" in plain and problem.statement_html in plain
    assert "Nine, because" not in plain
    full = client.get(f"{LIST}?print=1&solutions=1").content.decode()
    assert "Nine, because" in full
    assert '<span class="answer"><math display="inline"><semantics><mrow><mrow><mn>9</mn>' in full
    assert 'name="solutions" value="1" checked' in full


# --- Query counts do not grow with the page ------------------------------------------

def _fill(n: int):
    for i in range(n):
        problem = make_problem(title=f"Roots {i}", statement=f"Find the roots {i}.",
                               tags=[f"Tag {i % 4}", "Common"])
        with_solution(problem, "published")
        with_solution(problem, "draft")  # a candidate students never see


# Anonymous visitor, public browsing: no session or user queries.
PAGES = {
    "list": (f"{LIST}?per_page=50", 2),                      # rows, tags
    "search": (f"{LIST}?per_page=50&q=roots", 4),     # ranked ids, rows, tags, highlights
    "tag": ("/browse/tags/common/?per_page=50", 3),          # tag, rows, tags
    "filtered": (f"{LIST}?per_page=50&tag=common&kind=maths", 3),
    "worksheet": (f"{LIST}?per_page=50&print=1&solutions=1", 3),  # rows, tags, solutions
    "home": (reverse("browse:home"), 3),   # recent rows, tags, generation (counts cached by it)
}


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_list_query_count_is_constant(client, django_assert_num_queries, rows, name):
    _fill(rows)
    url, expected = PAGES[name]
    client.get(reverse("browse:home"))  # warm the tag-count cache
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    assert len(result_titles(response)) == (rows if name not in ("home", "worksheet") else
                                            len(result_titles(response)))


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("suffix", ["", "?q=roots&pos=2", "?tag=common&kind=maths"])
def test_detail_query_count_is_constant(client, django_assert_num_queries, rows, suffix):
    _fill(rows)
    problem = Problem.objects.published().order_by("-created_at")[2]
    # Problem + its published solution and revision, its tags; whatever the filters.
    with django_assert_num_queries(2):
        assert client.get(detail(problem) + suffix).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(detail(problem) + suffix).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize(("suffix", "expected"), [
    ("", 3),                         # problem + solution, tags, previous + next
    ("?q=roots&pos=2", 4),           # problem + solution, tags, ranked ids, titles
    ("?tag=common&kind=maths", 5),   # problem + solution, tags, the tag, previous, next
])
def test_step_query_count_is_constant(client, django_assert_num_queries, rows, suffix,
                                      expected):
    _fill(rows)
    problem = Problem.objects.published().order_by("-created_at")[2]
    query = suffix.lstrip("?")
    with django_assert_num_queries(expected):
        response = client.get(f"{detail(problem)}next/{'?' if query else ''}{query}")
    assert response.status_code == 302


@pytest.mark.django_db
def test_logged_in_student_adds_only_session_queries(client, django_assert_num_queries):
    _fill(5)
    client.force_login(make_student("s3"))
    # The anonymous page's two + session, user, groups and two permission lookups (the
    # navigation's role flags, context_processors.roles): still constant.
    with django_assert_num_queries(7):
        client.get(f"{LIST}?per_page=50")


@pytest.mark.django_db
def test_solutions_count_is_right_in_worksheet(client):
    _fill(3)
    assert Solution.objects.published().count() == 3
    html = client.get(f"{LIST}?print=1&solutions=1").content.decode()
    assert html.count('class="final-answer"') == 3


@pytest.mark.django_db
def test_search_says_when_only_the_newest_matches_were_ranked(client, monkeypatch):
    from questionbank.browse.search import matching
    from questionbank.views import browse

    for i in range(4):
        published_problem(title=f"Roots {i}", statement="roots")
    html = client.get(f"{LIST}?q=roots").content.decode()
    assert "4 problems match." in html
    monkeypatch.setattr(matching, "RANK_CANDIDATES", 3)
    monkeypatch.setattr(browse, "RANK_CANDIDATES", 3)
    response = client.get(f"{LIST}?q=roots")
    html = response.content.decode()
    assert "More than 3 problems match: showing the best of the newest 3." in html
    assert len(result_titles(response)) == 3
    assert "Roots 0" not in result_titles(response)
    html = client.get(f"{LIST}?q=roots&sort=newest").content.decode()
    assert "showing the newest 3." in html
    assert client.get(f"{LIST}?q=roots&page=2").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?q=roots"])
def test_result_rows_are_the_row_template_with_everything_escaped(client, query):
    """List rows are browse/_result_row.html, included once per row."""
    from django.template.loader import render_to_string

    from questionbank.browse.search import highlights, parse_query
    from questionbank.selectors import browse_rows

    problem = published_problem(title='Roots <b>of</b> "x" & y', tags=["A&B <i>", "Plain"])
    html = client.get(LIST + query).content.decode()
    row = browse_rows([problem.pk])[0]
    row.browse_url = f"{detail(problem)}?q=roots&pos=0" if query else f"{detail(problem)}?pos=0"
    if query:
        row.title_html, row.snippet_html = highlights(parse_query("roots"), [problem.pk])[
            problem.pk]
    expected = render_to_string("browse/_result_row.html", {"row": row})
    assert expected in html
    assert "&lt;b&gt;of&lt;/b&gt; &quot;x&quot; &amp; y" in html and "<b>of" not in html
    assert "A&amp;B &lt;i&gt;" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "status"), [("", 200), ("?q=%3Cb%3E+roots&kind=maths", 200),
                                               ("?page=9", 404)])
def test_list_page_is_the_same_for_anonymous_visitors_and_students(client, query, status):
    """One template frames the list for everyone; only the visitor's own part differs."""
    published_problem(title='Roots & <b>bold</b>')
    anonymous = client.get(LIST + query)
    assert anonymous.status_code == status
    client.force_login(make_student("framed"))
    student = client.get(LIST + query)
    assert student.status_code == status

    def content(response) -> str:
        return response.content.decode().split('<main id="main" class="container">')[1]

    assert content(anonymous) == content(student)
    assert "Log in" in anonymous.content.decode() and "framed" in student.content.decode()
    assert "<b>bold" not in content(anonymous)
    if query == "":
        assert "Roots &amp; &lt;b&gt;bold&lt;/b&gt;" in content(anonymous)


# --- Issue 12: help text, tag counts current on publish ------------------------------------

HELP = ('Every word must appear. Use "quotes" for a phrase, -word to leave a word out, '
        "and OR between two words to accept either.")


@pytest.mark.django_db
def test_search_help_names_every_operator(client):
    published_problem()
    for url in (reverse("browse:home"), LIST, LIST + "?q=roots"):
        html = client.get(url).content.decode().replace("&quot;", '"')
        assert HELP in html, url


@pytest.mark.django_db
@pytest.mark.parametrize("page_cache", [False, True])
def test_tag_index_and_popular_tags_are_current_after_a_publish(client, settings, page_cache):
    settings.QB_BROWSE_PAGE_CACHE = page_cache
    published_problem(tags=["Algebra"])

    def counts() -> tuple[str, str]:
        index = client.get(reverse("browse:tag-list")).content.decode()
        home = client.get(reverse("browse:home")).content.decode()
        tags = re.search(r'<ul class="tag-cloud">(.*?)</ul>', home, re.S)
        return (re.search(r"Algebra</a> <span[^>]*>([^<]*)</span>", index)[1],
                re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", tags[1])).strip() if tags else "")

    assert counts() == ("1 problem", "Algebra 1")
    # The answer agrees with the reference: publishing needs no confirmation (issue 12).
    solution = with_solution(make_problem(tags=["Algebra", "Geometry"], reference_answer="4"),
                             "in_review", final_answer="4")
    assert counts() == ("1 problem", "Algebra 1")  # a draft changes nothing students see
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=None)
    assert counts() == ("2 problems", "Algebra 2 Geometry 1")
    solution_transition(solution=solution, target=Solution.Status.DRAFT, user=None)
    assert counts() == ("1 problem", "Algebra 1")


# --- Issue 12: answers as maths, show/hide labels, printing, favicon ----------------------

def _static(name: str) -> str:
    return Path(finders.find(name)).read_text()


def _outside_annotations(html: str) -> str:
    """The page as drawn: the TeX kept in MathML annotations is not shown."""
    return re.sub(r"<annotation[^>]*>.*?</annotation>", "", html, flags=re.S)


@pytest.mark.django_db
def test_final_answer_is_maths_on_the_problem_page_and_worksheet(client):
    problem = make_problem(title="Hexagon area", tags=["geometry"])
    with_solution(problem, "published", final_answer=r"6\sqrt{3}",
                  body=r"So the area is $6\sqrt{3}$.")
    for url in (detail(problem), f"{LIST}?print=1&solutions=1"):
        html = client.get(url).content.decode()
        assert '<span class="answer"><math display="inline">' in html, url
        assert "<msqrt>" in html
        assert r"6\sqrt{3}" not in _outside_annotations(html), url


@pytest.mark.django_db
def test_show_controls_say_hide_when_open(client):
    problem = published_problem()
    html = client.get(detail(problem)).content.decode()
    for what in ("final answer", "worked solution"):
        assert (f'<summary><span class="when-closed">Show the {what}</span>'
                f'<span class="when-open">Hide the {what}</span></summary>') in html
    assert ("details:not([open]) > summary .when-open, details[open] > summary .when-closed "
            "{ display: none; }") in _static("css/site.css")


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["detail", "list", "home"])
def test_print_stylesheet_comes_last_and_hides_the_navigation(client, page):
    problem = published_problem()
    url = {"detail": detail(problem), "list": LIST, "home": reverse("browse:home")}[page]
    html = client.get(url).content.decode()
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"( media="print")?>', html)
    assert links[-1] == ("/static/css/print.css", ' media="print"')
    assert len([href for href, media in links if media]) == 1
    # The first rule of the print stylesheet hides the page's frame.
    first_rule = re.sub(r"/\*.*?\*/", "", _static("css/print.css"), flags=re.S).split("{")[0]
    hidden = {selector.strip() for selector in first_rule.split(",")}
    assert {".site-header", ".site-footer", "nav", "form", ".no-print"} <= hidden


@pytest.mark.django_db
def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    html = client.get(reverse("browse:home")).content.decode()
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert icons == ["/static/favicon.svg", "/static/root/favicon.ico"]
    for href in icons:
        assert client.get(href).status_code == 200, href

"""Full-text search over problems, on whichever database the suite runs (SQLite or
PostgreSQL): parsing, ranking, odd input, non-Latin text and safe highlights."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.db import connection

from questionbank.browse import search
from questionbank.browse.search import (
    MAX_QUERY_CHARS,
    fts5_expression,
    highlights,
    marked,
    parse_query,
)
from questionbank.db.published import PROBLEM_TABLE
from questionbank.db.sqlite import FTS_TABLE, FTS_TABLE_SQL
from questionbank.models import Problem
from questionbank.selectors import browse_problem_list
from questionbank.services.problems import problem_update
from tests.browse_helpers import published_problem

ODD_INPUTS = ['"', "&", ":*", "'", "\\", "a & b", "roots:*", "'roots'", '"roots', "roots\\",
              "(", ")", "!", "|", "<->", "NEAR(a b)", "title:roots", "*", "-", "--roots",
              "roots OR", "OR", "AND", "NOT roots", "^roots", "roots\x00", "\x00", "%", "_"]


# --- Parsing (no database) -------------------------------------------------------------

def test_empty_query_is_no_search():
    assert not parse_query("")
    assert not parse_query("   \t\n ")
    assert not parse_query(None)


def test_long_query_is_cut_with_a_note():
    req = parse_query("word " * 200)
    assert len(req.text) <= MAX_QUERY_CHARS
    assert "first 200 characters" in req.note
    assert req.fts5.count('"') // 2 <= search.MAX_TERMS


def test_control_characters_and_nul_are_removed():
    req = parse_query("roots\x00\x02\x03 of\x07 unity")
    assert req.text == "roots of unity"


def test_punctuation_only_is_an_empty_search_with_a_hint():
    for raw in ['"', "&", ":*", "'", "\\", "-", "*", "()"]:
        req = parse_query(raw)
        assert req.mode == "empty", raw
        assert "Type a word" in req.note


def test_cjk_runs_use_their_own_index_and_other_unspaced_scripts_a_substring_search():
    req = parse_query("二次方程")
    assert (req.mode, req.cjk, req.fts5) == ("fts", ("二次方程",), "")
    assert parse_query("二次 方程").cjk == ("二次", "方程")
    assert parse_query("ひらがな").cjk == ("ひらがな",)
    assert parse_query("한국어").cjk == ("한국어",)
    thai = parse_query("สมการ กำลังสอง")
    assert (thai.mode, thai.terms) == ("substring", ("สมการ", "กำลังสอง"))
    assert parse_query("Квадратное уравнение").mode == "fts"


@pytest.mark.parametrize("raw", ODD_INPUTS)
def test_fts5_expression_only_contains_quoted_words(raw):
    expr = fts5_expression(raw.replace("\x00", ""))
    # Strip the operators we emit ourselves; what is left must be quoted word phrases.
    stripped = expr
    for token in (" AND ", " OR ", " NOT ", "(", ")"):
        stripped = stripped.replace(token, " ")
    for part in stripped.split('" "'):
        part = part.strip().strip('"')
        assert all(ch.isalnum() or ch == " " for ch in part), (raw, expr)


def test_fts5_expression_supports_phrases_exclusion_and_or():
    assert fts5_expression("quadratic roots") == '("quadratic" AND "roots")'
    assert fts5_expression('"prime number"') == '("prime number")'
    assert fts5_expression("x^2") == '("x 2")'
    assert fts5_expression("roots -complex") == '(("roots")) NOT ("complex")'
    assert fts5_expression("cats or dogs") == '("cats") OR ("dogs")'
    assert fts5_expression("-complex") == ""


def test_marked_escapes_text_and_balances_marks():
    assert marked("<script>alert(1)</script> \x02x\x03") == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>x</mark>")
    assert marked("\x03stray\x02open") == "stray<mark>open</mark>"
    assert marked("\x02a\x02b\x03c\x03") == "<mark>ab</mark>c"


# --- Against the database -------------------------------------------------------------

def _titles(q: str, **kwargs) -> list[str]:
    req = parse_query(q)
    return list(browse_problem_list(search=req, sort="relevance", **kwargs)
                .values_list("title", flat=True))


@pytest.mark.django_db
def test_search_objects_exist():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'problem_search_match'")
            assert "gin (vector)" in cursor.fetchone()[0].lower()
            # The problem table's own vector and index (0004) went with 0030: unused.
            cursor.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass "
                           "AND attname = 'search_vector' AND NOT attisdropped", [PROBLEM_TABLE])
            assert cursor.fetchone()[0] == 0
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [FTS_TABLE])
            assert "fts5" in cursor.fetchone()[0].lower()


@pytest.mark.django_db
def test_title_match_ranks_above_statement_match():
    # The better match is made first, so the newest-first tie-break cannot explain the order.
    published_problem(title="Triangles in a grid", statement="Count the shapes.")
    published_problem(title="Counting sheep", statement="How many triangles are in the figure?")
    published_problem(title="Unrelated", statement="Nothing to see.")
    assert _titles("triangles") == ["Triangles in a grid", "Counting sheep"]


@pytest.mark.django_db
def test_more_matching_words_rank_higher_and_all_words_are_required():
    # Titles without the words: with stemming, "Primes" in a title would match "prime".
    published_problem(title="Exercise A", statement="Is 97 prime? Prime factors of 97.")
    published_problem(title="Exercise B", statement="Find the prime factors of 360.")
    published_problem(title="Exercise C", statement="List the factors of 12.")
    assert _titles("prime factors")[0] == "Exercise A"
    assert set(_titles("prime factors")) == {"Exercise A", "Exercise B"}


@pytest.mark.django_db
def test_no_results_and_unpublished_never_match():
    from tests.factories import make_problem

    make_problem(title="Secret draft triangles", statement="triangles")
    published_problem(title="Squares", statement="Area of a square.")
    assert _titles("triangles") == []
    assert _titles("zebra") == []


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ODD_INPUTS + ["x" * 5000, "roots " * 300, "🙂 roots"])
def test_odd_input_never_errors(raw):
    published_problem(title="Quadratic roots", statement="Find the roots of x^2 - 1 = 0.")
    req = parse_query(raw)
    rows = list(browse_problem_list(search=req, sort="relevance"))
    highlights(req, [p.pk for p in rows])
    if req.mode == "fts" and req.terms == ("roots",):
        if raw.strip().lower().startswith(("--", "-")):
            assert rows == []  # "--roots" excludes roots
        else:
            assert [p.title for p in rows] == ["Quadratic roots"], raw


@pytest.mark.django_db
def test_phrase_and_exclusion():
    published_problem(title="Prime number theorem", statement="Estimate the count.")
    published_problem(title="Number that is prime", statement="Is 91 prime?")
    assert _titles('"prime number"') == ["Prime number theorem"]
    assert _titles("prime -theorem") == ["Number that is prime"]


@pytest.mark.django_db
def test_cyrillic_and_accents():
    published_problem(title="Квадратное уравнение", statement="Решите уравнение x^2 = 4.")
    published_problem(title="Théorème de Pythagore", statement="Un triangle rectangle.")
    assert _titles("уравнение") == ["Квадратное уравнение"]
    assert _titles("Решите") == ["Квадратное уравнение"]
    if connection.vendor == "sqlite":
        # unicode61 remove_diacritics: "theoreme" finds "Théorème".
        assert _titles("theoreme") == ["Théorème de Pythagore"]
    assert _titles("Théorème") == ["Théorème de Pythagore"]


@pytest.mark.django_db
def test_chinese_finds_title_matches_first():
    published_problem(title="Roots", statement="解二次方程 x^2 - 5x + 6 = 0 的根。")
    published_problem(title="二次方程", statement="Solve it.")
    published_problem(title="Other", statement="三角形的面积")
    assert _titles("二次方程") == ["二次方程", "Roots"]
    assert _titles("二次 根") == ["Roots"]
    req = parse_query("二次")
    pk = Problem.objects.get(title="Roots").pk
    _, snippet = highlights(req, [pk])[pk]
    assert "<mark>二次</mark>" in snippet


@pytest.mark.django_db
def test_stemming_on_both_databases():
    published_problem(title="Definite integrals", statement="Evaluate each one.")
    published_problem(title="Area", statement="A regular hexagon has side length $2$.")
    published_problem(title="Counting the roots", statement="How many roots?")
    assert _titles("integral") == ["Definite integrals"]
    assert _titles("Hexagons") == ["Area"]
    assert _titles("root") == ["Counting the roots"]
    assert _titles("roots") == ["Counting the roots"]
    # Stemming widens a word, never drops the others: all words are still required.
    assert _titles("integral hexagon") == []
    assert _titles('"regular hexagons"') == ["Area"]


@pytest.mark.django_db
def test_stemmed_matches_are_highlighted():
    problem = published_problem(title="Integrals of hexagons",
                                statement="The integral over a hexagon is asked.")
    req = parse_query("integral Hexagon")
    title, snippet = highlights(req, [problem.pk])[problem.pk]
    assert title == "<mark>Integrals</mark> of <mark>hexagons</mark>"
    assert "<mark>integral</mark>" in snippet and "<mark>hexagon</mark>" in snippet


@pytest.mark.django_db
def test_stemmed_index_as_migrated_is_the_one_made_again():
    """The migrations (frozen SQL) and questionbank.db.sqlite (re-creation after a SQLite
    table rebuild) make the same FTS table, with the porter stemmer and the tag names;
    PostgreSQL uses 'english' throughout."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_functiondef('qb_problem_words'::regproc)")
            expression = cursor.fetchone()[0]
            assert expression.count("'english'::regconfig") == 3  # title, statement, tags
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                           ["problem_search_match"])
            assert "gin (vector)" in cursor.fetchone()[0]
            return
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [FTS_TABLE])
        migrated = cursor.fetchone()[0]
    # By its name's end: the migration's number is set when branches are merged.
    folder = Path(importlib.import_module("questionbank.migrations").__file__).parent
    name = next(folder.glob("*_browse_plain_search_tags.py")).stem
    migration = importlib.import_module(f"questionbank.migrations.{name}")
    assert "tokenize='porter unicode61 remove_diacritics 2'" in migrated
    assert migrated == migration.SQLITE_FTS_TABLE == FTS_TABLE_SQL


def _shown(html: str) -> str:
    """What a reader sees of a snippet: the TeX kept in MathML annotations is not drawn."""
    return re.sub(r"<annotation[^>]*>.*?</annotation>", "", html)


@pytest.mark.django_db
def test_snippets_render_maths_instead_of_showing_tex():
    problem = published_problem(
        title="Square roots",
        statement=r"Find $\sqrt{144}$ and then $\frac{5}{9}$ of the square root. "
                  + "Filler words go here. " * 12
                  + r"The last root is $$\sum_{k=1}^{n} k^2$$ and nothing else.")
    for q in ("root", "144", "filler", "nothing", "sum"):
        _, snippet = highlights(parse_query(q), [problem.pk])[problem.pk]
        assert "<mark>" in snippet, (q, snippet)
        assert "$" not in _shown(snippet) and "\\" not in _shown(snippet), (q, snippet)
    _, snippet = highlights(parse_query("144"), [problem.pk])[problem.pk]
    # A match inside a formula marks the whole formula.
    assert "<mark><math" in snippet and "<mn>144</mn>" in snippet
    _, snippet = highlights(parse_query("nothing"), [problem.pk])[problem.pk]
    assert snippet.startswith("… ") and "<math" in snippet and "∑" in snippet


def test_snippet_never_cuts_a_formula_and_escapes_text():
    statement = r"Let $x = \sqrt{144}$ be <b>the</b> value of $y$. " + "More. " * 40 + "End."
    raw = (r"\sqrt{144}$ be <b>the</b> " + search.START + "value" + search.STOP
           + search.FRAGMENT + "More. More.")
    html = search.snippet_html(statement, raw)
    assert html.startswith("… <math")  # widened back to the formula's opening "$"
    assert "&lt;b&gt;the&lt;/b&gt; <mark>value</mark>" in html
    assert "$" not in _shown(html) and html.endswith(" More. More. …")
    # A formula too long to show whole is left out rather than cut.
    long_formula = "$" + " + ".join(f"x_{i}" for i in range(80)) + "$"
    html = search.snippet_html(f"{long_formula} tail words here",
                               "x_79$ tail " + search.START + "words" + search.STOP)
    assert html == "… tail <mark>words</mark> …"
    # Text the statement does not hold (it changed meanwhile) is still shown safely.
    assert search.snippet_html("other", "a <i> " + search.START + "b" + search.STOP) == (
        "a &lt;i&gt; <mark>b</mark>")


@pytest.mark.django_db
def test_highlights_escape_stored_text():
    problem = published_problem(title="<b>Roots</b> & <script>alert(1)</script>",
                                statement="The <img src=x onerror=alert(1)> roots \x02 here.")
    req = parse_query("roots")
    title, snippet = highlights(req, [problem.pk])[problem.pk]
    assert "<script>" not in title and "<b>" not in title
    assert "&lt;b&gt;<mark>Roots</mark>&lt;/b&gt;" in title
    # Only our own <mark> tags are markup; everything else arrives escaped.
    bare = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare
    assert "onerror=alert(1)&gt;" in snippet
    assert "<mark>roots</mark>" in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>")


@pytest.mark.django_db
def test_index_follows_edits_and_deletes():
    problem = published_problem(title="Old title", statement="Nothing.")
    assert _titles("hyperbola") == []
    problem_update(problem=problem, title="Hyperbola asymptotes")
    assert _titles("hyperbola") == ["Hyperbola asymptotes"]
    assert _titles("old") == []
    Problem.objects.filter(pk=problem.pk).update(statement="Now with ellipses.")
    assert _titles("ellipses") == ["Hyperbola asymptotes"]
    problem.delete()
    assert _titles("hyperbola") == []


@pytest.mark.django_db
def test_newest_sort_inside_search():
    first = published_problem(title="Roots one", statement="roots roots roots")
    second = published_problem(title="Roots two", statement="x")
    req = parse_query("roots")
    newest = list(browse_problem_list(search=req, sort="newest").values_list("pk", flat=True))
    assert newest == [second.pk, first.pk]


# --- Capped ranking (search.RANK_CANDIDATES) --------------------------------------------

@pytest.mark.django_db
def test_ranking_is_capped_to_the_newest_candidates_best_first():
    old_best = published_problem(title="Lattice lattice", statement="lattice lattice lattice")
    plain = [published_problem(title=f"Plain {i}", statement="a lattice here")
             for i in range(3)]
    newer_best = published_problem(title="Lattice walk", statement="lattice")
    req = parse_query("lattice")
    full = search.match_ids(req, relevance=True)
    assert not full.capped and full.total == 5
    assert set(full.ids[:2]) == {old_best.pk, newer_best.pk}  # title matches rank first
    capped = search.match_ids(req, relevance=True, limit=3)
    assert capped.capped and capped.total == 3
    # Only the three newest matches are ranked: the old best match is left out.
    assert old_best.pk not in capped.ids
    assert capped.ids[0] == newer_best.pk
    assert set(capped.ids[1:]) == {plain[1].pk, plain[2].pk}
    newest = search.match_ids(req, relevance=False, limit=3)
    assert newest.ids == (newer_best.pk, plain[2].pk, plain[1].pk) and newest.capped


@pytest.mark.django_db
def test_candidates_respect_filters_before_the_cap():
    from questionbank.models import Tag

    tag = Tag.objects.create(name="Walks")
    tagged = published_problem(title="Lattice tagged", statement="x", tags=[tag],
                               kind="programming", difficulty=5)
    for i in range(3):
        published_problem(title=f"Lattice {i}", statement="x")
    req = parse_query("lattice")
    assert search.match_ids(req, relevance=True, limit=2, tag_id=tag.pk).ids == (tagged.pk,)
    assert search.match_ids(req, relevance=True, limit=2, kind="programming").ids == (
        tagged.pk,)
    assert search.match_ids(req, relevance=True, limit=2, difficulty=5).ids == (tagged.pk,)


@pytest.mark.django_db
def test_candidates_follow_publishing_archiving_and_deleting():
    from questionbank.models import Solution
    from questionbank.services.problems import problems_set_status
    from questionbank.services.solutions import Concern, solution_transition
    from tests.browse_helpers import with_solution
    from tests.factories import make_problem

    problem = make_problem(title="Quasigroup tables", statement="x")
    req = parse_query("quasigroup")
    assert search.match_ids(req, relevance=True).ids == ()
    solution = with_solution(problem, "published")
    assert search.match_ids(req, relevance=True).ids == (problem.pk,)
    solution_transition(solution=solution, target=Solution.Status.DRAFT, user=None)
    assert search.match_ids(req, relevance=True).ids == ()
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=None,
                        confirm=Concern.LABELS)
    problems_set_status(problems=[problem], status=Problem.Status.ARCHIVED)
    assert search.match_ids(req, relevance=True).ids == ()
    problems_set_status(problems=[problem], status=Problem.Status.READY)
    assert search.match_ids(req, relevance=True).ids == (problem.pk,)
    Solution.objects.filter(pk=solution.pk).delete()
    assert search.match_ids(req, relevance=True).ids == ()
    with_solution(problem, "published")
    problem_update(problem=problem, title="Loops only")
    assert search.match_ids(req, relevance=True).ids == ()
    assert search.match_ids(parse_query("loops"), relevance=True).ids == (problem.pk,)
    problem.delete()
    assert search.match_ids(parse_query("loops"), relevance=True).ids == ()


# --- Tag names are part of the search document (issue 12) -----------------------------

@pytest.mark.django_db
def test_a_word_finds_a_problem_only_tagged_with_it_stemmed():
    tagged = published_problem(title="Area under a curve", statement="Compute it.",
                               tags=["Integrals"])
    published_problem(title="Other", statement="Nothing here.", tags=["Algebra"])
    assert _titles("integral") == ["Area under a curve"]
    assert _titles("Integrals") == ["Area under a curve"]
    # Every word is still required, wherever it is: tag, title or statement.
    assert _titles("integral curve") == ["Area under a curve"]
    assert _titles("integral algebra") == []
    assert search.match_ids(parse_query("integral"), relevance=False).ids == (tagged.pk,)


@pytest.mark.django_db
def test_a_tag_match_ranks_like_a_title_match_and_highlights_are_kept():
    # Made first, so the newest-first tie-break cannot explain the order.
    by_tag = published_problem(title="Exercise 1", statement="Compute the area.",
                               tags=["Integrals"])
    published_problem(title="Exercise 2", statement="Use an integral to find the area.")
    assert _titles("integral") == ["Exercise 1", "Exercise 2"]
    both = published_problem(title="Integrals of hexagons", statement="An integral.",
                             tags=["Integrals"])
    title, snippet = highlights(parse_query("integral"), [both.pk])[both.pk]
    assert title == "<mark>Integrals</mark> of hexagons"
    assert "<mark>integral</mark>" in snippet
    # A problem found by its tag alone still gets its title and a snippet, unmarked.
    title, snippet = highlights(parse_query("integral"), [by_tag.pk])[by_tag.pk]
    assert title == "Exercise 1" and "<mark>" not in title


@pytest.mark.django_db
def test_tag_links_renames_and_deletes_follow_at_once():
    from questionbank.models import Tag

    problem = published_problem(title="Plain title", statement="Plain text.")
    assert _titles("lattice") == []
    tag = Tag.objects.create(name="Lattice paths")
    problem.tags.add(tag)
    assert _titles("lattice") == ["Plain title"]
    Tag.objects.filter(pk=tag.pk).update(name="Grid walks")  # a rename, any write path
    assert _titles("lattice") == []
    assert _titles("walk") == ["Plain title"]
    problem.tags.remove(tag)
    assert _titles("walk") == []
    problem.tags.add(tag)
    tag.delete()
    assert _titles("walk") == []
    # Title and statement edits keep the tags in the document.
    problem.tags.add(Tag.objects.create(name="Hexagons"))
    problem_update(problem=problem, title="New title")
    assert _titles("hexagon") == ["New title"]


@pytest.mark.django_db
def test_tags_of_unpublished_problems_are_never_found():
    from tests.factories import make_problem

    make_problem(title="Draft", statement="x", tags=["Integrals"])
    assert _titles("integral") == []

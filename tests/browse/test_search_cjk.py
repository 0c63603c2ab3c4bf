"""Chinese (and Japanese, Korean) search through the character and pair index, on
whichever database the suite runs (SQLite or PostgreSQL): single characters, words,
phrases, mixed with English and TeX, exclusion, no results, ranking, highlights, the
index kept current, and the queries using it."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from questionbank.browse.search import (
    CJK_SEARCH_TABLE,
    cjk_fts5,
    cjk_tsquery,
    highlights,
    match_ids,
    parse_query,
)
from questionbank.db.cjk import blank_cjk, cjk_tokens, unblank_ranges
from questionbank.db.sqlite import CJK_TABLE, blank_cjk_sql, cjk_tokens_sql
from questionbank.models import Problem, Tag
from questionbank.selectors import browse_problem_list
from questionbank.services.problems import problem_update
from tests.browse_helpers import published_problem, with_solution
from tests.factories import make_problem


def _titles(q: str) -> list[str]:
    return list(browse_problem_list(search=parse_query(q), sort="relevance")
                .values_list("title", flat=True))


# --- Parsing (no database) -------------------------------------------------------------

def test_runs_are_split_from_the_words_and_the_words_keep_their_operators():
    req = parse_query('求"三角形 area" -圆 x^2 的最大值 or roots')
    assert req.mode == "fts"
    assert req.cjk == ("求", "三角形", "的最大值")
    assert req.cjk_not == ("圆",)
    assert req.words.split() == ['"', 'area"', "-", "x^2", "or", "roots"]
    assert req.fts5 == '("area" AND "x 2") OR ("roots")'
    assert req.terms == ("area", "x", "2", "or", "roots")


def test_english_queries_are_parsed_as_before():
    req = parse_query('"regular hexagons" -circle')
    assert (req.words, req.cjk, req.cjk_not) == (req.text, (), ())


def test_an_excluded_run_alone_is_an_empty_search():
    assert parse_query("-三角形").mode == "empty"
    assert parse_query("，。、").mode == "empty"  # CJK punctuation is punctuation


def test_queries_for_each_index():
    req = parse_query("圆 面积 三角形的 -正方")
    assert cjk_tsquery(req) == "'圆':* & '面积' & ('三角' <-> '角形' <-> '形的') & !'正方'"
    assert cjk_fts5(req.cjk) == '"圆" AND "面积" AND "三角 角 角形 形 形的"'
    assert cjk_fts5(("正方", "圆"), join="OR") == '"正方" OR "圆"'
    assert cjk_tsquery(parse_query("roots -圆 -三角形")) == "!'圆':* & !('三角' <-> '角形')"


def test_tokens_are_characters_and_pairs_never_across_runs():
    assert cjk_tokens("三角形，面积 ab 中") == "三 三角 角 角形 形 面 面积 积 中"
    assert cjk_tokens("Only English, $x^2$.") == ""


# --- The indexes as the database makes them ----------------------------------------------

TEXTS = ["三角形的面积", "已知$x^2+1=0$，求x。", "Plain English.", "", "한국어와 カタカナ、漢字",
         "三角，形状" * 3, "ｱｲｳ 㐀㐁 豈更"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", TEXTS)
def test_the_database_makes_the_tokens_python_describes(text):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT qb_cjk_vector(%s)::text", [text])
            vector = cursor.fetchone()[0]
            # Every CJK pair at its first (1-based) character's position, and a character
            # alone where no pair starts (migration 0028).
            expected: dict[str, list[int]] = {}
            for i, ch in enumerate(text, start=1):
                if cjk_tokens(ch):
                    pair = i < len(text) and cjk_tokens(text[i])
                    expected.setdefault(ch + text[i] if pair else ch, []).append(i)
            assert vector == " ".join(
                f"'{lexeme}':{','.join(map(str, positions))}"
                for lexeme, positions in sorted(expected.items(), key=lambda kv: kv[0].encode()))
        else:
            cursor.execute(f"SELECT {cjk_tokens_sql('t.x')} FROM (SELECT %s AS x) t", [text])
            assert cursor.fetchone()[0] == cjk_tokens(text)


# --- Searching -------------------------------------------------------------------------------


@pytest.fixture
def shapes(db):
    """Made oldest first; each later one is newer."""
    return {
        "area": published_problem(
            title="三角形的面积",
            statement="已知直角三角形的两条直角边分别为 $3$ 和 $4$，求它的面积。"),
        "split": published_problem(title="形状", statement="三角，形状各不相同。求周长。"),
        "circle": published_problem(title="Circle area",
                                    statement="圆的半径为 $r$，求圆的面积 $\\pi r^2$。"),
        "english": published_problem(title="Triangles in a grid",
                                     statement="Count the triangles."),
        "quadratic": published_problem(
            title="二次方程", statement="解方程 $x^2 - 5x + 6 = 0$，the roots are integers."),
    }


def test_a_single_character(shapes):
    assert _titles("圆") == ["Circle area"]
    assert set(_titles("求")) == {"三角形的面积", "形状", "Circle area"}
    assert _titles("鼠") == []
    # Only at the end of a run ("求周长。"), where no pair starts with it.
    assert _titles("长") == ["形状"]
    assert _titles("-长 求") == ["Circle area", "三角形的面积"]


def test_a_two_character_word(shapes):
    assert set(_titles("面积")) == {"三角形的面积", "Circle area"}
    assert _titles("方程") == ["二次方程"]
    assert _titles("周长") == ["形状"]


def test_a_phrase_is_found_as_written_and_never_across_punctuation(shapes):
    assert _titles("三角形") == ["三角形的面积"]  # not "三角，形状"
    assert _titles("直角三角形") == ["三角形的面积"]
    assert _titles("三角形的两条直角边") == ["三角形的面积"]
    assert _titles("角形三") == []
    # A run inside a longer run of the text is found (an exact substring).
    assert _titles("条直角") == ["三角形的面积"]
    assert set(_titles("三角")) == {"三角形的面积", "形状"}


def test_several_runs_must_all_appear(shapes):
    assert _titles("三角形 面积") == ["三角形的面积"]
    assert _titles("圆 三角形") == []


def test_mixed_with_english_stemmed(shapes):
    assert _titles("area 圆") == ["Circle area"]
    assert _titles("圆 areas") == ["Circle area"]
    assert _titles("integers 方程") == ["二次方程"]
    assert _titles("triangle 三角形") == []
    # Words that are all stop words leave the runs to decide (PostgreSQL drops them).
    assert _titles("the 方程") == ["二次方程"]


def test_mixed_with_tex(shapes):
    assert _titles("x^2 方程") == ["二次方程"]
    assert _titles("求 $\\pi r^2$") == ["Circle area"]
    assert _titles("$x^3$ 方程") == []


def test_exclusion(shapes):
    assert _titles("面积 -圆") == ["三角形的面积"]
    assert set(_titles("求 -三角形")) == {"形状", "Circle area"}
    # Excluded runs beside words only.
    assert _titles("roots -圆") == ["二次方程"]
    assert _titles("roots -方程") == []
    assert _titles("triangles -圆") == ["Triangles in a grid"]  # no CJK text at all
    # Excluded words beside runs only.
    assert set(_titles("面积 -area")) == {"三角形的面积"}
    assert set(_titles("面积 -\"circle area\" -zebra")) == {"三角形的面积"}
    assert set(_titles("面积 -zebra")) == {"三角形的面积", "Circle area"}


@pytest.mark.django_db
def test_letters_written_against_cjk_text_are_words_of_their_own():
    """A Latin letter or number with neither a space nor ``$…$`` between it and CJK
    characters is a word (migration 0029): the English parser and unicode61 took the
    whole "求x轴的正半轴" as one word before."""
    axis = published_problem(title="坐标轴", statement="求x轴的正半轴与直线y=2x的夹角。")
    triangle = published_problem(title="△ABC中的角", statement="在△ABC中，AB=AC，求∠B。")
    published_problem(title="Axes", statement="Draw the y axis.")
    assert _titles("x轴") == ["坐标轴"]
    assert _titles("x 轴") == ["坐标轴"]
    assert _titles("y=2x 夹角") == ["坐标轴"]
    assert _titles("ABC") == ["△ABC中的角"]
    assert _titles("abc 求") == ["△ABC中的角"]
    assert _titles("ABC -求") == []
    assert _titles("轴 -x") == []
    # Marked where written, in the text as written (not the blanked text the index read).
    title, snippet = highlights(parse_query("x轴"), [axis.pk])[axis.pk]
    assert title == "坐标<mark>轴</mark>"
    assert snippet.startswith("求<mark>x轴</mark>的正半<mark>轴</mark>")
    title, snippet = highlights(parse_query("ABC"), [triangle.pk])[triangle.pk]
    assert title == "△<mark>ABC</mark>中的角"
    assert snippet == "在△<mark>ABC</mark>中，AB=AC，求∠B。"


@pytest.mark.django_db
def test_an_english_search_shows_a_window_of_a_long_chinese_statement():
    """The database's snippets count words, which a run of Chinese does not hold: a
    statement with CJK text is shown as a window around its first match, as for a
    Chinese search."""
    problem = published_problem(title="长题", statement="前" * 400 + "设 f(x) 为函数" + "后" * 400)
    title, snippet = highlights(parse_query("f(x)"), [problem.pk])[problem.pk]
    assert title == "长题"
    assert snippet.startswith("… 前") and snippet.endswith("后 …") and len(snippet) < 300
    # PostgreSQL marks the phrase's words, FTS5 the phrase from its first word to its last.
    assert "设 <mark>f" in snippet and "x</mark>) 为函数" in snippet


@pytest.mark.django_db
@pytest.mark.parametrize("text", [*TEXTS, "求x轴\n\n 的 ABC中", "中ｶﾀ한x"])
def test_the_words_index_reads_the_text_with_cjk_runs_blanked(text):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT qb_blank_cjk(%s)", [text])
        else:
            cursor.execute(f"SELECT {blank_cjk_sql('t.x')} FROM (SELECT %s AS x) t", [text])
        assert cursor.fetchone()[0] == blank_cjk(text)


def test_marks_on_the_blanked_text_go_back_to_the_text_as_written():
    text = "在△ABC中，求x轴与y=2x的夹角 x。"
    blanked = blank_cjk(text)
    assert blanked == " △ABC ， x y=2x  x。"  # a run is one space; the rest is kept
    words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9=]+", blanked)]
    assert [text[a:b] for a, b in unblank_ranges(text, words)] == ["ABC", "x", "y=2x", "x"]
    assert unblank_ranges("plain x", [(6, 7)]) == [(6, 7)]
    # A phrase marked whole across a blanked run ("a 文b", as FTS5 marks "a b").
    assert unblank_ranges("a中文b c", [(0, 3), (4, 5)]) == [(0, 4), (5, 6)]


def test_english_search_is_unchanged(shapes):
    assert _titles("triangles") == ["Triangles in a grid"]
    assert _titles("roots") == ["二次方程"]


@pytest.mark.django_db
def test_title_matches_rank_above_statement_matches():
    # The better match is made first: newest-first cannot explain the order.
    published_problem(title="等差数列求和", statement="求前 $n$ 项的和。")
    published_problem(title="一道题", statement="已知等差数列的首项为 $1$，求通项。")
    published_problem(title="无关", statement="圆的面积。")
    assert _titles("等差数列") == ["等差数列求和", "一道题"]
    assert _titles("数") == ["等差数列求和", "一道题"]


@pytest.mark.django_db
def test_more_occurrences_rank_higher():
    # The same length, so that only the count differs.
    published_problem(title="一", statement="函数，求值，求和，求积。")
    published_problem(title="二", statement="函数，函数，函数，函数。")
    assert _titles("函数") == ["二", "一"]


def test_tags_in_chinese_are_found_and_follow_renames(shapes):
    problem = shapes["english"]
    problem.tags.add(Tag.objects.create(name="几何", slug="jihe"))
    assert _titles("几何") == ["Triangles in a grid"]
    Tag.objects.filter(slug="jihe").update(name="代数")
    assert _titles("几何") == []
    assert _titles("代数") == ["Triangles in a grid"]
    problem.tags.clear()
    assert _titles("代数") == []


def test_the_index_follows_edits_deletes_and_publishing(shapes):
    problem = shapes["split"]
    problem_update(problem=problem, title="周长", statement="正方形的周长。")
    assert _titles("正方形") == ["周长"]
    assert _titles("形状") == []
    problem.delete()
    assert _titles("周长") == []
    hidden = make_problem(title="抛物线", statement="抛物线的焦点。")
    assert _titles("抛物线") == []
    with_solution(hidden, "published")
    assert _titles("抛物线") == ["抛物线"]
    Problem.objects.filter(pk=hidden.pk).update(status=Problem.Status.ARCHIVED)
    assert _titles("抛物线") == []


@pytest.mark.postgresql
def test_the_cjk_table_has_a_row_for_each_problem_with_cjk_text(shapes):
    """PostgreSQL keeps the CJK vectors in a table of their own (migrations 0027, 0028):
    one row per problem with CJK text in its title, statement or tag names, holding the
    vector the database makes from them, and the side table's visibility, date and
    words' vector (made from the text with CJK runs blanked, migration 0029)."""

    def rows():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.problem_id, c.visible, c.created_at = p.created_at AND c.cjk = "
                "qb_problem_cjk(p.title, p.statement, qb_problem_tag_names(p.id)) "
                "AND c.vector = s.vector AND s.vector = qb_problem_words(p.title, p.statement, "
                "qb_problem_tag_names(p.id)) "
                f"FROM {CJK_SEARCH_TABLE} c JOIN questionbank_problem p ON p.id = c.problem_id "
                "JOIN questionbank_problem_search s ON s.problem_id = c.problem_id")
            return {pk: rest for pk, *rest in cursor.fetchall()}

    english = shapes["english"]
    assert rows() == {p.pk: [True, True] for name, p in shapes.items() if name != "english"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT vector::text FROM questionbank_problem_search "
                       "WHERE problem_id = %s", [shapes["quadratic"].pk])
        words = cursor.fetchone()[0]
    # No CJK runs ('解方程', '二次方程') in the words' vector: the parser read the text
    # with them blanked (migration 0029); the words stay.
    assert "'root'" in words and "'integ'" in words and "方程" not in words
    english.tags.add(Tag.objects.create(name="几何", slug="jihe"))  # a Chinese tag name
    assert rows()[english.pk] == [True, True]
    english.tags.clear()
    assert english.pk not in rows()
    problem_update(problem=shapes["split"], title="Shapes", statement="All English now.")
    assert shapes["split"].pk not in rows()
    hidden = make_problem(title="抛物线", statement="抛物线的焦点。")
    assert rows()[hidden.pk] == [False, True]
    with_solution(hidden, "published")
    assert rows()[hidden.pk] == [True, True]
    Problem.objects.filter(pk=shapes["area"].pk).update(status=Problem.Status.ARCHIVED)
    assert rows()[shapes["area"].pk][0] is False
    shapes["circle"].delete()
    assert shapes["circle"].pk not in rows()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute("TRUNCATE questionbank_problem CASCADE")
    assert rows() == {}


@pytest.mark.postgresql
@pytest.mark.parametrize("q", ["求", "长", "面积", "三角形", "求 -三角形", "圆 面积"])
def test_the_rank_from_the_stored_length_is_ts_ranks_own(q, shapes):
    """qb_rank(v, q, cjk_length) is ts_rank(v, q, 1) (migration 0028), and the length
    column follows the vector."""
    published_problem(title="长长的题", statement="长" * 300 + "，求周长。" * 40)
    query = cjk_tsquery(parse_query(q))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts_rank(cjk, %s::tsquery, 1), qb_rank(cjk, %s::tsquery, cjk_length), "
            f"cjk_length = qb_tsvector_length(cjk) FROM {CJK_SEARCH_TABLE}", [query, query])
        rows = cursor.fetchall()
    assert len(rows) == 5 and any(own > 0 for own, _, _ in rows)
    for own, stored, same_length in rows:
        assert stored == pytest.approx(own, rel=1e-6) and same_length


def test_filters_and_newest_sort_apply(shapes):
    req = parse_query("求")
    newest = match_ids(req, relevance=False)
    assert newest.ids == (shapes["circle"].pk, shapes["split"].pk, shapes["area"].pk)
    assert match_ids(req, relevance=True, limit=2).capped


# --- Highlights -------------------------------------------------------------------------------


def test_runs_are_highlighted_in_title_and_snippet(shapes):
    pk = shapes["area"].pk
    title, snippet = highlights(parse_query("三角形 面积"), [pk])[pk]
    assert title == "<mark>三角形</mark>的<mark>面积</mark>"
    assert "直角<mark>三角形</mark>" in snippet and "<mark>面积</mark>" in snippet
    assert "<math" in snippet  # the formulas are rendered, not shown as TeX


def test_words_and_runs_are_both_highlighted(shapes):
    pk = shapes["circle"].pk
    title, snippet = highlights(parse_query("areas 圆"), [pk])[pk]
    assert title == "Circle <mark>area</mark>"
    assert snippet.startswith("<mark>圆</mark>的半径为")
    pk = shapes["quadratic"].pk
    title, snippet = highlights(parse_query("方程 roots"), [pk])[pk]
    assert title == "二次<mark>方程</mark>"
    assert "解<mark>方程</mark>" in snippet and "<mark>roots</mark>" in snippet


@pytest.mark.django_db
def test_highlights_escape_stored_text():
    problem = published_problem(title="<b>三角</b>", statement="<script>三角</script> & 三角")
    title, snippet = highlights(parse_query("三角"), [problem.pk])[problem.pk]
    assert title == "&lt;b&gt;<mark>三角</mark>&lt;/b&gt;"
    assert "<script>" not in snippet and "&lt;script&gt;<mark>三角</mark>" in snippet


@pytest.mark.django_db
def test_long_statements_are_cut_around_the_first_match():
    problem = published_problem(title="长题", statement="前" * 500 + "抛物线" + "后" * 500)
    _, snippet = highlights(parse_query("抛物线"), [problem.pk])[problem.pk]
    assert snippet.startswith("… 前") and snippet.endswith("后 …")
    assert "<mark>抛物线</mark>" in snippet and len(snippet) < 300


# --- The queries use the index ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["圆", "面积", "三角形的面积", "area 圆"])
def test_searches_read_the_cjk_index(q, shapes):
    req = parse_query(q)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows would be read in full, or walked along an index (newest
            # first, or the primary keys a join can follow): forbid that (the newest-first
            # indexes dropped in this test's transaction only), as if there were 100,000
            # rows and a rare run. The bench prints the plans at that size.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("DROP INDEX problem_search_newest, problem_search_cjk_newest")
            plan = _pg_plan(cursor, req)
            # The CJK table alone, with words too (migration 0028): either of its
            # indexes may lead.
            assert "problem_search_cjk_match" in plan or "problem_search_cjk_words" in plan, plan
            assert "problem_search_match" not in plan, plan
            # The stop-word test was folded away before planning.
            assert "numnode" not in plan, plan
        else:
            plan = _sqlite_plan(cursor, req)
            assert f"SCAN {CJK_TABLE} VIRTUAL TABLE INDEX" in plan, plan


def _captured_sql(req) -> tuple[str, list]:
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        match_ids(req, relevance=True)
    return seen[0]


def _pg_plan(cursor, req) -> str:
    sql, params = _captured_sql(req)
    cursor.execute("EXPLAIN " + sql, params)
    return "\n".join(row[0] for row in cursor.fetchall())


def _sqlite_plan(cursor, req) -> str:
    sql, params = _captured_sql(req)
    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
    return "\n".join(str(row[-1]) for row in cursor.fetchall())

"""Benchmark: the students' pages at 100,000 problems on PostgreSQL, under gunicorn.

    .venv/bin/python bench/pages.py [--problems 100000] [--refill] [--duration 10]

What it does, in one run:
1. Fills its own PostgreSQL database (QB_BENCH_DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/qb_bench_pages) with N problems (half with a
   published solution, some with drafts), statements of realistic length drawn from a
   Zipf-distributed vocabulary, 1-3 tags each. Rows go in with COPY; rendered HTML is
   precomputed by the real renderer for a few dozen variants and reused (a problem's
   statement_html is therefore not its own statement; the page cost is the same).
   An existing fill of the right size is reused unless --refill.
2. Prints EXPLAIN ANALYZE of the list and search queries (which index each uses).
3. Starts gunicorn (sync workers) with production settings (QB_DEBUG=0, a random
   QB_SECRET_KEY, QB_HTTPS=0) and bench/pages_settings.py, which only adds the anchor
   route /bench/bare/ (a constant string through the same middleware).
4. Loads it from a second process with wrk (Debian package; p95 from a Lua done()
   hook) and prints requests/s and latency per page beside the bare view.

Goals (issue 13): with the page cache on (anonymous visitors), the list, a tag's page
and a problem's page >= 0.4 x bare requests/s; with it off (every page rendered, as for a
cold cache) their p95 < 30 ms; search p95 < 50 ms. Issue 19: a third of the problems are
in Chinese (statements from a Zipf-distributed Chinese maths vocabulary, with the same
formulas and code), and Chinese searches of two and four characters have p95 < 50 ms,
beside the English figures of the same run (single characters and a Chinese word with
TeX are measured too, without a goal).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
# Django and the app are imported inside the functions: the settings and database are
# chosen at run time (configure_env, before django.setup()).
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qb_bench_pages"


def configure_env(db_url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "bench.pages_settings",
        "QB_DEBUG": "0",
        "QB_SECRET_KEY": secrets.token_urlsafe(50),
        "QB_HTTPS": "0",
        "QB_PUBLIC_BROWSING": "1",
        "QB_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    os.environ.update(env)
    return env


# --- Data -----------------------------------------------------------------------------

MATHS_WORDS = """
triangle circle square rectangle polygon angle radius diameter area perimeter volume
prime factor multiple divisor integer fraction decimal ratio proportion percentage
equation inequality function derivative integral limit sequence series sum product
probability expectation variance dice coin card permutation combination graph vertex
edge tree path cycle matrix vector determinant eigenvalue root quadratic polynomial
logarithm exponent power modulo remainder parity digit number real complex rational
irrational geometry algebra calculus statistics median mode mean array string sort
search binary recursion loop stack queue hash list input output minimum maximum
""".split()  # noqa: SIM905
MORE_WORDS = """
chord tangent secant arc sector segment hypotenuse altitude bisector median centroid
incircle circumcircle parallelogram trapezium rhombus hexagon pentagon octagon cube
sphere cylinder cone pyramid prism tetrahedron lattice grid coordinate axis slope
intercept gradient asymptote parabola ellipse hyperbola focus directrix locus
reflection rotation translation symmetry congruent similar scale factorial binomial
coefficient pascal fibonacci recurrence induction contradiction lemma theorem proof
gcd lcm totient congruence residue base bit byte mask xor shift overflow pointer
heap deque trie segment fenwick dijkstra kruskal prim bellman floyd topological
bipartite matching flow cut clique colouring planar euler hamilton spanning subset
subsequence substring palindrome anagram prefix suffix interval window greedy dynamic
memo table knapsack coin change partition bracket parenthesis token parser grammar
""".split()  # noqa: SIM905
FILLER = """the a of and to in is that for it as with be by on are this which find show
given let what how many if then there each so all at most least value two three five
""".split()  # noqa: SIM905
PREFIXES = ("sub", "super", "poly", "iso", "hyper", "quasi", "semi", "multi", "inter",
            "co", "bi", "tri", "anti", "pseudo", "para", "ortho", "meta", "uni", "di", "mono")
# Chinese statements (a third of the problems): function words first, then maths and
# programming words, then rarer compounds of a two-character qualifier and a
# two-character word (four characters, like 等腰梯形), Zipf-distributed like the English.
FILLER_ZH = """的 是 在 和 已知 求 若 设 则 为 有 个 一 两 三 中 上 与 及 所有 满足 使得 计算
其中 如果 那么 多少 每 共 点 条 次 对于 这 可以 得到 试 问 给定 不 个数 之间 时
""".split()  # noqa: SIM905
MATHS_WORDS_ZH = """
函数 方程 三角形 面积 圆 正方形 长方形 周长 半径 直径 体积 角 边长 数列 概率 整数 分数 小数
比例 百分比 不等式 导数 积分 极限 向量 矩阵 坐标 直线 斜率 抛物线 椭圆 双曲线 最大值 最小值
质数 因数 倍数 余数 平均数 中位数 方差 期望 排列 组合 集合 子集 对数 指数 平方根 多项式 根
等差数列 等比数列 二次函数 一次函数 三角函数 正弦 余弦 正切 弧度 平行四边形 梯形 菱形 长方体
正方体 圆柱 圆锥 球 棱锥 相似 全等 对称 旋转 平移 原点 象限 区间 定义域 值域 单调 奇函数 偶函数
周期 零点 切线 弦 弧 扇形 圆心角 内切圆 外接圆 中线 角平分线 重心 整除 最大公约数 最小公倍数
同余 进制 数字 算法 数组 字符串 排序 递归 循环 栈 队列 树 图 路径 最短路 动态规划 贪心 二分
复杂度 因式分解 勾股定理 平面向量 概率分布 线段 射线 顶点 对角线 高 底边 腰 圆周率 分母 分子
约分 通分 方程组 未知数 系数 常数 变量 函数值 图像 交点 距离 速度 时间 路程 利润 成本 价格
""".split()  # noqa: SIM905
QUALIFIERS_ZH = ("直角", "等腰", "单位", "平行", "相似", "锐角", "钝角", "有理", "无理", "实数",
                 "复数", "离散", "连续", "随机", "线性", "非负", "正整", "有向", "无向", "相邻")
# Bumped when the generated data changes: an existing fill is reused only if it matches.
FILL_VERSION = "4-zipf-own-html-zh"
# The last migration whose tables the fill writes: later ones need no refill (0020's
# search document with tag names is filled by that migration from the rows).
FILL_SCHEMA = "0011_browse_search_candidates"


def vocabulary(rng: random.Random | None = None, n: int = 4000) -> list[str]:
    """Word list in Zipf rank order: filler (stop words) first, then the maths and
    programming words, then rarer compounds (``subgraph``, ``isomatrix``...), ~4,000 in
    all. With exponent 1.05 over ~110-word statements a rank-40 word appears in about a
    fifth of the problems and a rank-3,000 word in about 0.3%."""
    base = MATHS_WORDS + [w for w in MORE_WORDS if w not in MATHS_WORDS]
    compounds = sorted({p + w for p in PREFIXES for w in base})
    random.Random(6).shuffle(compounds)
    return (FILLER + base + compounds)[:n]


def vocabulary_zh(n: int = 3000) -> list[str]:
    """The Chinese word list in Zipf rank order (function words, maths words, then the
    four-character compounds), ~3,000 in all."""
    base = [w for w in MATHS_WORDS_ZH if len(w) == 2]
    compounds = sorted({q + w for q in QUALIFIERS_ZH for w in base})
    random.Random(6).shuffle(compounds)
    return (FILLER_ZH + MATHS_WORDS_ZH + compounds)[:n]


def make_text_zh(rng, vocab, weights, words: int) -> str:
    """Chinese prose: sentences of 6-16 words, no spaces, commas inside, a full stop."""
    chosen = rng.choices(vocab, cum_weights=weights, k=words)
    out, sentence = [], []
    for i, word in enumerate(chosen):
        sentence.append(word)
        if len(sentence) > rng.randint(6, 16) or i == len(chosen) - 1:
            cut = rng.randint(1, len(sentence))
            out.append("".join(sentence[:cut]) + ("，" if cut < len(sentence) else "")
                       + "".join(sentence[cut:]) + "。")
            sentence = []
    return "".join(out)


def zipf_weights(n: int) -> list[float]:
    weights, total = [], 0.0
    for rank in range(1, n + 1):
        total += 1 / rank ** 1.05
        weights.append(total)
    return weights


def make_text(rng, vocab, weights, words: int) -> str:
    chosen = rng.choices(vocab, cum_weights=weights, k=words)
    out, sentence = [], []
    for i, word in enumerate(chosen):
        sentence.append(word)
        if len(sentence) > rng.randint(8, 18) or i == len(chosen) - 1:
            text = " ".join(sentence)
            out.append(text[0].upper() + text[1:] + ".")
            sentence = []
    return " ".join(out)


# A handful of statement shapes, each rendered once by the real renderer with sentinel
# numbers; a problem's statement_html is its own prose and numbers put into one of them
# (exactly what render_markdown returns for that statement, at a fraction of the cost).
SHAPES = [
    "PROSE\n\nLet $x^{N1} + {N2}x = {N3}$. Find $x$.",
    "PROSE\n\n$$\\sum_{k=1}^{{N1}} k^2 = {N2}{N3}$$",
    "PROSE\n\n```python\ndef f(n):\n    return n * {N1} + {N2} - {N3}\n```",
    "PROSE\n\nThe sides are ${N1}$, ${N2}$ and ${N3}$: compute the area.",
    "PROSE",
]
SHAPES_ZH = [
    "PROSE\n\n设 $x^{N1} + {N2}x = {N3}$，求 $x$。",
    "PROSE\n\n$$\\sum_{k=1}^{{N1}} k^2 = {N2}{N3}$$",
    "PROSE\n\n```python\ndef f(n):\n    return n * {N1} + {N2} - {N3}\n```",
    "PROSE\n\n三边长分别为 ${N1}$、${N2}$ 和 ${N3}$，求面积。",
    "PROSE",
]
SENTINELS = ("91817", "92827", "93837")


def shape_templates(shapes=SHAPES) -> list[tuple[str, str]]:
    from questionbank.rendering import render_markdown

    out = []
    for shape in shapes:
        md = shape.replace("{N1}", SENTINELS[0]).replace("{N2}", SENTINELS[1]) \
                  .replace("{N3}", SENTINELS[2])
        out.append((md, str(render_markdown(md))))
    return out


def own_statement(rng, shapes, prose: str) -> tuple[str, str]:
    """(statement, statement_html) for one problem: its prose and its own numbers."""
    from django.utils.html import escape

    md, html = rng.choice(shapes)
    for sentinel in SENTINELS:
        n = str(rng.randint(2, 999))
        md, html = md.replace(sentinel, n), html.replace(sentinel, n)
    return md.replace("PROSE", prose), html.replace("PROSE", escape(prose))


def copy_rows(cursor, model, rows: list[dict]) -> None:
    """COPY rows into ``model``'s table; missing fields get the field's default."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
    with raw.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            values = []
            for f in fields:
                if f.attname in row:
                    v = row[f.attname]
                elif f.has_default():
                    v = f.get_default()
                elif f.null:
                    v = None
                else:
                    v = ""
                if f.get_internal_type() == "JSONField" and v is not None:
                    v = json.dumps(v)
                values.append(v)
            copy.write_row(values)


def fill(n: int, seed: int = 6) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from questionbank.models import Problem, Solution, SolutionRevision, Tag
    from questionbank.rendering import render_markdown

    rng = random.Random(seed)
    vocab, vocab_zh = vocabulary(), vocabulary_zh()
    shapes, shapes_zh = shape_templates(), shape_templates(SHAPES_ZH)
    for shape_list, prose in ((shapes, "Find the value."), (shapes_zh, "求函数的值。")):
        probe = own_statement(random.Random(1), shape_list, prose)
        assert str(render_markdown(probe[0])) == probe[1], "shape rendering drifted"
    weights, weights_zh = zipf_weights(len(vocab)), zipf_weights(len(vocab_zh))
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE questionbank_solutionrevision, questionbank_solutiontransition, "
            "questionbank_solution, questionbank_problem_tags, questionbank_problem, "
            "questionbank_tag RESTART IDENTITY CASCADE")
    tag_names = [f"{w.title()} {k}" for k in ("basics", "practice") for w in MATHS_WORDS[:40]]
    tags = [Tag.objects.create(name=name) for name in tag_names]

    bodies = [make_text(rng, vocab, weights, rng.randint(150, 400)) +
              "\n\n$$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$\n\n```python\nprint(42)\n```"
              for _ in range(20)]
    bodies_html = [render_markdown(b) for b in bodies]

    now = timezone.now()
    problems = []
    for i in range(n):
        chinese = rng.random() < 1 / 3
        if chinese:  # ~110 words of ~2 characters: ~220 characters
            words = max(20, int(rng.lognormvariate(math.log(110), 0.5)))
            statement, statement_html = own_statement(
                rng, shapes_zh, make_text_zh(rng, vocab_zh, weights_zh, words))
            title = "".join(rng.choices(vocab_zh[len(FILLER_ZH):], k=rng.randint(2, 4)))
        else:
            words = max(25, int(rng.lognormvariate(math.log(110), 0.5)))
            statement, statement_html = own_statement(rng, shapes,
                                                      make_text(rng, vocab, weights, words))
            title = " ".join(rng.choices(vocab[len(FILLER):], k=rng.randint(3, 7))).capitalize()
        problems.append({
            "title": title,
            "kind": "programming" if rng.random() < 0.3 else "maths",
            "statement": statement,
            "statement_html": statement_html,
            "reference_answer": str(rng.randint(1, 1000)),
            "test_cases": [],
            "difficulty": rng.randint(1, 5),
            "status": "ready",
            "language": "zh" if chinese else "en",
            "version": 1,
            "created_at": now - timedelta(minutes=n - i),
            "updated_at": now - timedelta(minutes=n - i),
        })
    with transaction.atomic(), connection.cursor() as cursor:
        copy_rows(cursor, Problem, problems)
        cursor.execute("SELECT id FROM questionbank_problem ORDER BY id")
        ids = [r[0] for r in cursor.fetchall()]
        through = Problem.tags.through
        links = [{"problem_id": pid, "tag_id": t.pk}
                 for pid in ids for t in rng.sample(tags, rng.randint(1, 3))]
        copy_rows(cursor, through, links)
        solutions = []
        for pid in ids:
            r = rng.random()
            status = "published" if r < 0.5 else ("draft" if r < 0.7 else None)
            if status:
                solutions.append({"problem_id": pid, "status": status,
                                  "final_answer": str(rng.randint(1, 1000)),
                                  "is_best": status == "published",
                                  "published_at": now if status == "published" else None,
                                  "created_at": now, "updated_at": now})
        copy_rows(cursor, Solution, solutions)
        cursor.execute("SELECT id FROM questionbank_solution ORDER BY id")
        sids = [r[0] for r in cursor.fetchall()]
        revisions = []
        for k, sid in enumerate(sids):
            v = k % len(bodies)
            revisions.append({"solution_id": sid, "number": 1, "body": bodies[v],
                              "body_html": bodies_html[v], "note": "Generated by the model",
                              "created_at": now})
        copy_rows(cursor, SolutionRevision, revisions)
        cursor.execute(
            "UPDATE questionbank_solution s SET current_revision_id = r.id "
            "FROM questionbank_solutionrevision r WHERE r.solution_id = s.id")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS qb_bench_meta (version text NOT NULL)")
        cursor.execute("DELETE FROM qb_bench_meta")
        cursor.execute("INSERT INTO qb_bench_meta VALUES (%s)", [fill_version()])
        cursor.execute("VACUUM ANALYZE")
    published = Problem.objects.published().count()
    chinese = Problem.objects.filter(language="zh").count()
    print(f"filled {n} problems ({published} published, {chinese} in Chinese), "
          f"{len(solutions)} solutions, {len(links)} tag links in {time.perf_counter() - t0:.0f} s")
    return {"vocab": vocab}


# --- Queries to load ------------------------------------------------------------------

def fill_version() -> str:
    """The data generator's version and the schema it was filled under."""
    from django.db.migrations.recorder import MigrationRecorder

    applied = set(MigrationRecorder.Migration.objects.filter(app="questionbank")
                  .values_list("name", flat=True))
    if FILL_SCHEMA not in applied:
        return f"{FILL_VERSION}/unmigrated"
    return f"{FILL_VERSION}/{FILL_SCHEMA}"


def filled_version() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('qb_bench_meta')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT version FROM qb_bench_meta")
        row = cursor.fetchone()
    return row[0] if row else None


def hits(word: str) -> float:
    """Share of all problems whose title, statement or tags match ``word`` (through the
    search's side table, which has a row for every problem)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE vector @@ "
                       "websearch_to_tsquery('english', %s))::float / count(*) "
                       "FROM questionbank_problem_search", [word])
        return cursor.fetchone()[0]


def hits_zh(query: str) -> float:
    """Share of the Chinese problems whose title, statement or tags hold ``query``
    (through the CJK index's table, which has a row for every problem with CJK text)."""
    from django.db import connection

    from questionbank.browse.search import cjk_tsquery, parse_query

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE c.cjk @@ %s::tsquery)::float / count(*) "
                       "FROM questionbank_problem p LEFT JOIN questionbank_problem_search_cjk c "
                       "ON c.problem_id = p.id WHERE p.language = 'zh'",
                       [cjk_tsquery(parse_query(query))])
        return cursor.fetchone()[0]


def pick_targets_zh(rng: random.Random) -> dict:
    """Chinese queries: two-character words, common (the most frequent maths words) and
    rarer (the qualifiers, found only inside compound words); four-character ones
    (compound words, and four characters in a row cut from titles, which cross word
    boundaries); single characters; a Chinese word with an English-index part (TeX).
    Each list cycles through 20 queries."""
    from questionbank.models import Problem

    vocab = vocabulary_zh()
    maths = vocab[len(FILLER_ZH):]
    two = [w for w in maths if len(w) == 2]
    common2 = two[:20]
    rare2 = list(QUALIFIERS_ZH)
    compounds = [w for w in maths if len(w) == 4]
    titles = list(Problem.objects.filter(language="zh").order_by("pk")
                  .values_list("title", flat=True)[:2000])
    cut = []
    for title in rng.sample(titles, 200):
        if len(title) >= 6 and len(cut) < 10:
            at = rng.randint(0, len(title) - 4)
            cut.append(title[at:at + 4])
    four = compounds[:5] + compounds[200:205] + cut
    singles = ["数", "角", "的", "圆", "求", "方", "积", "函", "线", "形",
               "率", "点", "值", "边", "根", "体", "比", "质", "栈", "树"]
    mixed = [f"{w} k^2" for w in common2[:10]] + [f"{w} sum" for w in common2[10:20]]
    return {"zh2common": common2, "zh2rare": rare2, "zh4": four, "zh1": singles,
            "zhmixed": mixed,
            "share_zh": {"zh2common": hits_zh(common2[0]), "zh2rare": hits_zh(rare2[0]),
                         "zh4": hits_zh(four[0]), "zh4cut": hits_zh(cut[0]),
                         "zh1": hits_zh(singles[0])}}


def pick_targets(rng: random.Random) -> dict:
    from questionbank.models import Problem, Tag

    everyone = list(Problem.objects.published().order_by("pk").values_list("pk", flat=True))
    picked = rng.sample(everyone, 10_000)
    published, cold = picked[:5000], picked[5000:]
    vocab = vocabulary()
    first = len(FILLER)
    rare = vocab[3000:3020]                                    # ~0.3% of problems each
    mids = vocab[first + 150:first + 450]
    pairs = [f"{a} {b}" for a, b in zip(mids[::2], mids[1::2], strict=False)][:20]
    common = vocab[first:first + 12]                           # 10-30% each
    tags = list(Tag.objects.order_by("pk").values_list("slug", flat=True)[:20])
    return {"published": published, "cold": cold, "rare": rare, "pairs": pairs,
            "common": common, "tags": tags,
            "share": {"rare": hits(rare[0]), "pair": hits(pairs[0]),
                      "common": hits(common[0])}}


def explain(targets: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from questionbank.browse.search import match_ids, parse_query
    from questionbank.models import Tag
    from questionbank.selectors import browse_problem_list

    cases = {
        "list, newest, page 1": browse_problem_list()[:21],
        "list, tag + kind filter": browse_problem_list(
            kind="maths", tag=Tag.objects.order_by("id").first())[:21],
    }
    print("\nEXPLAIN ANALYZE (PostgreSQL)")
    for label, qs in cases.items():
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            plan = [r[0] for r in cursor.fetchall()]
        indexes = sorted({w.strip('"') for line in plan for w in line.split()
                          if w.startswith(("problem_", "questionbank_"))
                          and ("idx" in w or "gin" in w or "newest" in w or "_id_" in w
                               or "_pkey" in w or w.endswith("_idx"))})
        total = next((line for line in plan if line.startswith("Execution Time")), "")
        print(f"  {label:40} {total:28} uses: {', '.join(indexes) or '-'}")
        for line in plan[:6]:
            print(f"      {line[:110]}")
    for label, word in (("rare", targets["rare"][0]), ("two words", targets["pairs"][0]),
                        ("common", targets["common"][0]),
                        ("zh 2 chars common", targets["zh2common"][0]),
                        ("zh 2 chars rare", targets["zh2rare"][0]),
                        ("zh 4 chars", targets["zh4"][0]),
                        ("zh 4 chars cut", targets["zh4"][-1]),
                        ("zh 1 char", targets["zh1"][0]),
                        ("zh + TeX", targets["zhmixed"][0])):
        with CaptureQueriesContext(connection) as ctx:
            match_ids(parse_query(word), relevance=True)
        sql = ctx.captured_queries[0]["sql"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
            plan = [r[0] for r in cursor.fetchall()]
        total = next((line for line in plan if line.startswith("Execution Time")), "")
        scans = sorted({line.split(" on ")[-1].split()[0] for line in plan
                        if " Scan " in line and " on " in line})
        indexes = sorted({line.split(" using ")[1].split()[0] for line in plan
                          if " using " in line})
        print(f"  search ids, {label} '{word}' (capped ranking)   {total:28} "
              f"uses: {', '.join(scans)}; indexes: {', '.join(indexes) or '-'}")


# --- Serving and loading --------------------------------------------------------------

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("QB_RESULT %%d %%d %%.3f %%.3f %%.3f %%d %%d\\n",
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within {timeout} s")


def run_wrk(base: str, paths: list[str], *, duration: int, connections: int,
            workdir: Path) -> dict:
    script = workdir / f"wrk{abs(hash(tuple(paths)))}.lua"
    script.write_text(LUA % ", ".join(json.dumps(p) for p in paths))
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
           "-s", str(script), base + paths[0]]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("QB_RESULT"))
    reqs, dur_us, p50, p95, p99, bad_status, sock_errors = line.split()[1:]
    return {"rps": int(reqs) / (int(dur_us) / 1e6), "p50": float(p50), "p95": float(p95),
            "p99": float(p99), "errors": int(bad_status) + int(sock_errors),
            "requests": int(reqs)}


def serve_and_load(env: dict, pages: dict, args, workdir: Path) -> dict:
    """Start gunicorn with ``env``, check every page answers 200, warm up, then time."""
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(workdir / "gunicorn.log", "a")  # noqa: SIM115 (closed in finally)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "questionbank.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--chdir", str(ROOT), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(base + "/bench/bare/")
        for paths in pages.values():
            for path in paths[:3]:
                with urllib.request.urlopen(base + path, timeout=10) as response:
                    assert response.status == 200, path
        for paths in pages.values():  # warm both workers (and the cache, when on)
            run_wrk(base, paths, duration=2, connections=args.connections, workdir=workdir)
        if env.get("QB_BROWSE_PAGE_CACHE") == "1" and DETAIL in pages:
            # Every problem page of the warm row viewed once, as students' traffic would.
            with ThreadPoolExecutor(args.connections) as pool:
                list(pool.map(lambda path: urllib.request.urlopen(base + path, timeout=30)
                              .read(), pages[DETAIL]))
        results = {}
        for name, paths in pages.items():
            results[name] = run_wrk(base, paths, duration=args.duration,
                                    connections=args.connections, workdir=workdir)
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()


DETAIL = "detail (1,000 problems)"
DETAIL_COLD = "detail, 1st view (5,000)"
TAG = "tag page"
WARM_GOAL = 0.4  # x bare requests/s, page cache on
COLD_P95_MS = 30  # page cache off
SEARCH_P95_MS = 50
ZH2_COMMON = "search, zh 2 chars common"
ZH2_RARE = "search, zh 2 chars rare"
ZH4 = "search, zh 4 chars"


def print_table(results: dict, args, targets: dict, mode: str) -> None:
    bare = results["bare view (anchor)"]["rps"]
    zh = targets["share_zh"]
    print(f"\nStudents' pages at {args.problems:,} problems (a third in Chinese), {mode}")
    print(f"  PostgreSQL, gunicorn {args.workers} sync workers, wrk 1 thread x "
          f"{args.connections} connections, {args.duration} s per page, same machine, "
          f"load average at the end {os.getloadavg()[0]:.1f}; "
          f"share of problems matching: rare word {targets['share']['rare']:.2%}, "
          f"two words {targets['share']['pair']:.2%}, "
          f"common word {targets['share']['common']:.2%}; share of the Chinese ones: "
          f"2 chars common {zh['zh2common']:.2%}, rare {zh['zh2rare']:.2%}, "
          f"4 chars {zh['zh4']:.2%} (cut from a title {zh['zh4cut']:.2%}), "
          f"1 char {zh['zh1']:.2%} (first query of each list)")
    print(f"{'page':28} {'req/s':>8} {'x bare':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}  goal")
    cached = "ON" in mode
    pages = ("list, page 1", TAG, DETAIL)
    goals = {name: f"x bare >= {WARM_GOAL}" if cached else f"p95 < {COLD_P95_MS} ms"
             for name in pages}
    if cached:
        goals[DETAIL_COLD] = f"p95 < {COLD_P95_MS} ms"  # first views: rendered
    goals.update({name: f"p95 < {SEARCH_P95_MS} ms" for name in
                  ("search, rare word", "search, two words", "search, common word",
                   ZH2_COMMON, ZH2_RARE, ZH4)})
    for name, r in results.items():
        ratio = r["rps"] / bare if bare else 0
        goal = goals.get(name, "")
        if goal.startswith("x bare"):
            goal += " " + ("met" if ratio >= WARM_GOAL else "MISSED")
        elif goal:
            limit = float(goal.split("<")[1].split()[0])
            goal += " " + ("met" if r["p95"] < limit else "MISSED")
        print(f"{name:28} {r['rps']:8.0f} {ratio:7.2f} {r['p50']:8.1f} {r['p95']:8.1f} "
              f"{r['p99']:8.1f} {r['errors']:6d}  {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--duration", type=int, default=10, help="seconds per page")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=0,
                        help="gunicorn's port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--only", nargs="+", metavar="WORD",
                        help="load only the pages whose name has one of these words "
                             "(the bare anchor always runs)")
    parser.add_argument("--cache", choices=["both", "on", "off"], default="both",
                        help="which page-cache setting(s) to measure")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    db_url = os.environ.get("QB_BENCH_DATABASE_URL", DEFAULT_URL)
    env = configure_env(db_url)
    sys.path.insert(0, str(ROOT))
    from bench._db import ensure_database

    if ensure_database(db_url):
        print(f"created database {db_url.rsplit('/', 1)[1]}")
    import django

    django.setup()
    from django.core.management import call_command

    from questionbank.models import Problem

    call_command("migrate", verbosity=0)
    have = filled_version()
    if args.refill or have != fill_version() or Problem.objects.count() != args.problems:
        print(f"filling (found data version {have!r}, want {fill_version()!r})")
        fill(args.problems)
    else:
        print(f"reusing {args.problems} problems ({have}) in {db_url.rsplit('/', 1)[1]}")
    call_command("collectstatic", interactive=False, verbosity=0)
    targets = pick_targets(random.Random(1))
    targets.update(pick_targets_zh(random.Random(2)))
    explain(targets)
    from django.db import connections

    connections.close_all()

    pub = targets["published"]
    pages = {
        "bare view (anchor)": ["/bench/bare/"],
        "bare + one query": ["/bench/one-query/"],
        "list, page 1": ["/browse/problems/"],
        "list, filtered, page 3": [f"/browse/problems/?kind=maths&difficulty={d}&page=3"
                                   for d in range(1, 6)],
        TAG: [f"/browse/tags/{slug}/" for slug in targets["tags"]],
        DETAIL: [f"/browse/problems/{pk}/" for pk in pub[:1000]],
        DETAIL_COLD: [f"/browse/problems/{pk}/" for pk in targets["cold"]],
        "search, rare word": [f"/browse/problems/?q={w}" for w in targets["rare"]],
        "search, two words": [f"/browse/problems/?q={quote_plus(w)}" for w in targets["pairs"]],
        "search, common word": [f"/browse/problems/?q={w}" for w in targets["common"]],
        ZH2_COMMON: [f"/browse/problems/?q={quote_plus(w)}" for w in targets["zh2common"]],
        ZH2_RARE: [f"/browse/problems/?q={quote_plus(w)}" for w in targets["zh2rare"]],
        ZH4: [f"/browse/problems/?q={quote_plus(w)}" for w in targets["zh4"]],
        "search, zh 1 char": [f"/browse/problems/?q={quote_plus(w)}" for w in targets["zh1"]],
        "search, zh + TeX": [f"/browse/problems/?q={quote_plus(w)}"
                             for w in targets["zhmixed"]],
    }
    if args.only:
        pages = {name: paths for name, paths in pages.items()
                 if name == "bare view (anchor)" or any(w in name for w in args.only)}
    workdir = Path(tempfile.mkdtemp(prefix="qb-bench-pages-"))
    for cached in {"both": (True, False), "on": (True,), "off": (False,)}[args.cache]:
        env["QB_BROWSE_PAGE_CACHE"] = "1" if cached else "0"
        results = serve_and_load(env, pages, args, workdir)
        mode = ("page cache ON (production default, anonymous visitors)" if cached else
                "page cache OFF (every page rendered: logged-in students, cold cache)")
        print_table(results, args, targets, mode)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

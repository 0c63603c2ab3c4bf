"""The demo set loaded by ``manage.py seed_demo``: original problems and two prompt templates.

Plain data, Django-free, so it can be read (and its answers re-checked) without a
database. Every problem here was written for this project (not copied from a contest);
every maths answer was checked by computation and every programming test case by
running a reference solution.

``external_id`` ("demo-001" ... for maths, "demo-101" ... for programming) is how
``seed_demo`` recognises a problem it loaded earlier: it never overwrites one, so a
teacher's edits survive a second run. Add new problems with new ids; never renumber.
"""

from __future__ import annotations

SOURCE = "Demo set (original)"

MATHS = "maths"
PROGRAMMING = "programming"
READY = "ready"
DRAFT = "draft"


def _maths(external_id, title, statement, answer, *, tags, difficulty, status=READY):
    return {
        "external_id": external_id,
        "title": title,
        "kind": MATHS,
        "statement": statement.strip(),
        "reference_answer": answer,
        "test_cases": [],
        "tags": list(tags),
        "difficulty": difficulty,
        "status": status,
    }


def _code_block(text: str) -> str:
    return "```\n" + text.rstrip("\n") + "\n```"


def _programming(external_id, title, statement, tests, *, tags, difficulty, status=READY):
    """A programming problem; its first test case is shown as the example."""
    example = tests[0]
    statement = (
        statement.strip()
        + "\n\n### Example\n\nInput:\n\n" + _code_block(example["input"])
        + "\n\nOutput:\n\n" + _code_block(example["output"])
    )
    return {
        "external_id": external_id,
        "title": title,
        "kind": PROGRAMMING,
        "statement": statement,
        "reference_answer": "",
        "test_cases": [dict(t) for t in tests],
        "tags": list(tags),
        "difficulty": difficulty,
        "status": status,
    }


# --- Maths: competition style, answers in LaTeX-friendly form ----------------------------

MATHS_PROBLEMS = [
    _maths(
        "demo-001", "Cubes from a sum and a sum of squares",
        r"""
Real numbers $x$ and $y$ satisfy $x + y = 7$ and $x^2 + y^2 = 29$.
Find the value of $x^3 + y^3$.
""",
        "133", tags=["algebra"], difficulty=1,
    ),
    _maths(
        "demo-002", "Last two digits of a power of three",
        r"""
What is the remainder when $3^{2025}$ is divided by $100$?
""",
        "43", tags=["number theory"], difficulty=2,
    ),
    _maths(
        "demo-003", "Digits climbing upwards",
        r"""
How many five-digit positive integers have digits that are **strictly increasing**
from left to right? (For example, $13579$ counts but $13379$ does not.)
""",
        "126", tags=["combinatorics"], difficulty=2,
    ),
    _maths(
        "demo-004", "A product of two dice",
        r"""
Two fair six-sided dice are rolled. What is the probability that the product of the
two numbers shown is a multiple of $3$? Give your answer as a fraction in lowest terms.
""",
        r"\frac{5}{9}", tags=["probability"], difficulty=1,
    ),
    _maths(
        "demo-005", "A circle inside a right triangle",
        r"""
A right triangle has legs of lengths $20$ and $21$. Find the radius of the circle
inscribed in the triangle.
""",
        "6", tags=["geometry"], difficulty=1,
    ),
    _maths(
        "demo-006", "A telescoping series of reciprocals",
        r"""
A sequence is defined by $a_1 = 2$ and
$$a_{n+1} = a_n^2 - a_n + 1 \quad \text{for } n \ge 1.$$
Find the exact value of
$$\sum_{n=1}^{\infty} \frac{1}{a_n} = \frac{1}{a_1} + \frac{1}{a_2} + \frac{1}{a_3} + \cdots.$$
""",
        "1", tags=["sequences", "algebra"], difficulty=4,
    ),
    _maths(
        "demo-007", "Weighted reciprocals",
        r"""
Let $a$, $b$, $c$ be positive real numbers with $a + b + c = 3$. Find the minimum value of
$$\frac{1}{a} + \frac{4}{b} + \frac{9}{c}.$$
""",
        "12", tags=["inequalities"], difficulty=3,
    ),
    _maths(
        "demo-008", "Pairs with a given least common multiple",
        r"""
How many ordered pairs $(a, b)$ of positive integers satisfy $\operatorname{lcm}(a, b) = 360$?
""",
        "105", tags=["number theory", "AIME-style"], difficulty=3,
    ),
    _maths(
        "demo-009", "Dominoes on a strip",
        r"""
In how many ways can a $2 \times 10$ rectangle be tiled completely by $1 \times 2$
dominoes? Each domino may be placed horizontally or vertically.
""",
        "89", tags=["combinatorics", "sequences"], difficulty=2,
    ),
    _maths(
        "demo-010", "Where a segment meets a diagonal",
        r"""
Square $ABCD$ has side length $12$. Point $M$ is the midpoint of side $BC$, and segment
$AM$ meets the diagonal $BD$ at $P$. Find the area of triangle $ABP$.
""",
        "24", tags=["geometry"], difficulty=2,
    ),
    _maths(
        "demo-011", "Red and blue marbles",
        r"""
A bag holds $4$ red marbles and $6$ blue marbles. Three marbles are drawn at random
without replacement. What is the probability that exactly two of them are red?
""",
        r"\frac{3}{10}", tags=["probability", "combinatorics"], difficulty=1,
    ),
    _maths(
        "demo-012", "Shifted roots of a cubic",
        r"""
Let $r$, $s$, $t$ be the roots of $x^3 - 4x^2 + 2x + 5 = 0$. Compute
$$(r + 1)(s + 1)(t + 1).$$
""",
        "2", tags=["algebra", "polynomials"], difficulty=3,
    ),
    _maths(
        "demo-013", "Three remainders",
        r"""
Find the smallest positive integer $n$ that leaves remainder $2$ when divided by $3$,
remainder $3$ when divided by $5$, and remainder $4$ when divided by $7$.
""",
        "53", tags=["number theory"], difficulty=1,
    ),
    _maths(
        "demo-014", "A sequence that adds even numbers",
        r"""
A sequence starts with $a_1 = 1$ and satisfies $a_{n+1} = a_n + 2n$ for every $n \ge 1$,
so it begins $1, 3, 7, 13, \dots$. Find $a_{50}$.
""",
        "2451", tags=["sequences"], difficulty=1,
    ),
    _maths(
        "demo-015", "Area of a regular hexagon",
        r"""
A regular hexagon has side length $2$. Find its area in simplest radical form.
""",
        r"6\sqrt{3}", tags=["geometry"], difficulty=1,
    ),
    _maths(
        "demo-016", "Circumradius of a 13-14-15 triangle",
        r"""
A triangle has side lengths $13$, $14$ and $15$. Find the radius of its circumscribed
circle.
""",
        r"\frac{65}{8}", tags=["geometry"], difficulty=3,
    ),
    _maths(
        "demo-017", "No two heads in a row",
        r"""
A fair coin is tossed $10$ times. What is the probability that no two consecutive
tosses both come up heads?
""",
        r"\frac{9}{64}", tags=["probability", "sequences"], difficulty=3,
    ),
    _maths(
        "demo-018", "A product constraint",
        r"""
Positive real numbers $a$ and $b$ satisfy $ab = 1$. Find the minimum value of
$a^2 + 4b^2$.
""",
        "4", tags=["inequalities"], difficulty=2,
    ),
    _maths(
        "demo-019", "When a quadratic is a perfect square",
        r"""
Find the sum of all positive integers $n$ for which $n^2 + 20n + 19$ is a perfect square.
""",
        "36", tags=["number theory", "AIME-style"], difficulty=3,
    ),
    _maths(
        "demo-020", "Waiting for two sixes in a row",
        r"""
A fair six-sided die is rolled repeatedly until two consecutive rolls are both $6$.
What is the expected number of rolls?
""",
        "42", tags=["probability"], difficulty=4,
    ),
    _maths(
        "demo-021", "A functional equation with reciprocals",
        r"""
A function $f$, defined for all nonzero real numbers, satisfies
$$f(x) + 2f\!\left(\frac{1}{x}\right) = 3x$$
for every $x \neq 0$. Find $f(2)$.
""",
        "-1", tags=["algebra", "functional equations"], difficulty=2, status=DRAFT,
    ),
    _maths(
        "demo-022", "A point inside a rectangle",
        r"""
Point $P$ lies inside rectangle $ABCD$ (vertices in order) with $PA = 3$, $PB = 4$ and
$PC = 5$. Find $PD$.
""",
        r"3\sqrt{2}", tags=["geometry", "AIME-style"], difficulty=3,
    ),
    _maths(
        "demo-023", "Subsets with sum divisible by three",
        r"""
How many subsets of $\{1, 2, 3, \dots, 12\}$, including the empty set, have a sum of
elements divisible by $3$?
""",
        "1376", tags=["combinatorics", "AIME-style"], difficulty=4,
    ),
    _maths(
        "demo-024", "Maximum on the unit sphere",
        r"""
Real numbers $x$, $y$, $z$ satisfy $x^2 + y^2 + z^2 = 1$. Find the maximum value of
$xy + 2yz$.
""",
        r"\frac{\sqrt{5}}{2}", tags=["inequalities", "algebra"], difficulty=4,
    ),
    _maths(
        "demo-025", "A divisibility condition on a cube",
        r"""
Find the sum of all positive integers $n$ such that $n + 6$ divides $n^3 + 20$.
""",
        "356", tags=["number theory", "AIME-style"], difficulty=4,
    ),
    _maths(
        "demo-026", "Lattice points on an Eisenstein ellipse",
        r"""
Determine the number of ordered pairs $(x, y)$ of integers such that
$$x^2 + xy + y^2 = 49.$$
""",
        "18", tags=["number theory", "olympiad"], difficulty=5, status=DRAFT,
    ),
]


# --- Programming: algorithmic, LiveCodeBench-like ----------------------------------------

PROGRAMMING_PROBLEMS = [
    _programming(
        "demo-101", "Values that appear once",
        r"""
You are given $n$ integers. Print the sum of those values that occur **exactly once**
in the list. If no value occurs exactly once, print `0`.

### Input

The first line contains $n$. The second line contains $n$ integers $a_1, \dots, a_n$.

### Output

One integer: the sum.

### Constraints

- $1 \le n \le 2 \cdot 10^5$
- $-10^9 \le a_i \le 10^9$
""",
        [
            {"input": "6\n4 1 4 7 -2 7\n", "output": "-1\n"},
            {"input": "3\n5 5 5\n", "output": "0\n"},
            {"input": "5\n1000000000 1000000000 -1000000000 3 1000000000\n",
             "output": "-999999997\n"},
        ],
        tags=["hashing"], difficulty=1,
    ),
    _programming(
        "demo-102", "Longest rising run of measurements",
        r"""
A sensor recorded $n$ values. Find the length of the longest **strictly increasing
subsequence** (not necessarily contiguous) of the recorded values.

### Input

The first line contains $n$. The second line contains $n$ integers.

### Output

One integer: the length of the longest strictly increasing subsequence.

### Constraints

- $1 \le n \le 2 \cdot 10^5$
- $0 \le a_i \le 10^9$
""",
        [
            {"input": "8\n3 1 4 1 5 9 2 6\n", "output": "4\n"},
            {"input": "5\n7 7 7 7 7\n", "output": "1\n"},
            {"input": "10\n1 2 3 10 4 5 6 0 7 8\n", "output": "8\n"},
        ],
        tags=["dynamic programming", "binary search"], difficulty=3,
    ),
    _programming(
        "demo-103", "Counting islands",
        r"""
A map is a grid of `#` (land) and `.` (water). Two land cells belong to the same island
when they share a side (up, down, left or right). Count the islands.

### Input

The first line contains $R$ and $C$. Each of the next $R$ lines contains a string of $C$
characters, each `#` or `.`.

### Output

One integer: the number of islands.

### Constraints

- $1 \le R, C \le 1000$
""",
        [
            {"input": "4 5\n##..#\n#...#\n..#..\n...##\n", "output": "4\n"},
            {"input": "3 3\n...\n...\n...\n", "output": "0\n"},
            {"input": "3 4\n#.#.\n.#.#\n#.#.\n", "output": "6\n"},
        ],
        tags=["graphs", "breadth-first search"], difficulty=2,
    ),
    _programming(
        "demo-104", "Cheapest route between two towns",
        r"""
There are $n$ towns numbered $1$ to $n$ and $m$ two-way roads; road $i$ joins towns $u_i$ and
$v_i$ and costs $w_i$ to use. Find the minimum total cost of travelling from town $1$ to
town $n$, or print `-1` if town $n$ cannot be reached.

### Input

The first line contains $n$ and $m$. Each of the next $m$ lines contains $u_i$, $v_i$, $w_i$.

### Output

One integer: the minimum cost, or `-1`.

### Constraints

- $2 \le n \le 10^5$, $0 \le m \le 2 \cdot 10^5$
- $1 \le u_i, v_i \le n$, $1 \le w_i \le 10^9$
""",
        [
            {"input": "5 6\n1 2 4\n1 3 1\n3 2 2\n2 5 5\n3 4 8\n4 5 1\n", "output": "8\n"},
            {"input": "4 2\n1 2 3\n3 4 1\n", "output": "-1\n"},
            {"input": "3 3\n1 3 1000000000\n1 2 1000000000\n2 3 1\n",
             "output": "1000000000\n"},
        ],
        tags=["graphs", "shortest paths"], difficulty=3,
    ),
    _programming(
        "demo-105", "Fixing brackets",
        r"""
You are given a string of round brackets `(` and `)`. Find the minimum number of
brackets that must be **inserted** (anywhere) to make it a balanced bracket sequence.

### Input

One line with the string $s$.

### Output

One integer: the minimum number of insertions.

### Constraints

- $1 \le |s| \le 10^6$
""",
        [
            {"input": "())(\n", "output": "2\n"},
            {"input": "(()())\n", "output": "0\n"},
            {"input": ")))(((\n", "output": "6\n"},
        ],
        tags=["greedy", "strings"], difficulty=2,
    ),
    _programming(
        "demo-106", "Ways to pay an amount",
        r"""
A shop accepts coins of $k$ different values, with unlimited coins of each value. In how
many ways can exactly $S$ be paid? Two ways are the same if they use the same number of
coins of each value (order does not matter). Print the answer modulo $10^9 + 7$.

### Input

The first line contains $k$ and $S$. The second line contains the $k$ distinct coin
values.

### Output

One integer: the number of ways modulo $10^9 + 7$.

### Constraints

- $1 \le k \le 100$, $1 \le S \le 10^5$
- $1 \le c_i \le 10^5$
""",
        [
            {"input": "3 5\n1 2 5\n", "output": "4\n"},
            {"input": "2 3\n2 4\n", "output": "0\n"},
            {"input": "4 100\n1 5 10 25\n", "output": "242\n"},
        ],
        tags=["dynamic programming"], difficulty=3,
    ),
    _programming(
        "demo-107", "Longest palindromic substring",
        r"""
Given a string $s$ of lowercase letters, print the length of its longest substring
(contiguous) that reads the same forwards and backwards.

### Input

One line with $s$.

### Output

One integer: the length of the longest palindromic substring.

### Constraints

- $1 \le |s| \le 5000$
""",
        [
            {"input": "abacdfgdcabba\n", "output": "4\n"},
            {"input": "x\n", "output": "1\n"},
            {"input": "forgeeksskeegfor\n", "output": "10\n"},
        ],
        tags=["strings", "dynamic programming"], difficulty=3,
    ),
    _programming(
        "demo-108", "Booking the hall",
        r"""
The school hall received $n$ booking requests; request $i$ wants the hall from time
$s_i$ until time $e_i$ (the interval $[s_i, e_i)$, so one booking may start exactly when
another ends). Accept as many requests as possible without overlaps, and print how many.

### Input

The first line contains $n$. Each of the next $n$ lines contains $s_i$ and $e_i$.

### Output

One integer: the maximum number of requests that can be accepted.

### Constraints

- $1 \le n \le 2 \cdot 10^5$
- $0 \le s_i < e_i \le 10^9$
""",
        [
            {"input": "5\n1 4\n3 5\n0 6\n5 7\n8 9\n", "output": "3\n"},
            {"input": "3\n1 2\n2 3\n3 4\n", "output": "3\n"},
            {"input": "4\n0 10\n1 3\n2 4\n3 5\n", "output": "2\n"},
        ],
        tags=["greedy", "sorting"], difficulty=2,
    ),
    _programming(
        "demo-109", "Pairs with a target sum",
        r"""
Given $n$ integers and a target $K$, count the pairs of positions $i < j$ with
$a_i + a_j = K$.

### Input

The first line contains $n$ and $K$. The second line contains $a_1, \dots, a_n$.

### Output

One integer: the number of pairs (it may not fit in 32 bits).

### Constraints

- $1 \le n \le 2 \cdot 10^5$
- $-10^9 \le a_i, K \le 10^9$
""",
        [
            {"input": "6 7\n1 6 3 4 6 5\n", "output": "3\n"},
            {"input": "5 4\n2 2 2 2 2\n", "output": "10\n"},
            {"input": "3 0\n1 2 3\n", "output": "0\n"},
        ],
        tags=["hashing", "counting"], difficulty=2,
    ),
    _programming(
        "demo-110", "Packing a rucksack",
        r"""
You have $n$ items; item $i$ weighs $w_i$ and is worth $v_i$. Choose some items (each at
most once) with total weight at most $W$ and maximum total value. Print that value.

### Input

The first line contains $n$ and $W$. Each of the next $n$ lines contains $w_i$ and $v_i$.

### Output

One integer: the maximum total value.

### Constraints

- $1 \le n \le 100$, $1 \le W \le 10^5$
- $1 \le w_i \le W$, $1 \le v_i \le 10^9$
""",
        [
            {"input": "4 7\n1 1\n3 4\n4 5\n5 7\n", "output": "9\n"},
            {"input": "3 5\n6 10\n7 20\n8 30\n", "output": "0\n"},
            {"input": "3 10\n5 1000000000\n5 1000000000\n1 1\n",
             "output": "2000000000\n"},
        ],
        tags=["dynamic programming"], difficulty=3,
    ),
    _programming(
        "demo-111", "Course order",
        r"""
There are $n$ courses numbered $1$ to $n$ and $m$ prerequisites; a line `a b` means course
$a$ must be taken before course $b$. Print an order in which all courses can be taken,
choosing the **lexicographically smallest** such order. If no order exists, print
`IMPOSSIBLE`.

### Input

The first line contains $n$ and $m$. Each of the next $m$ lines contains $a$ and $b$.

### Output

The $n$ course numbers separated by spaces, or `IMPOSSIBLE`.

### Constraints

- $1 \le n \le 10^5$, $0 \le m \le 2 \cdot 10^5$
""",
        [
            {"input": "5 4\n3 1\n1 2\n5 2\n4 5\n", "output": "3 1 4 5 2\n"},
            {"input": "3 3\n1 2\n2 3\n3 1\n", "output": "IMPOSSIBLE\n"},
            {"input": "4 0\n", "output": "1 2 3 4\n"},
        ],
        tags=["graphs", "topological sort"], difficulty=4,
    ),
    _programming(
        "demo-112", "Run-length encoding",
        r"""
Compress a string by replacing every maximal run of equal letters by the letter followed
by the length of the run. For example `aaabcc` becomes `a3b1c2`.

### Input

One line with a string $s$ of lowercase letters.

### Output

The encoded string.

### Constraints

- $1 \le |s| \le 10^6$
""",
        [
            {"input": "aaabcc\n", "output": "a3b1c2\n"},
            {"input": "z\n", "output": "z1\n"},
            {"input": "aaaaaaaaaaaab\n", "output": "a12b1\n"},
        ],
        tags=["strings"], difficulty=1, status=DRAFT,
    ),
]

PROBLEMS = MATHS_PROBLEMS + PROGRAMMING_PROBLEMS


# --- Prompt templates --------------------------------------------------------------------

MATHS_TEMPLATE_NAME = "Maths — step by step (VibeThinker)"
PROGRAMMING_TEMPLATE_NAME = "Programming — Python solution"

TEMPLATES = [
    {
        "name": MATHS_TEMPLATE_NAME,
        "kind": "maths",
        "description": (
            "VibeThinker-1.5B's model card: no system prompt, the problem followed by the "
            "request to reason step by step and box the final answer, temperature 1.0 and "
            "top_p 0.95 for maths. 16,384 new tokens covers almost every competition "
            "solution (typical traces are a few thousand tokens) and caps one call on a "
            "single-GPU WEBUI (about 14 tokens a second) at roughly 20 minutes; raise it "
            "towards the card's 40,960 for olympiad problems whose answers get cut off. "
            "4 samples per problem: at temperature 1.0 answers vary, and a majority of 4 "
            "checked against the reference answer means something where 1 sample does not. "
            "The cost is 4 calls per problem (a WEBUI answers one at a time, so about 20 "
            "minutes per problem at a typical length); choose fewer samples when starting a "
            "large batch on a WEBUI, more on a batching server such as vLLM."
        ),
        "system_prompt": "",
        "user_prompt": (
            "{statement}\n\n"
            "Please reason step by step, and put your final answer within \\boxed{}."
        ),
        "temperature": 1.0,
        "top_p": 0.95,
        "max_new_tokens": 16384,
        "repetition_penalty": 1.0,
        "samples": 4,
    },
    {
        "name": PROGRAMMING_TEMPLATE_NAME,
        "kind": "programming",
        "description": (
            "The model card's setting for code: temperature 0.6, top_p 0.95. It asks for "
            "the reasoning first and then one Python program reading standard input, so the "
            "program can be run against the problem's test cases. One sample: a program is "
            "checked by its tests, not by a vote."
        ),
        "system_prompt": "",
        "user_prompt": (
            "Solve the following programming problem.\n\n"
            "{statement}\n\n"
            "First explain your reasoning and the algorithm you will use, including why it "
            "is fast enough for the constraints. Then give the complete solution as a "
            "single Python 3 program in one ```python code block. The program must read the "
            "input from standard input and print the answer to standard output in exactly "
            "the format described."
        ),
        "temperature": 0.6,
        "top_p": 0.95,
        "max_new_tokens": 16384,
        "repetition_penalty": 1.0,
        "samples": 1,
    },
]

STANDIN_ENDPOINT_NAME = "stand-in (no model)"
WEBUI_ENDPOINT_NAME = "VibeThinker WEBUI"

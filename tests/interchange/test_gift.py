import pytest

from questionbank.interchange import ProblemData, gift, parse_file

MB = 10 * 1024 * 1024


def _parse(data: bytes):
    return parse_file(data, filename="questions.gift", max_bytes=MB)


def test_fixture_reads_every_supported_type(fixture_bytes):
    result = _parse(fixture_bytes("questions.gift"))
    by_title = {p.title: p for p in result.problems}
    assert list(by_title) == ["Adding fractions", "Decimal", "Half of pi", "Explain", "Intro",
                              "Capital"]
    fractions = by_title["Adding fractions"]
    assert fractions.statement == (
        "Work out \\(\\frac{1}{3} + \\frac{1}{6}\\) and simplify."
    )
    assert fractions.reference_answer == "1/2"
    assert fractions.external_id == "FR-1"
    assert fractions.tags == ["Number/Fractions", "homework"]
    assert fractions.solution == (
        "Common denominator 6: \\(\\frac{2}{6}+\\frac{1}{6}=\\frac{3}{6}=\\frac{1}{2}\\)."
    )
    assert by_title["Decimal"].reference_answer == "25"
    assert by_title["Half of pi"].reference_answer == "1.571"
    assert any("tolerance" in w for w in by_title["Half of pi"].warnings)
    explain = by_title["Explain"]
    # \n is a newline, but \neq stays TeX
    assert explain.statement == ("Explain why \\(x \\neq 0\\) is needed when dividing by "
                                 "\\(x\\).\n\nUse **one** example.")
    assert explain.reference_answer is None  # the file gives none: never blanks one
    assert by_title["Intro"].statement == "Fractions & decimals are two ways of writing the " \
        "same number."
    capital = by_title["Capital"]
    assert capital.statement == "The capital of France is _____ and it is on the Seine."
    assert capital.reference_answer == "Paris"
    assert all(p.tags[0] == "Number/Fractions" for p in result.problems)


def test_unsupported_and_broken_questions_are_reported_with_line_numbers(fixture_bytes):
    result = _parse(fixture_bytes("questions.gift"))
    errors = [(e.label, e.title, e.reason) for e in result.errors]
    assert len(errors) == 3
    assert errors[0][0] == "Question 7 (line 19)" and "true/false" in errors[0][2]
    assert errors[1][0] == "Question 8 (line 21)" and "multiple-choice" in errors[1][2]
    assert errors[2][0] == "Question 9 (line 23)" and "never closed" in errors[2][2]


@pytest.mark.parametrize("text", [
    "plain", "a = b", "{x}", "\\frac{1}{2} \\neq 3", "colon: hash# tilde~", "a\\b\\\\c",
    "line one\nline two\n\npara", "x \\(\\{1,2\\}\\)",
])
def test_escape_round_trips(text):
    assert gift.unescape(gift.escape(text)) == text


def test_written_gift_reads_back_the_same():
    problems = [
        ProblemData(number=1, label="1", title="Numeric: one", statement="What is $6 \\times 7$?",
                    kind="maths", reference_answer="42", tags=["Arithmetic", "x: y"],
                    difficulty=1, source="Book", language="en", external_id="n-1",
                    solution="Six sevens are **42**.\n\n$$6\\cdot 7 = 42$$"),
        ProblemData(number=2, label="2", title="Code {braces}", kind="programming",
                    statement="Write `f(x)` returning x = 2.\n\n```python\nprint({})\n```",
                    reference_answer="def f(x): return 2", difficulty=4, language="en",
                    source="", test_cases=[{"input": "1", "output": "2"}], tags=[]),
        ProblemData(number=3, label="3", title="Short", statement="Name ~ the ~ set.",
                    kind="maths", reference_answer="\\{1, 2\\}", tags=[], difficulty=3,
                    language="fr", source=""),
    ]
    back = gift.parse(gift.write(problems))
    assert not back.errors
    for original, read in zip(problems, back.problems, strict=True):
        for name in ("title", "statement", "kind", "reference_answer", "tags", "difficulty",
                     "external_id", "solution"):
            assert getattr(read, name) == getattr(original, name), name
        assert (read.test_cases or []) == (original.test_cases or [])
        assert (read.source or "") == (original.source or "")
        assert (read.language or "en") == (original.language or "en")

import pytest

from questionbank.interchange import FileRefused, moodle_xml, parse_file
from questionbank.interchange.moodle_xml import category_tag

MB = 10 * 1024 * 1024


def _parse(data: bytes):
    return parse_file(data, filename="quiz.xml", max_bytes=MB)


def test_fixture_reads_every_supported_type(fixture_bytes):
    result = _parse(fixture_bytes("moodle_quiz.xml"))
    titles = [p.title for p in result.problems]
    assert titles == ["Completing the square", "Sum of the roots", "Area of a circle",
                      "About circles"]
    essay, short, numerical, description = result.problems
    assert essay.statement == (
        "Show that \\(x^2 + 6x + 5 = (x+3)^2 - 4\\) and hence solve \\(x^2 + 6x + 5 = 0\\)."
        "\n\nExplain each step & state the roots."
    )
    assert essay.reference_answer is None  # the file gives none: never blanks one
    assert essay.external_id == "ALG-Q-001"
    assert essay.tags == ["Algebra/Quadratics", "year 11"]
    assert essay.solution.startswith("Half of 6 is 3, so \\((x+3)^2 = x^2 + 6x + 9\\)")
    assert "\\(x + 3 = \\pm 2\\)" in essay.solution

    assert short.reference_answer == "7/2"  # the 100% answer, not the 50% one
    assert "`7/2`" in short.statement
    assert short.tags == ["Algebra/Quadratics"]
    assert any("parabola sketch.png" in w for w in short.warnings)
    assert "not imported" in short.statement

    assert numerical.reference_answer == "12.57"
    assert numerical.tags == ["Geometry"]
    assert any("tolerance" in w for w in numerical.warnings)
    # entities decoded, maths untouched, &nbsp; a plain space
    assert "$$A = \\pi r^2.$$" in numerical.statement
    assert "3 < π < 4 — “close enough” isn’t." in numerical.statement
    assert "radius 2\xa0cm" in numerical.statement or "radius 2 cm" in numerical.statement
    assert "12.57\\) cm\\(^{2}\\)" in numerical.solution

    # escaped HTML (no CDATA) is decoded once by XML, then converted
    assert description.statement == (
        "The next questions use **radians**, where \\(2\\pi\\) rad = 360°."
    )


def test_unsupported_and_empty_questions_are_reported_with_their_number(fixture_bytes):
    result = _parse(fixture_bytes("moodle_quiz.xml"))
    errors = {e.number: e for e in result.errors}
    assert set(errors) == {5, 6}
    assert errors[5].label == "Question 5"
    assert "multichoice" in errors[5].reason and errors[5].title == "Which is prime?"
    assert "statement is empty" in errors[6].reason


@pytest.mark.parametrize(("path", "tag"), [
    ("$course$/top/Algebra/Quadratics", "Algebra/Quadratics"),
    ("$course$/Algebra", "Algebra"),
    ("$system$/top", ""),
    ("$cat1$/top/Default for Year 9", "Default for Year 9"),
    ("Plain/Path", "Plain/Path"),
])
def test_category_paths_become_one_tag(path, tag):
    assert category_tag(path) == tag


def test_malformed_xml_is_refused_with_its_line():
    with pytest.raises(FileRefused, match=r"not well-formed XML \(line 3"):
        _parse(b"<?xml version='1.0'?>\n<quiz>\n<question type='essay'></quiz>")


def test_billion_laughs_is_refused():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<quiz><question type="essay"><name><text>&lol9;</text></name></question></quiz>"""
    with pytest.raises(FileRefused, match="DTD or entities"):
        _parse(data)


def test_external_entity_is_refused():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>x</text></name>
<questiontext><text>&xxe;</text></questiontext></question></quiz>"""
    with pytest.raises(FileRefused, match="DTD or entities"):
        _parse(data)


def test_external_dtd_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/q.dtd"><quiz/>'
    with pytest.raises(FileRefused, match="DTD"):
        _parse(data)


def test_wrong_root_is_refused():
    with pytest.raises(FileRefused, match="not a Moodle XML"):
        _parse(b"<html><body>hi</body></html>")


def test_shortanswer_without_correct_answer_is_a_row_error():
    data = b"""<quiz><question type="shortanswer"><name><text>No answer</text></name>
<questiontext format="html"><text>Solve it</text></questiontext>
<answer fraction="0"><text>1</text></answer></question></quiz>"""
    result = _parse(data)
    assert not result.problems
    assert "no correct answer" in result.errors[0].reason


def test_cdata_terminator_in_text_survives_a_write_and_read():
    from questionbank.interchange import ProblemData

    tricky = ProblemData(number=1, label="x", title="A ]]> B & <c>",
                         statement="Show `a[b[1]]>0` and \\(x<y\\) \x07bell", kind="maths",
                         reference_answer="", tags=[], external_id="id-1", solution="]]>")
    text = moodle_xml.write([tricky])
    back = moodle_xml.parse(text).problems[0]
    assert back.title == "A ]]> B & <c>"
    assert back.statement == "Show `a[b[1]]>0` and \\(x<y\\) bell"
    assert back.solution == "]]>"

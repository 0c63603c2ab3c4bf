import json

import pytest

from questionbank.interchange import FileRefused, ProblemData, parse_file, tabular

MB = 10 * 1024 * 1024


def _csv(text: str):
    return parse_file(text.encode(), filename="bank.csv", max_bytes=MB)


def test_csv_with_aliases_semicolons_and_quoted_newlines():
    result = _csv(
        'Question;Answer;Tags;Difficulty;ID\n'
        '"Solve \\(x^2=9\\);\nx>0.";3;"Algebra; Quadratics";easy;A1\n'
        '\n'
        'What is $2+2$?;4;;3;A2\n'
    )
    assert not result.errors
    first, second = result.problems
    assert first.statement == "Solve \\(x^2=9\\);\nx>0."
    assert first.title == "Solve x^2=9;"  # the statement's first line without maths markup
    assert first.reference_answer == "3" and first.tags == ["Algebra", "Quadratics"]
    assert first.difficulty == 2 and first.external_id == "A1"
    assert second.difficulty == 3 and second.tags == []
    assert second.label == "Line 5"  # the quoted newline made row 1 two lines long


def test_csv_row_errors_name_their_line():
    result = _csv(
        "title,statement,difficulty,kind,test_cases\n"
        "Fine,Compute 1+1.,2,maths,\n"
        "No text,,2,maths,\n"
        "Bad difficulty,Compute 2+2.,hardest,maths,\n"
        "Bad kind,Compute 3+3.,1,poetry,\n"
        "Bad cases,Write code.,1,programming,[{\"in\": 1}]\n"
        "Bad json,Write code.,1,programming,[oops\n"
        "Fine,Compute 1+1.,2,maths,\n"
    )
    assert [p.title for p in result.problems] == ["Fine"]
    reasons = {e.label: e.reason for e in result.errors}
    assert "statement is empty" in reasons["Line 3"]
    assert "difficulty “hardest”" in reasons["Line 4"]
    assert "kind “poetry”" in reasons["Line 5"]
    assert "The test cases (test_cases) must be a list" in reasons["Line 6"]
    assert "not valid JSON" in reasons["Line 7"]
    assert "duplicate of line 2" in reasons["Line 8"]


def test_csv_without_statement_column_is_refused():
    with pytest.raises(FileRefused, match="no statement column"):
        _csv("title,answer\nA,1\n")


def test_csv_too_many_cells_is_a_row_error():
    result = _csv("title,statement\nA,Compute 1,2 and 3.\n")
    assert "2 columns" in result.errors[0].reason


def test_json_list_and_errors():
    data = json.dumps([
        {"title": "One", "statement": "Compute $1+1$.", "tags": ["a", "b"], "difficulty": 5,
         "test_cases": [], "reference_answer": 2},
        "not an object",
        {"title": "Two"},
        {"statement": "Untitled problem text here", "external_id": 7},
    ]).encode()
    result = parse_file(data, filename="x.json", max_bytes=MB)
    assert [p.title for p in result.problems] == ["One", "Untitled problem text here"]
    assert result.problems[0].reference_answer == "2"
    assert result.problems[1].external_id == "7"
    assert [(e.label, e.reason) for e in result.errors] == [
        ("Item 2", "the item is not an object"),
        ("Item 3", "the statement is empty; every problem needs one"),
    ]


def test_invalid_json_is_refused_with_position():
    with pytest.raises(FileRefused, match="line 2, column"):
        parse_file(b'[\n{"title": }]', filename="x.json", max_bytes=MB)


def test_csv_formula_cells_are_defused_and_restored():
    problem = ProblemData(number=1, label="1", title="=HYPERLINK(\"http://x\")",
                          statement="+1 is positive", reference_answer="-3", tags=[],
                          kind="maths")
    text = tabular.write_csv([problem])
    assert "'=HYPERLINK" in text and "'+1 is" in text and ",-3," in text
    back = tabular.parse_csv(text).problems[0]
    assert back.title == problem.title and back.statement == problem.statement
    assert back.reference_answer == "-3"

"""File-level rules: size cap, encodings, format detection, duplicates."""

import pytest

from questionbank.interchange import FileRefused, parse_file
from questionbank.interchange.base import DIFFICULTIES, KINDS, STATUSES

CSV = 'title,statement\nÉquation,"Résoudre \\(x^2 = 4\\) où x est réel. Déjà vu, garçon."\n'


def test_oversize_file_is_refused_before_parsing():
    data = b"title,statement\n" + b"a,b\n" * 400
    with pytest.raises(FileRefused, match="over the 1 KB import limit.*QB_IMPORT_MAX_BYTES"):
        parse_file(data, filename="big.csv", max_bytes=1024)


def test_empty_file_is_refused():
    with pytest.raises(FileRefused, match="empty"):
        parse_file(b"  \n", filename="x.csv", max_bytes=10_000)


def test_utf8_with_bom_is_read():
    result = parse_file("\ufeff".encode() + CSV.encode(), filename="x.csv", max_bytes=10_000)
    assert result.problems[0].title == "Équation" and not result.notes


def test_latin1_is_detected_as_windows_1252_and_said_so():
    result = parse_file(CSV.encode("latin-1"), filename="x.csv", max_bytes=10_000)
    assert result.encoding == "cp1252"
    assert result.problems[0].statement.startswith("Résoudre")
    assert "Windows-1252" in result.notes[0] and "UTF-8" in result.notes[0]


def test_utf16_without_bom_is_detected():
    xml = ('<?xml version="1.0" encoding="UTF-16"?><quiz><question type="essay"><name>'
           "<text>Équation</text></name><questiontext format=\"html\"><text>Résoudre "
           "\\(x^2 = 4\\) où x ∈ ℝ, s'il vous plaît.</text></questiontext></question></quiz>")
    result = parse_file(xml.encode("utf-16-le"), filename="x.xml", max_bytes=100_000)
    assert result.encoding == "utf_16_le"
    assert result.problems[0].statement == "Résoudre \\(x^2 = 4\\) où x ∈ ℝ, s'il vous plaît."
    assert "UTF-16" in result.notes[0]


def test_utf16_with_bom_is_read_without_a_note():
    result = parse_file(CSV.encode("utf-16"), filename="x.csv", max_bytes=10_000)
    assert result.problems[0].title == "Équation" and not result.notes


def test_binary_file_is_refused():
    with pytest.raises(FileRefused, match="encoding could not be recognised"):
        parse_file(bytes(range(256)) * 8, filename="x.csv", max_bytes=100_000)


def test_spreadsheet_is_refused_with_advice():
    with pytest.raises(FileRefused, match="CSV UTF-8"):
        parse_file(b"PK\x03\x04" + bytes(range(200)), filename="bank.xlsx", max_bytes=100_000)


def test_unknown_format_is_refused():
    with pytest.raises(FileRefused, match="format could not be recognised"):
        parse_file(b"hello there", filename="notes", max_bytes=1000)


@pytest.mark.parametrize(("name", "head", "fmt"), [
    ("a.xml", "", "moodle"), ("a.gift", "", "gift"), ("a.txt", "", "gift"),
    ("a.csv", "", "csv"), ("a.json", "", "json"), ("upload", "<?xml", "moodle"),
    ("upload", "[{", "json"), ("upload", "::T::", "gift"),
])
def test_detect_format(name, head, fmt):
    from questionbank.interchange import detect_format

    assert detect_format(name, head) == fmt


def test_duplicate_rows_in_one_file_are_reported():
    data = (b"external_id,title,statement\n"
            b"x1,A,Compute 1.\n"
            b"x1,B,Compute 2.\n"
            b",A,Compute 1.\n")
    result = parse_file(data, filename="d.csv", max_bytes=10_000)
    assert [p.title for p in result.problems] == ["A"]
    assert [(e.label, e.reason) for e in result.errors] == [
        ("Line 3", "duplicate of line 2 (same external id); only the first is imported"),
        ("Line 4", "duplicate of line 2 (same title and statement); only the first is imported"),
    ]


def test_constants_match_the_model():
    from questionbank.models import Problem

    assert set(KINDS) == set(Problem.Kind.values)
    assert set(DIFFICULTIES) == set(Problem.Difficulty.values)
    assert set(STATUSES) == set(Problem.Status.values)


def test_cyrillic_code_page_is_detected_not_forced_to_1252():
    text = "title,statement\nУравнение,Решите уравнение x^2 = 4 для действительных чисел.\n" * 1
    result = parse_file(text.encode("cp1251"), filename="x.csv", max_bytes=10_000)
    assert result.encoding == "cp1251"
    assert result.problems[0].title == "Уравнение"


def test_xml_declared_encoding_is_honoured():
    xml = ('<?xml version="1.0" encoding="ISO-8859-1"?><quiz><question type="essay"><name>'
           "<text>Été</text></name><questiontext><text>Deux fois ½.</text></questiontext>"
           "</question></quiz>").encode("latin-1")
    result = parse_file(xml, filename="x.xml", max_bytes=10_000)
    assert result.encoding == "iso8859-1" and not result.notes
    assert result.problems[0].title == "Été" and result.problems[0].statement == "Deux fois ½."


def test_deeply_nested_json_is_refused():
    with pytest.raises(FileRefused, match="nested too deeply"):
        parse_file(b"[" * 200_000, filename="x.json", max_bytes=1_000_000)


def test_overlong_csv_cell_is_a_row_error():
    data = b"title,statement\nA,ok\nB," + b"x" * 200_000 + b"\nC,never read\n"
    result = parse_file(data, filename="x.csv", max_bytes=1_000_000)
    assert [p.title for p in result.problems] == ["A"]
    assert result.errors[0].label == "Line 3" and "longer than" in result.errors[0].reason

"""The import parsers' file-level guards at their exact edges: the size limit, its message,
empty files, and the XML entity and DTD refusals."""

from __future__ import annotations

import pytest

from questionbank.interchange import FileRefused, moodle_xml, parse_file
from questionbank.interchange.base import _size, check_size, decode_bytes

CSV = "title,statement\nT,Compute $1+1$.\n"
QUESTION = ("<question type=\"essay\"><name><text>Q</text></name><questiontext format=\"html\">"
            "<text>S</text></questiontext></question>")


def test_a_file_of_exactly_the_limit_is_read():
    data = CSV.encode()
    assert len(parse_file(data, filename="x.csv", max_bytes=len(data)).problems) == 1


def test_one_byte_over_the_limit_is_refused_with_both_sizes():
    data = CSV.encode()
    with pytest.raises(FileRefused) as info:
        parse_file(data, filename="x.csv", max_bytes=len(data) - 1)
    assert str(info.value) == (
        f"The file is {len(data)} bytes, over the {len(data) - 1} bytes import limit. Split it "
        "into smaller files and import them one after the other (a Moodle export with images "
        "is often this large: export without them, or a category at a time), or ask the "
        "administrator to raise the QB_IMPORT_MAX_BYTES setting.")


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1 KB"), (1536, "2 KB"),
     (1024 * 1024 - 1, "1024 KB"), (1024 * 1024, "1.0 MB"), (10 * 1024 * 1024, "10.0 MB"),
     (15 * 1024 * 1024 // 10, "1.5 MB"), (1000 * 1024 * 1024, "1000.0 MB")],
)
def test_sizes_are_written_for_people(n, text):
    assert _size(n) == text


def test_check_size_passes_at_the_limit():
    check_size(b"x" * 10, 10)
    with pytest.raises(FileRefused, match="^The file is 11 bytes, over the 10 bytes import limit"):
        check_size(b"x" * 11, 10)


@pytest.mark.parametrize("data", [b"", b" ", b"\n\t\r "])
def test_empty_files_are_refused(data):
    with pytest.raises(FileRefused, match=r"^The file is empty\.$"):
        parse_file(data, filename="x.csv", max_bytes=100)


def test_the_size_is_checked_before_anything_is_decoded():
    with pytest.raises(FileRefused, match="over the"):
        parse_file(b"\x00" * 200, filename="x.csv", max_bytes=100)


ENTITY_ATTACKS = {
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        f"<quiz>{QUESTION.replace('<text>S</text>', '<text>&c;</text>')}</quiz>"
    ),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"<quiz>{QUESTION.replace('<text>S</text>', '<text>&x;</text>')}</quiz>"
    ),
    "parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">'
        f"%p;]><quiz>{QUESTION}</quiz>"
    ),
    "bare doctype": f'<?xml version="1.0"?><!DOCTYPE quiz><quiz>{QUESTION}</quiz>',
    "external dtd": ('<?xml version="1.0"?><!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/q.dtd">'
                     f"<quiz>{QUESTION}</quiz>"),
}


@pytest.mark.parametrize("name", sorted(ENTITY_ATTACKS))
def test_dtds_and_entities_are_refused(name):
    with pytest.raises(FileRefused) as info:
        parse_file(ENTITY_ATTACKS[name].encode(), filename="x.xml", max_bytes=100_000)
    assert str(info.value).startswith(
        "The XML file declares a DTD or entities, which this importer refuses for safety")
    assert "<!DOCTYPE ...>" in str(info.value)


def test_the_same_file_without_a_dtd_is_read():
    result = parse_file(f"<quiz>{QUESTION}</quiz>".encode(), filename="x.xml",
                        max_bytes=100_000)
    assert [p.statement for p in result.problems] == ["S"]


def test_malformed_xml_names_the_line_and_column():
    with pytest.raises(FileRefused) as info:
        parse_file(b"<quiz>\n<question>\n</quiz>", filename="x.xml", max_bytes=1000)
    assert str(info.value).startswith("The file is not well-formed XML (line 3, column 2: "
                                      "mismatched tag)")


def test_the_root_must_be_quiz():
    with pytest.raises(FileRefused, match=r"root element is <html>, not <quiz>"):
        parse_file(b"<html></html>", filename="x.xml", max_bytes=1000)


def test_an_explicit_format_wins_over_the_name():
    assert parse_file(CSV.encode(), filename="x.json", format="csv",
                      max_bytes=1000).format == "csv"
    with pytest.raises(FileRefused, match="could not be recognised"):
        parse_file(CSV.encode(), filename="x.csv", format="docx", max_bytes=1000)


@pytest.mark.parametrize("data", [b"a\x00b,c\n" * 20, b"\x00\x01\x02\x03" * 50])
def test_bytes_with_nul_that_are_not_utf16_are_refused(data):
    with pytest.raises(FileRefused, match="not text this importer can read"):
        decode_bytes(data + b"\xff")


def test_a_declared_but_unknown_xml_encoding_falls_back_to_detection():
    data = '<?xml version="1.0" encoding="no-such-codec"?><quiz/>'.encode("cp1252") + b"\xe9"
    text, encoding, note = decode_bytes(data)
    assert text.endswith("é") and encoding == "cp1252" and note


# --- Every refusal and note is the exact sentence the teacher reads ---------------------------

BINARY = ("The file is not text this importer can read (its encoding could not be recognised). "
          "Save it as UTF-8 text — Moodle XML, GIFT, CSV or JSON — and upload it again.")


def test_a_spreadsheet_is_refused_with_the_exact_advice():
    with pytest.raises(FileRefused) as info:
        decode_bytes(b"PK\x03\x04" + bytes(range(128, 256)))
    assert str(info.value) == ("This looks like a spreadsheet or other zipped file (.xlsx, .ods, "
                               ".zip). Save the sheet as “CSV UTF-8” and upload that instead.")


def test_binary_bytes_are_refused_with_the_exact_sentence():
    with pytest.raises(FileRefused) as info:
        decode_bytes(bytes(range(256)) * 8)
    assert str(info.value) == BINARY


def test_latin_text_with_a_nul_byte_is_refused():
    with pytest.raises(FileRefused) as info:
        decode_bytes("Le café est très chaud, n'est-ce pas ? ".encode("cp1252") * 20 + b"\x00")
    assert str(info.value) == BINARY


def test_an_unknown_format_is_refused_with_the_exact_sentence():
    with pytest.raises(FileRefused) as info:
        parse_file(b"hello there", filename="notes", max_bytes=1000)
    assert str(info.value) == (
        "The file's format could not be recognised from its name or content. Choose the format "
        "(Moodle XML, GIFT, CSV or JSON) and upload it again.")


def test_the_guessed_encoding_note_is_exact_and_comes_first():
    data = "title,statement,café\nT,Déjà vu,x\n".encode("cp1252")
    result = parse_file(data, filename="x.csv", max_bytes=1000)
    assert result.encoding == "cp1252"
    assert result.notes[0] == (
        "The file is not UTF-8; it was read as Windows-1252 (Western European). Check that "
        "accented letters look right in the preview; if they do not, save the file as UTF-8 and "
        "upload it again.")
    assert len(result.notes) == 2


def test_an_encoding_without_a_friendly_name_is_named_as_is():
    text, encoding, note = decode_bytes("Привет, как дела? Это тест. ".encode("cp1251") * 10)
    assert encoding == "cp1251" and text.startswith("Привет")
    assert note.startswith("The file is not UTF-8; it was read as CP1251. Check that")


@pytest.mark.parametrize(("text", "codec"), [("é", "utf-8-sig"), ("é", "utf-16"),
                                              ("é", "utf-32")])
def test_a_bom_names_the_encoding_without_its_suffix(text, codec):
    assert decode_bytes(text.encode(codec)) == (text, codec.replace("-sig", ""), None)


def test_plain_utf8_is_named_utf8():
    assert decode_bytes("é".encode()) == ("é", "utf-8", None)


def test_a_bom_followed_by_bytes_it_cannot_decode_falls_back_to_detection():
    text, encoding, note = decode_bytes(b"\xef\xbb\xbf" + "Déjà vu, café. ".encode("cp1252") * 5)
    assert encoding == "cp1252" and note and text.endswith("café. ")


def test_each_format_reaches_its_parser():
    gift = parse_file(b"::T:: What is $1+1$? {=2}\n", filename="q.gift", max_bytes=1000)
    assert gift.format == "gift" and [p.title for p in gift.problems] == ["T"]
    json = parse_file(b'[{"title": "J", "statement": "S"}]', filename="q.json", max_bytes=1000)
    assert json.format == "json" and [p.title for p in json.problems] == ["J"]
    xml = parse_file(f"<quiz>{QUESTION}</quiz>".encode(), filename="q.xml", max_bytes=10_000)
    assert xml.format == "moodle"


def test_moodle_xml_text_may_start_with_a_byte_order_mark():
    result = moodle_xml.parse(f"\ufeff<quiz>{QUESTION}</quiz>")
    assert result.format == "moodle" and [p.title for p in result.problems] == ["Q"]

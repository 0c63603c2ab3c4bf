"""Issue 15: what moving a real Moodle bank in used to lose. One small hand-made file per
defect (tests/interchange/fixtures/issue15/), asserting the exact text, reference answer
and warnings the parser gives. The database side is in tests/services/test_interchange.py.
"""

from pathlib import Path

import pytest

from questionbank.interchange import gift, moodle_xml, parse_file, tabular, write
from questionbank.interchange.html_markdown import html_to_markdown, math_regions, text_lost
from questionbank.interchange.multilang import keep as keep_language

FIXTURES = Path(__file__).parent / "fixtures" / "issue15"


def _parse(name: str, **kwargs):
    return parse_file((FIXTURES / name).read_bytes(), filename=name, max_bytes=100_000,
                      **kwargs)


# 1. Reference answers: never blank, read from <graderinfo> ------------------------------------

def test_essay_and_description_give_no_reference_answer_and_graderinfo_is_read():
    result = _parse("essay_reference.xml")
    explained, proof, about = result.problems
    assert explained.reference_answer == "x = 2"  # from "<p>Reference answer: x = 2</p>"
    assert explained.warnings == []
    assert proof.reference_answer is None  # empty grader information: the file says nothing
    assert about.reference_answer is None and about.question_type == "description"
    assert "reference_answer" not in proof.problem_fields()
    assert "reference_answer" not in about.problem_fields()


def test_an_empty_reference_cell_gives_no_value():
    result = parse_file(b"title,statement,reference_answer,test_cases\nT,S,,\n",
                        filename="x.csv", max_bytes=10_000)
    fields = result.problems[0].problem_fields()
    assert "reference_answer" not in fields and "test_cases" not in fields


# 2. Idnumbers are scoped by category ----------------------------------------------------------

def test_one_idnumber_in_two_categories_of_one_file_is_two_questions():
    xml = (FIXTURES / "plant_botany.xml").read_text().replace("</quiz>", "") + "\n".join(
        (FIXTURES / "plant_chemistry.xml").read_text().splitlines()[2:])
    result = parse_file(xml.encode(), filename="x.xml", max_bytes=100_000)
    assert result.errors == []
    assert [(p.category, p.external_id, p.title) for p in result.problems] == [
        ("Botany", "plant", "Parts of a plant"), ("Chemistry", "plant", "Power plant fuel")]
    assert result.problems[0].problem_fields()["external_category"] == "Botany"


def test_one_idnumber_twice_in_one_category_is_still_a_duplicate():
    xml = (FIXTURES / "plant_botany.xml").read_text().replace("</quiz>", "") + "\n".join(
        (FIXTURES / "plant_reused_in_botany.xml").read_text().splitlines()[3:])
    result = parse_file(xml.encode(), filename="x.xml", max_bytes=100_000)
    assert [p.title for p in result.problems] == ["Parts of a plant"]
    assert result.errors[0].reason.startswith("duplicate of question 1 (same external id)")


# 3. A raw < inside maths in HTML --------------------------------------------------------------

def test_raw_less_than_inside_maths_is_kept():
    problem = _parse("maths_lt.gift").problems[0]
    assert problem.statement == "Is \\(x<y\\) true for all reals?"
    assert problem.warnings == []


def test_raw_less_than_outside_maths_is_text_and_real_tags_still_work():
    markdown, _ = html_to_markdown("<p>Is x <y and a<3? <b>Yes</b> \\(a<b\\) and \\[c<d\\]</p>")
    assert markdown == "Is x <y and a<3? **Yes** \\(a<b\\) and \\[c<d\\]"


def test_text_cut_off_by_a_conversion_is_a_warning():
    assert text_lost("<p>Is \\(x<y\\) true for all reals?</p>", "Is \\(x")
    assert not text_lost("<p>Is <b>x</b> &lt; 3?</p>", "Is **x** < 3?")
    warnings: list[str] = []
    moodle_xml.rich_html("<p>kept</p><script>dropped</script>", warnings, "question text")
    assert warnings == []


# 4. Plain text is escaped for Markdown --------------------------------------------------------

def test_gift_default_and_plain_formats_are_escaped():
    product, plain = _parse("plain_text.gift").problems
    assert product.statement == "Compute 2\\*3\\*4 and name the \\_blank\\_ cell."
    assert product.reference_answer == "24"
    assert plain.statement == "\\# of apples: 3\\*4 = 12, costs \\$5"


def test_moodle_plain_text_is_escaped():
    problem = _parse("plain_text.xml").problems[0]
    assert problem.statement == "Compute 2\\*3\\*4.\n1\\. Show each step."


def test_gift_markdown_format_is_kept_as_written():
    result = parse_file(b"::M::[markdown]Compute *x* and $y${}\n", filename="x.gift",
                        max_bytes=1000)
    assert result.problems[0].statement == "Compute *x* and $y$"


# 5. Encodings ---------------------------------------------------------------------------------

def test_windows_1252_with_only_an_i_diaeresis_is_read():
    result = _parse("naive_cp1252.gift")
    assert result.encoding == "cp1252"
    assert result.problems[0].title == "Naïve sets"
    assert result.problems[0].statement == "What is a naïve set?"
    assert "read as Windows-1252 (Western European)" in result.notes[0]


def test_windows_1252_german_is_not_read_as_a_baltic_code_page():
    result = _parse("fur_cp1252.csv")
    assert result.encoding == "cp1252"
    assert result.problems[0].statement == "Rechne für alle x: 2x = 4."


def test_valid_utf8_is_never_second_guessed():
    result = parse_file("title,statement\nFür,x\n".encode(), filename="x.csv", max_bytes=1000)
    assert result.encoding == "utf-8" and result.notes == []


# 6. Multilang ---------------------------------------------------------------------------------

def test_multilang_keeps_the_site_language_and_says_so():
    result = _parse("multilang.xml", site_language="en-gb")
    capital, only = result.problems
    assert result.languages == ["en", "fi", "de"] and result.language == "en"
    assert capital.title == "Capital"
    assert capital.statement == "What is the capital of Finland?"
    assert capital.language == "en"
    assert only.statement == "Explain **why**."
    assert "several languages (en, fi, de); only “en” was kept" in result.notes[0]


def test_multilang_another_language_can_be_picked():
    result = _parse("multilang.xml", language="fi")
    capital, only = result.problems
    assert capital.title == "Pääkaupunki"
    assert capital.statement == "Mikä on Suomen pääkaupunki?"
    assert capital.language == "fi"
    # Not translated into Finnish: the text's first language, not nothing.
    assert only.statement == "Explain **why**."


def test_multilang_without_the_site_language_keeps_the_first():
    result = _parse("multilang.xml", site_language="sv")
    assert result.language == "en"


# 7. Tables ------------------------------------------------------------------------------------

def test_html_table_becomes_a_markdown_table():
    problem = _parse("table.xml").problems[0]
    assert problem.statement == (
        "Use the table.\n\n"
        "| x | f(x) |\n| --- | --- |\n| 1 | \\(\\vert x-3\\vert \\) |\n| 2 | a \\| b |\n\n"
        "What is f(1)?"
    )


def test_table_without_header_cells_gets_an_empty_header_row():
    markdown, _ = html_to_markdown("<table><tr><td>a</td><td>b</td></tr></table>")
    assert markdown == "|  |  |\n| --- | --- |\n| a | b |"


# 8. Dropped parts are kept or named -----------------------------------------------------------

def test_gift_alternative_answers_are_kept_and_partial_credit_named():
    four, pi = _parse("dropped_parts.gift").problems
    assert four.reference_answer == "four" and four.accepted_answers == ["4"]
    assert four.warnings == ["the feedback given for an answer was not imported.",
                             "answers with partial credit were not kept: “three” (50 %)."]
    assert pi.reference_answer == "3.14" and pi.accepted_answers == []
    assert pi.warnings == ["answers with partial credit were not kept: “3” (50 %).",
                           "numerical tolerance ±0.005 was not kept."]


def test_moodle_dropped_parts_are_named_per_question():
    circle, induction, nearly = _parse("dropped_parts.xml").problems
    assert circle.reference_answer == "12.57"
    assert circle.warnings == [
        "the feedback given for each answer was not imported.",
        "numerical tolerance ±0.01 was not kept.",
        "units were not kept: cm².",
        "1 hint was not imported (the bank has no place for hints).",
    ]
    assert induction.reference_answer is None
    assert induction.warnings == [
        "the information for graders was not imported: “Full marks need the base case and "
        "the step.”",
        "the response template was not imported.",
    ]
    assert nearly.reference_answer == "11"
    assert nearly.warnings == ["the best answer, “11”, is worth only 90 %; it was kept as the "
                               "reference answer."]


def test_moodle_alternative_full_mark_answers_are_accepted_answers():
    xml = ('<quiz><question type="shortanswer"><name><text>Legs</text></name>'
           '<questiontext format="html"><text>How many legs?</text></questiontext>'
           '<answer fraction="100"><text>four</text></answer>'
           '<answer fraction="100"><text>4</text></answer></question></quiz>')
    problem = moodle_xml.parse(xml).problems[0]
    assert (problem.reference_answer, problem.accepted_answers) == ("four", ["4"])


@pytest.mark.parametrize("fmt", ["moodle", "gift", "csv", "json"])
def test_accepted_answers_survive_a_round_trip(fmt):
    four = _parse("dropped_parts.gift").problems[0]
    four.warnings = []
    back = parse_file(write([four], format=fmt).encode(), format=fmt, max_bytes=100_000)
    assert (back.problems[0].reference_answer, back.problems[0].accepted_answers) == \
        ("four", ["4"])


def test_essay_reference_and_alternatives_survive_moodle_without_our_extension():
    problem = _parse("essay_reference.xml").problems[0]
    problem.accepted_answers = ["2"]
    text = write([problem], format="moodle")
    start, end = text.index("<questionbank>"), text.index("</questionbank>")
    stripped = text[:start] + text[end + len("</questionbank>"):]  # what Moodle gives back
    back = moodle_xml.parse(stripped).problems[0]
    assert (back.reference_answer, back.accepted_answers) == ("x = 2", ["2"])
    assert back.category == "Algebra"  # the category pseudo-question was written


# 10. CSV apostrophes --------------------------------------------------------------------------

def test_a_hand_written_leading_apostrophe_is_kept():
    problem = _parse("apostrophe.csv").problems[0]
    assert problem.statement == "'=' is the assignment operator in Python. What does it do?"


def test_our_export_guard_is_removed_and_an_apostrophe_of_the_text_survives():
    first = _parse("apostrophe.csv").problems[0]
    second = tabular.parse_csv("title,statement\nF,=SUM(A1:A2) is a formula\n").problems[0]
    text = tabular.write_csv([first, second])
    assert "''=' is the assignment" in text and "'=SUM(A1:A2)" in text
    back = tabular.parse_csv(text).problems
    assert back[0].statement == "'=' is the assignment operator in Python. What does it do?"
    assert back[1].statement == "=SUM(A1:A2) is a formula"


# 11. Minor ------------------------------------------------------------------------------------

def test_gift_does_not_split_lines_on_u2028():
    result = _parse("u2028.gift")
    assert len(result.problems) == 1 and result.errors == []
    assert result.problems[0].statement == "First line\u2028second line of the same paragraph."
    again = gift.parse(gift.write(result.problems))
    assert [p.statement for p in again.problems] == [result.problems[0].statement]


def test_description_exports_as_a_description():
    about = _parse("essay_reference.xml").problems[2]
    xml = write([about], format="moodle")
    assert '<question type="description">' in xml and "<defaultgrade>0</defaultgrade>" in xml
    assert moodle_xml.parse(xml).problems[0].question_type == "description"
    text = write([about], format="gift")
    assert "::About this quiz::[markdown]The next questions are about roots.\n" in text
    assert gift.parse(text).problems[0].question_type == "description"


def test_gift_mlang_blocks_with_escaped_braces_keep_one_language():
    text = ("::\\{mlang en\\}Capital\\{mlang\\}\\{mlang fi\\}Pääkaupunki\\{mlang\\}::"
            "\\{mlang en\\}Capital of Finland?\\{mlang\\}\\{mlang fi\\}Suomen pääkaupunki?"
            "\\{mlang\\} {=Helsinki}\n")
    english = parse_file(text.encode(), filename="x.gift", max_bytes=1000)
    assert english.languages == ["en", "fi"]
    assert (english.problems[0].title, english.problems[0].statement) == (
        "Capital", "Capital of Finland?")
    finnish = parse_file(text.encode(), filename="x.gift", max_bytes=1000, language="fi")
    assert (finnish.problems[0].title, finnish.problems[0].statement) == (
        "Pääkaupunki", "Suomen pääkaupunki?")


def test_maths_regions_pair_each_opener_with_the_next_closer_of_its_kind():
    text = "a \\(x<y\\) b \\( never closed \\[p<q\\] $$r<s$$ \\)"
    spans = [text[start:end] for start, end in math_regions(text)]
    # The unclosed "\(" pairs with the last "\)", as the old lazy regex did.
    assert spans == ["\\(x<y\\)", "\\( never closed \\[p<q\\] $$r<s$$ \\)"]
    assert math_regions("\\(a \\[b\\]") == [(4, 9)]
    assert math_regions("$$ only one") == []


def test_unclosed_multilang_blocks_are_left_as_text():
    assert keep_language("{mlang en}Hi{mlang}{mlang fi}Hei{mlang} {mlang de}rest", "fi") == \
        "Hei {mlang de}rest"

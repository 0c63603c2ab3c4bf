"""Moodle XML ``parse`` at the details issue 20's mutation testing found unpinned: the BOM,
the refusals' exact sentences, the first category, numbering and multi-language names."""

from __future__ import annotations

import pytest

from questionbank.interchange import FileRefused, moodle_xml, parse_file

QUESTION = ('<question type="essay"><name><text>{name}</text></name>'
            '<questiontext format="html"><text>S</text></questiontext></question>')


def quiz(*questions: str) -> str:
    return '<?xml version="1.0"?><quiz>' + "".join(questions) + "</quiz>"


def test_a_byte_order_mark_before_the_declaration_is_skipped():
    result = moodle_xml.parse("\ufeff" + quiz(QUESTION.format(name="Q")))
    assert [p.title for p in result.problems] == ["Q"]


def test_a_dtd_is_refused_with_the_whole_sentence():
    with pytest.raises(FileRefused) as info:
        moodle_xml.parse('<?xml version="1.0"?><!DOCTYPE quiz><quiz></quiz>')
    assert str(info.value) == (
        "The XML file declares a DTD or entities, which this importer refuses for safety (they "
        "can expand to gigabytes or read files on the server). Export the questions from Moodle "
        "again, or remove the <!DOCTYPE ...> part.")


def test_another_root_element_is_refused_with_the_whole_sentence():
    with pytest.raises(FileRefused) as info:
        moodle_xml.parse("<html></html>")
    assert str(info.value) == ("The XML file's root element is <html>, not <quiz>: it is not a "
                               "Moodle XML question export.")


def test_questions_before_any_category_have_none_and_are_numbered():
    result = moodle_xml.parse(quiz(QUESTION.format(name="A"), QUESTION.format(name="B")))
    assert [(p.number, p.label, p.category) for p in result.problems] == [
        (1, "Question 1", ""), (2, "Question 2", "")]


@pytest.mark.parametrize(("attribute", "shown"), [("", "none"), (' type="Matching"', "matching")])
def test_an_unsupported_type_is_named_in_the_error(attribute, shown):
    result = moodle_xml.parse(quiz(f"<question{attribute}><name><text>N</text></name></question>"))
    (error,) = result.errors
    assert (error.number, error.label, error.title) == (1, "Question 1", "N")
    assert error.reason == (f"question type “{shown}” is not imported (supported: essay, "
                            "shortanswer, numerical, description)")


def test_multi_language_names_and_texts_keep_the_chosen_language():
    both = ('<span lang="en" class="multilang">Hello</span>'
            '<span lang="fr" class="multilang">Bonjour</span>')
    question = QUESTION.format(name=both.replace("<", "&lt;").replace(">", "&gt;"))
    question = question.replace("<text>S</text>", f"<text><![CDATA[{both}]]></text>")
    (problem,) = moodle_xml.parse(quiz(question), language="fr").problems
    assert problem.title == "Bonjour" and "Bonjour" in problem.statement
    assert "Hello" not in problem.statement


def _bilingual(languages=("en", "fr")) -> bytes:
    words = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}
    spans = "".join(f'<span lang="{code}" class="multilang">{words[code]}</span>'
                    for code in languages)
    question = QUESTION.format(name="N").replace("<text>S</text>",
                                                 f"<text><![CDATA[{spans}]]></text>")
    return quiz(question).encode()


@pytest.mark.parametrize(("options", "kept"), [
    ({}, "en"), ({"site_language": "fr"}, "fr"), ({"language": "fr"}, "fr"),
    ({"language": "fr", "site_language": "en"}, "fr"),
])  # fmt: skip
def test_parse_file_keeps_one_language_and_says_which(options, kept):
    result = parse_file(_bilingual(), filename="q.xml", max_bytes=10_000, **options)
    (problem,) = result.problems
    assert (result.languages, result.language, problem.language) == (["en", "fr"], kept, kept)
    assert problem.statement == {"en": "Hello", "fr": "Bonjour"}[kept]
    assert result.notes == [
        f"The file has text in several languages (en, fr); only “{kept}” was kept (where a "
        "text is not translated into it, the text's first language is kept). Choose another "
        "language to import the others instead."]


def test_the_site_language_defaults_to_english_even_when_it_comes_second():
    result = parse_file(_bilingual(("fr", "en")), filename="q.xml", max_bytes=10_000)
    assert (result.languages, result.language) == (["fr", "en"], "en")


def test_a_file_in_one_language_gets_no_note():
    result = parse_file(_bilingual(("fr",)), filename="q.xml", max_bytes=10_000)
    assert (result.languages, result.language, result.notes) == (["fr"], "fr", [])


def test_a_row_keeps_its_own_language_and_the_others_get_the_kept_one():
    data = (b'[{"title": "T", "statement": "{mlang en}Hello{mlang}{mlang fr}Bonjour{mlang}", '
            b'"language": "de"}, {"title": "U", "statement": '
            b'"{mlang en}Hi{mlang}{mlang fr}Salut{mlang}"}]')
    result = parse_file(data, filename="x.json", max_bytes=10_000)
    assert [(p.language, p.statement) for p in result.problems] == [("de", "Hello"),
                                                                     ("en", "Hi")]


def test_text_no_database_can_store_refuses_the_file_naming_the_row():
    with pytest.raises(FileRefused) as info:
        parse_file(b'[{"title": "T\\ud800x", "statement": "S"}]', filename="x.json",
                   max_bytes=1000)
    assert str(info.value) == (
        "Item 1 at title contains a broken character (half of an emoji or other symbol, a "
        "“lone surrogate”); retype that part of the text. Fix it in the file and upload it "
        "again.")

import pytest
from django.core.exceptions import ValidationError

from questionbank.models import GenerationBatch, GenerationJob, PromptTemplate
from questionbank.services.templates import template_update
from tests.factories import make_problem, make_template


def test_unknown_placeholders_are_a_form_error_naming_them(db):
    with pytest.raises(ValidationError) as exc:
        make_template(user_prompt="Solve {statement} for {studnet} in {langauge}.")
    message = str(exc.value.message_dict["user_prompt"])
    assert "{studnet}" in message and "{langauge}" in message


def test_latex_in_a_template_is_not_a_placeholder(db):
    template = make_template(
        user_prompt="{statement}\nPut the answer in \\boxed{} or \\frac{a}{b}."
    )
    assert template.pk


def test_unused_template_is_edited_in_place(db):
    template = make_template()
    saved = template_update(template=template, temperature=1.0)
    assert saved.pk == template.pk and saved.version == 1 and saved.temperature == 1.0


def _use(template):
    problem = make_problem()
    batch = GenerationBatch.objects.create(template=template)
    GenerationJob.objects.create(batch=batch, problem=problem, template=template,
                                 problem_version=problem.version)


def test_used_template_gets_a_new_version_and_the_old_one_stays(db):
    template = make_template(user_prompt="Old: {statement}")
    _use(template)
    new = template_update(template=template, user_prompt="New: {statement}")
    assert new.pk != template.pk
    assert new.version == 2 and new.lineage == template.lineage
    template.refresh_from_db()
    assert template.user_prompt == "Old: {statement}" and not template.is_current
    assert new.is_current
    assert list(PromptTemplate.objects.current().filter(lineage=template.lineage)) == [new]


def test_editing_an_old_version_continues_the_numbering(db):
    v1 = make_template()
    _use(v1)
    v2 = template_update(template=v1, temperature=0.9)
    _use(v2)
    v3 = template_update(template=v1, temperature=0.7)
    assert (v2.version, v3.version) == (2, 3)


def test_model_card_defaults(db):
    template = make_template()
    assert (template.temperature, template.top_p, template.repetition_penalty) == (0.6, 0.95, 1.0)
    assert str(template).endswith("(v1)")

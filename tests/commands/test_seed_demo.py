"""manage.py seed_demo: the demo set, idempotence, endpoints and the printed logins."""

from __future__ import annotations

import io
import re
import stat

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from questionbank import demo_data
from questionbank.models import ModelEndpoint, Problem, PromptTemplate, Tag
from questionbank.permissions import is_student, is_teacher
from questionbank.sanitize import PLACEHOLDERS, render_prompt, unknown_placeholders
from questionbank.services.problems import problem_update
from questionbank.services.templates import template_update

pytestmark = pytest.mark.django_db

LOGIN_LINE = re.compile(r"^\s{4}(admin|teacher|student)\s+(\S+)\s+\[", re.MULTILINE)


def seed(*args, logins=None):
    out = io.StringIO()
    options = ["--logins-file", str(logins)] if logins else ["--no-logins-file"]
    call_command("seed_demo", *options, *args, stdout=out)
    return out.getvalue()


def printed_logins(output: str) -> dict[str, str]:
    return dict(LOGIN_LINE.findall(output))


def counts():
    return {
        "problems": Problem.objects.count(),
        "tags": Tag.objects.count(),
        "templates": PromptTemplate.objects.count(),
        "endpoints": ModelEndpoint.objects.count(),
        "users": get_user_model().objects.count(),
        "groups": Group.objects.count(),
    }


def test_loads_the_demo_problems(tmp_path):
    out = seed(logins=tmp_path / "logins")

    problems = Problem.objects.filter(source=demo_data.SOURCE)
    assert problems.count() >= 30
    assert problems.count() == len(demo_data.PROBLEMS)
    assert f"{problems.count()} created, 0 already present" in out
    maths = problems.filter(kind=Problem.Kind.MATHS)
    programming = problems.filter(kind=Problem.Kind.PROGRAMMING)
    assert maths.count() >= 20 and programming.count() >= 10
    for problem in maths:
        assert problem.reference_answer.strip(), problem.external_id
        assert "$" in problem.statement, problem.external_id
    for problem in programming:
        assert 2 <= len(problem.test_cases) <= 4, problem.external_id
        for case in problem.test_cases:
            assert set(case) == {"input", "output"}
            assert case["input"].strip() and case["output"].strip()
    for problem in problems.prefetch_related("tags"):
        assert problem.statement_html  # rendered through the service
        assert problem.tags.exists()
        assert 1 <= problem.difficulty <= 5
        assert problem.created_by.username == "teacher"
        assert problem.version == 1
    assert problems.filter(status=Problem.Status.DRAFT).exists()
    assert problems.filter(status=Problem.Status.READY).count() > 30
    assert set(problems.values_list("external_id", flat=True)) == {
        p["external_id"] for p in demo_data.PROBLEMS
    }


def test_demo_ids_and_titles_are_unique():
    ids = [p["external_id"] for p in demo_data.PROBLEMS]
    titles = [p["title"] for p in demo_data.PROBLEMS]
    assert len(ids) == len(set(ids)) and len(titles) == len(set(titles))


def test_second_run_creates_nothing(tmp_path, settings):
    settings.QB_WEBUI_URL = "http://127.0.0.1:7860"
    seed("--standin-url", "http://127.0.0.1:7861", logins=tmp_path / "logins")
    before = counts()
    out = seed("--standin-url", "http://127.0.0.1:7861", logins=tmp_path / "logins")
    assert counts() == before
    assert f"0 created, {len(demo_data.PROBLEMS)} already present" in out
    assert "(created)" not in out


def test_teacher_edits_survive_a_second_run(tmp_path):
    seed(logins=tmp_path / "logins")
    problem = Problem.objects.get(external_id="demo-001")
    problem_update(problem=problem, statement="Edited by a teacher: $1+1$.",
                   reference_answer="2", status=Problem.Status.ARCHIVED, tags=["mine"])
    template = PromptTemplate.objects.get(name=demo_data.MATHS_TEMPLATE_NAME)
    template_update(template=template, temperature=0.7, samples=2)
    Problem.objects.get(external_id="demo-002").delete()

    seed(logins=tmp_path / "logins")

    problem.refresh_from_db()
    assert problem.statement == "Edited by a teacher: $1+1$."
    assert problem.reference_answer == "2"
    assert problem.status == Problem.Status.ARCHIVED
    assert problem.version == 2
    assert list(problem.tags.values_list("name", flat=True)) == ["mine"]
    assert Problem.objects.filter(external_id="demo-001").count() == 1
    template = PromptTemplate.objects.get(name=demo_data.MATHS_TEMPLATE_NAME)
    assert (template.temperature, template.samples) == (0.7, 2)
    assert PromptTemplate.objects.count() == 2
    # A demo problem the teacher deleted comes back: the set is complete again.
    assert Problem.objects.filter(external_id="demo-002").count() == 1


def test_templates_pass_placeholder_validation_and_keep_boxed_literal():
    call_command("seed_demo", "--no-logins-file", stdout=io.StringIO())
    maths = PromptTemplate.objects.get(name=demo_data.MATHS_TEMPLATE_NAME)
    code = PromptTemplate.objects.get(name=demo_data.PROGRAMMING_TEMPLATE_NAME)
    for template in (maths, code):
        template.full_clean()
        assert unknown_placeholders(template.user_prompt) == []
        assert unknown_placeholders(template.system_prompt) == []
        assert template.system_prompt == ""
        assert "{statement}" in template.user_prompt
        assert template.top_p == 0.95 and template.repetition_penalty == 1.0
    assert maths.kind == "maths" and code.kind == "programming"
    assert (maths.temperature, maths.max_new_tokens, maths.samples) == (1.0, 16384, 4)
    assert (code.temperature, code.samples) == (0.6, 1)

    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    values["statement"] = "Find $x$ with $\\frac{x}{2} = 3$."
    rendered = render_prompt(maths.user_prompt, values)
    assert rendered.startswith("Find $x$ with $\\frac{x}{2} = 3$.")
    assert rendered.endswith("put your final answer within \\boxed{}.")
    rendered = render_prompt(code.user_prompt, values)
    assert "Find $x$" in rendered and "```python" in rendered and "standard input" in rendered


def test_endpoint_from_qb_webui_url(settings):
    settings.QB_WEBUI_URL = "http://127.0.0.1:7860"
    out = io.StringIO()
    call_command("seed_demo", "--no-logins-file", stdout=out)
    endpoint = ModelEndpoint.objects.get(name=demo_data.WEBUI_ENDPOINT_NAME)
    assert endpoint.protocol == ModelEndpoint.Protocol.GRADIO
    assert endpoint.base_url == "http://127.0.0.1:7860"
    assert endpoint.max_concurrency == 1
    assert endpoint.read_timeout >= 16384 / 14  # a non-streaming maths answer fits
    assert not endpoint.is_standin
    assert "VibeThinker WEBUI at http://127.0.0.1:7860 (created)" in out.getvalue()

    settings.QB_WEBUI_URL = "http://127.0.0.1:7870"
    out = io.StringIO()
    call_command("seed_demo", "--no-logins-file", stdout=out)
    endpoint.refresh_from_db()
    assert endpoint.base_url == "http://127.0.0.1:7870"
    assert "(address updated)" in out.getvalue()
    assert ModelEndpoint.objects.count() == 1


def test_standin_endpoint_from_option(settings):
    settings.QB_WEBUI_URL = ""
    out = seed("--standin-url", "http://127.0.0.1:7861")
    endpoint = ModelEndpoint.objects.get()
    assert endpoint.name == demo_data.STANDIN_ENDPOINT_NAME
    assert endpoint.is_standin
    assert endpoint.base_url == "http://127.0.0.1:7861"
    assert endpoint.max_concurrency == 1
    assert "not the model's" in out
    assert "already configured: stand-in (no model)" in seed()


def test_no_endpoint_says_how_to_add_one(settings):
    settings.QB_WEBUI_URL = ""
    out = seed()
    assert not ModelEndpoint.objects.exists()
    assert "set QB_WEBUI_URL" in out


def test_bad_standin_url_is_a_clear_error():
    with pytest.raises(CommandError, match="not a usable address.*http://127.0.0.1:7860"):
        seed("--standin-url", "not a url")
    assert not Problem.objects.exists()  # all or nothing


def test_printed_logins_work_and_are_reused(tmp_path):
    logins = tmp_path / "logins"
    first = printed_logins(seed(logins=logins))
    assert set(first) == {"admin", "teacher", "student"}
    User = get_user_model()
    for name, password in first.items():
        assert len(password) >= 12
        assert authenticate(username=name, password=password) is not None
        stored = User.objects.get(username=name).password
        assert password not in stored  # only a hash in the database
    assert is_teacher(User.objects.get(username="teacher"))
    assert User.objects.get(username="teacher").is_staff
    assert is_student(User.objects.get(username="student"))
    assert not User.objects.get(username="student").is_staff
    assert User.objects.get(username="admin").is_superuser
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600

    second = printed_logins(seed(logins=logins))
    assert second == first


def test_logins_file_is_reused_for_a_fresh_database(tmp_path):
    logins = tmp_path / "logins"
    logins.write_text("# old\nteacher kept-from-an-earlier-database\n")
    printed = printed_logins(seed(logins=logins))
    assert printed["teacher"] == "kept-from-an-earlier-database"
    assert authenticate(username="teacher", password="kept-from-an-earlier-database")
    assert "admin " in logins.read_text()  # the new random ones are added


def test_without_a_copy_later_runs_say_unchanged():
    first = printed_logins(seed())
    assert len(first) == 3
    out = seed()
    assert "unchanged (password set earlier; reset with manage.py changepassword teacher)" in out
    assert authenticate(username="teacher", password=first["teacher"])  # not reset


def test_a_password_changed_by_its_owner_is_not_reset(tmp_path):
    logins = tmp_path / "logins"
    seed(logins=logins)
    user = get_user_model().objects.get(username="student")
    user.set_password("my own choice 2025")
    user.save()
    out = seed(logins=logins)
    assert "unchanged (password set earlier; reset with manage.py changepassword student)" in out
    assert authenticate(username="student", password="my own choice 2025")
    assert "student" not in logins.read_text()


def test_known_password_from_env_setting(settings, tmp_path):
    settings.QB_DEMO_PASSWORD = "purple-giraffe-7-tables"
    logins = tmp_path / "logins"
    printed = printed_logins(seed(logins=logins))
    assert printed == dict.fromkeys(("admin", "teacher", "student"), "purple-giraffe-7-tables")
    for name in printed:
        assert authenticate(username=name, password="purple-giraffe-7-tables")
    assert not logins.exists()  # a known password needs no copy
    assert printed_logins(seed(logins=logins)) == printed


def test_password_file_overrides_env(settings, tmp_path):
    settings.QB_DEMO_PASSWORD = "purple-giraffe-7-tables"
    password_file = tmp_path / "pw"
    password_file.write_text("orange-walrus-42-chairs\nignored second line\n")
    seed("--password-file", str(password_file))
    assert authenticate(username="teacher", password="orange-walrus-42-chairs")


def test_weak_known_password_is_refused(settings):
    settings.QB_DEMO_PASSWORD = "demo"
    with pytest.raises(CommandError, match="QB_DEMO_PASSWORD is too weak.*too short"):
        seed()
    assert not get_user_model().objects.exists()


def test_missing_password_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read the password file"):
        seed("--password-file", str(tmp_path / "nope"))


def test_reset_passwords(tmp_path):
    logins = tmp_path / "logins"
    first = printed_logins(seed(logins=logins))
    second = printed_logins(seed("--reset-passwords", logins=logins))
    assert set(second) == set(first)
    assert all(second[name] != first[name] for name in first)
    assert authenticate(username="admin", password=second["admin"])
    assert not authenticate(username="admin", password=first["admin"])


def test_login_in_qb_webui_url_goes_to_the_credential_fields(settings):
    settings.QB_WEBUI_URL = "http://alice:hunter2@127.0.0.1:7860"
    out = io.StringIO()
    call_command("seed_demo", "--no-logins-file", stdout=out)
    endpoint = ModelEndpoint.objects.get(name=demo_data.WEBUI_ENDPOINT_NAME)
    assert endpoint.base_url == "http://127.0.0.1:7860" and endpoint.username == "alice"
    assert endpoint.secret("password") == "hunter2" and "hunter2" not in endpoint.password
    assert "hunter2" not in out.getvalue()

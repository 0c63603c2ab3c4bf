"""Factories for tests. Domain objects are made through services where the service adds
behaviour (rendering, hashing, versioning), so tests see what production would write."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from questionbank.models import ModelEndpoint, Problem, PromptTemplate, Tag
from questionbank.permissions import STUDENT_GROUP, TEACHER_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@school.example")
    password = factory.django.Password("correct horse battery staple")


def make_teacher(username: str | None = None, **kwargs):
    user = UserFactory(is_staff=True, **({"username": username} if username else {}), **kwargs)
    user.groups.add(Group.objects.get(name=TEACHER_GROUP))
    return user


def make_student(username: str | None = None, **kwargs):
    user = UserFactory(**({"username": username} if username else {}), **kwargs)
    user.groups.add(Group.objects.get(name=STUDENT_GROUP))
    return user


def make_admin(username: str | None = None, **kwargs):
    return UserFactory(is_staff=True, is_superuser=True,
                       **({"username": username} if username else {}), **kwargs)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag {n}")


def make_problem(*, tags=(), **fields) -> Problem:
    from questionbank.services.problems import problem_create

    n = next(_counter)
    defaults = {
        "title": f"Problem {n}",
        "kind": Problem.Kind.MATHS,
        "statement": f"Compute $2+{n}$.",
        "reference_answer": str(2 + n),
        "status": Problem.Status.READY,
    }
    defaults.update(fields)
    return problem_create(tags=tags, **defaults)


def make_template(**fields) -> PromptTemplate:
    from questionbank.services.templates import template_create

    n = next(_counter)
    defaults = {
        "name": f"Template {n}",
        "user_prompt": "{statement}\n\nPlease reason step by step, and put your final answer "
        "within \\boxed{}.",
    }
    defaults.update(fields)
    return template_create(**defaults)


def make_endpoint(**fields) -> ModelEndpoint:
    from questionbank.services.endpoints import endpoint_create

    n = next(_counter)
    defaults = {"name": f"endpoint {n}", "base_url": "http://127.0.0.1:9", "protocol": "gradio"}
    defaults.update(fields)
    return endpoint_create(**defaults)


def _count():
    n = 0
    while True:
        n += 1
        yield n


_counter = _count()


def make_call_log(*, owner=None, job=None, linked: bool = True, **fields):
    """One call-log row written by calllog_record. ``linked``: with a job of its own (created
    by ``owner``) and that job's batch, problem, template, endpoint and user; ``job``: for
    that job; ``linked=False``: every link empty. ``fields`` override calllog_record's."""
    from questionbank.services.calllogs import calllog_record
    from questionbank.services.generation import batch_create

    if job is None and linked:
        endpoint = make_endpoint()
        batch = batch_create(problems=[make_problem()], template=make_template(),
                             endpoints=[endpoint], samples=1, created_by=owner)
        job = batch.jobs.get()
        job.endpoint = job.endpoint or endpoint
    values = {
        "endpoint_name": "vibethinker", "protocol": "gradio", "url": "http://gpu:7860/call/chat",
        "request_headers": {"Accept": "application/json", "Authorization": "Bearer sk-secret"},
        "request_body": {"data": ["What is 2+2?", 0.6, 4096]},
        "response_status": 200, "response_body": '{"data": ["4"]}', "latency_ms": 1500,
        "prompt_tokens": 20, "completion_tokens": 300,
    }
    if job is not None:
        values.update(endpoint=job.endpoint, endpoint_name=job.endpoint.name if job.endpoint
                      else "vibethinker", job=job, batch=job.batch, problem=job.problem,
                      problem_version=job.problem_version, template=job.template,
                      user=job.created_by)
    values.update(fields)
    return calllog_record(**values)

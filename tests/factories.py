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

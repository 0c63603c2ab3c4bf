"""Issue 14, defect 3: a 2.4 MB model reply from a real Gradio stand-in, then publishing.

Publishing such a reply used to hold the problem's row lock for minutes while difflib
compared the texts. Now the reply is bounded (``QB_MAX_REPLY_CHARS``, with a note the
teacher sees and a log line), the call log keeps the reply as received, and the edit
distance is measured before any lock, in linear time. Timings are in bench/publish.py.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from questionbank.models import CallLog, Solution
from questionbank.services import generation
from questionbank.services.solutions import solution_add_revision
from tests.factories import make_endpoint, make_problem, make_teacher, make_template

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REPLY_CHARS = 2_400_000
CAP = 200_000


@pytest.fixture
def pipeline(settings):
    settings.QB_TASKS_SYNC = True
    settings.QB_MAX_REPLY_CHARS = CAP
    return settings


def test_a_2_4_mb_reply_is_bounded_noted_and_publishes(
        pipeline, pipeline_standins, client, caplog, django_capture_on_commit_callbacks):
    endpoint = make_endpoint(name="stand-in", base_url=pipeline_standins["plain"],
                             is_standin=True, stream=False)
    teacher = make_teacher("long-replies")
    problem = make_problem(statement=f"What is 6*7? [[standin:body-size={REPLY_CHARS}]]",
                           reference_answer="42")
    with caplog.at_level(logging.WARNING, logger="questionbank.services.generation"), \
            django_capture_on_commit_callbacks(execute=True):
        generation.batch_create(problems=[problem], template=make_template(),
                                endpoints=[endpoint], samples=1, created_by=teacher)

    solution = Solution.objects.select_related("current_revision", "call_log").get()
    log = solution.call_log
    assert log.outcome == CallLog.Outcome.SUCCESS
    assert log.response_size >= REPLY_CHARS and log.response_body  # every byte was read
    # The solution keeps the beginning and the end (with the final answer), and says so.
    assert solution.reply_truncated_from > REPLY_CHARS
    body = solution.current_revision.body
    assert CAP // 2 < len(body) < CAP + 1000
    assert "characters of the model's reply were cut here" in body
    assert "QB_MAX_REPLY_CHARS" in solution.current_revision.note
    assert solution.final_answer == "42" and solution.verdict == Solution.Verdict.AGREES
    assert any("over QB_MAX_REPLY_CHARS" in r.getMessage() for r in caplog.records)

    client.force_login(teacher)
    page = client.get(solution.get_absolute_url()).content.decode()
    assert "The model&#x27;s reply was cut." in page or "The model's reply was cut." in page
    assert f"{solution.reply_truncated_from:,}" in page

    # A teacher fixes a word near each end, then publishes through the page.
    edited = body.replace("Next 0 ", "First 0 ", 1)[::-1].replace(" 12", " 21", 1)[::-1]
    solution_add_revision(solution=solution, body=edited, author=teacher, note="Tidied")
    response = client.post(reverse("teacher:solution-transition", args=[solution.pk]),
                           {"target": "published", "confirm": ["standin"]})
    assert response.status_code == 302
    solution.refresh_from_db()
    assert solution.status == Solution.Status.PUBLISHED
    assert 0 < solution.edit_distance < 0.001

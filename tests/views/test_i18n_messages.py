"""Sentences made by code rather than templates, in Chinese (issue 19): the import's
per-row reasons and warnings, the API's errors, the note where a long model reply was cut,
and the tamper check's result. Each page is checked with the same "no English word left"
rule as tests/views/test_i18n_pages.py; each also still reads in English.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from questionbank.models import CallLogVerification, Solution
from questionbank.services.api_tokens import token_create
from questionbank.services.generation.outcomes import bounded_reply
from questionbank.services.solutions import solution_create
from questionbank.stored_text import CHAIN_BROKEN, CHAIN_PROBLEMS, REPLY_CUT_NOTE, english
from tests import factories
from tests.views.test_i18n_pages import english_left

pytestmark = pytest.mark.django_db
CHINESE, ENGLISH = "zh-CN,zh;q=0.9", "en-GB,en;q=0.9"

# Every row but the first is refused, each for a different reason.
CSV = (
    "title,statement,reference_answer,test_cases,accepted_answers\n"
    "加法,一加一等于几？,2,,\n"                       # line 2: imported
    "空题,,3,,\n"                                     # line 3: no statement
    "加法,一加一等于几？,2,,\n"                       # line 4: duplicate of line 2
    "减法,三减一等于几？,2,[1],\n"                    # line 5: test cases not objects
    "乘法,二乘三等于几？,6,,[1]\n"                    # line 6: accepted answers not texts
    "除法,六除以二等于几？,3,,,多余\n"                # line 7: more cells than columns
)
GIFT = (
    "::加法::一加一等于几？{=2 =%50%3}\n\n"           # imported, with a warning
    "::判断::一加一等于二。{T}\n\n"                   # true/false: refused
    "::括号::二加二等于几？{=4\n"                     # answer never closed: refused
)


def client_for(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _preview(client, name: str, data: str):
    upload = client.post(reverse("teacher:import"),
                         {"file": SimpleUploadedFile(name, data.encode())})
    assert upload.status_code == 302, upload.content.decode()[:2000]
    return client.get(upload["Location"]).content.decode()


@pytest.mark.parametrize(("name", "data", "chinese"), [
    ("题目.csv", CSV, ["题面为空", "与第 2 行重复", "测试用例（test_cases）必须是",
                      "可接受的答案必须是文本列表", "这一行有 6 个单元格", "第 7 行"]),
    ("题目.GIFT", GIFT, ["判断题不会导入", "答案部分以 { 开头", "只得部分分数的答案没有保留",
                        "第 2 题（第 3 行）"]),
])
def test_import_preview_reasons_in_chinese(name, data, chinese):
    page = _preview(client_for(factories.make_teacher("laoshi"), CHINESE), name, data)
    assert all(text in page for text in chinese), [t for t in chinese if t not in page]
    assert not english_left(page)


def test_import_preview_reasons_still_english():
    page = _preview(client_for(factories.make_teacher("teacher"), ENGLISH), "problems.csv", CSV)
    assert "The statement is empty; every problem needs one." in page
    assert "Duplicate of line 2 (same title and statement)" in page
    assert "Line 7" in page


def test_a_refused_file_is_explained_in_chinese():
    client = client_for(factories.make_teacher("laoshi"), CHINESE)
    page = client.post(reverse("teacher:import"), {
        "file": SimpleUploadedFile("题目.json", '{"题目": 1}'.encode())}).content.decode()
    assert "JSON 文件必须是题目列表" in page
    assert not english_left(page)


def _api(language: str, path: str, token: str = "", method: str = "get", **data):
    headers = {"Accept-Language": language}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    call = getattr(Client(), method)
    body = call(path, data, content_type="application/json", headers=headers) \
        if method == "post" else call(path, headers=headers)
    return body.status_code, body.json()


def test_api_errors_follow_accept_language():
    teacher = factories.make_teacher("laoshi")
    _, token = token_create(user=teacher, name="教务系统")
    cases = [
        ("/api/v1/no-such-thing/", "", "get", {}, 404, "not_found", "这个地址没有 API 接口"),
        ("/api/v1/me/", "qb_not-a-real-token", "get", {}, 401, "invalid_token",
         "无法识别这个令牌"),
        ("/api/v1/problems/", "", "get", {}, 401, "not_authenticated", "请登录"),
        ("/api/v1/problems/999999/", token, "get", {}, 404, "not_found", "没有这个编号的内容"),
        ("/api/v1/batches/", token, "post", {"problems": [999999], "template": 999999,
                                             "endpoints": [999999]},
         400, "unknown_problem", "没有题目 999999"),
    ]
    for path, key, method, data, status, code, chinese in cases:
        got_status, body = _api("zh-hans", path, key, method, **data)
        assert (got_status, body["code"]) == (status, code), (path, body)
        assert chinese in body["message"], (path, body)
        assert not english_left(f"<p>{body['message']}</p>"), (path, body)
        english_status, english_body = _api("en-GB", path, key, method, **data)
        assert english_body["code"] == code and chinese not in english_body["message"]


def test_the_reply_cut_note_is_shown_in_chinese(settings):
    teacher = factories.make_teacher("laoshi")
    problem = factories.make_problem(title="长方形的面积", statement="求面积。")
    reply = "面积是" * 40 + "\n\n" + "所以答案是 $\\boxed{24}$。" * 10
    body = bounded_reply(reply, 100)
    solution = solution_create(problem=problem, body=body, final_answer="24",
                               problem_version=problem.version,
                               note=english(REPLY_CUT_NOTE, length=f"{len(reply):,}", cap="100"),
                               reply_truncated_from=len(reply))
    # Stored in English, as the worker writes it.
    assert "characters of the model's reply were cut here" in solution.current_revision.body
    chinese = client_for(teacher, CHINESE)
    for url in (reverse("teacher:solution-review", args=[solution.pk]),
                reverse("teacher:solution-history", args=[solution.pk])):
        page = chinese.get(url).content.decode()
        assert "在此处被截去" in page, url
        assert not english_left(page), (url, english_left(page))
    # The editor's live preview of the same text.
    preview = chinese.post(reverse("teacher:preview"), {"text": body}).content.decode()
    assert "在此处被截去" in preview and "were cut here" not in preview
    english_page = client_for(teacher, ENGLISH).get(
        reverse("teacher:solution-review", args=[solution.pk])).content.decode()
    assert "characters of the model&#x27;s reply were cut here" in english_page or \
        "characters of the model's reply were cut here" in english_page
    # Students read the published explanation the same way.
    Solution.objects.filter(pk=solution.pk).update(status=Solution.Status.PUBLISHED)
    student_page = Client(HTTP_ACCEPT_LANGUAGE=CHINESE).get(
        reverse("browse:problem-detail", args=[problem.pk])).content.decode()
    assert "在此处被截去" in student_page


def test_the_tamper_check_result_is_shown_in_chinese():
    admin = factories.make_admin("guanliyuan")
    CallLogVerification.objects.create(
        status=CallLogVerification.Status.BROKEN, finished_at=timezone.now(), rows_checked=12,
        rows_total=12, first_broken_id=7, problem="edited", requested_by="guanliyuan",
        message=english(CHAIN_BROKEN, row=7, reason=CHAIN_PROBLEMS["edited"]))
    url = reverse("admin:questionbank_calllog_verify")
    page = client_for(admin, CHINESE).get(url).content.decode()
    assert "调用日志在第 7 行断开" in page
    assert not english_left(page, admin=True)
    english_page = client_for(admin, ENGLISH).get(url).content.decode()
    assert "The call log is broken at row 7: its content does not match its hash" in english_page


# What stays English on the third-party admin pages, and why: the task functions' dotted
# paths and the schedules' names (identifiers the code looks them up by), cron, the
# "User Agent" and "IP" terms, and django-axes' own row names ("Access Log for <user> @
# <time>", "<unknown>"), which axes builds in English without gettext.
THIRD_PARTY_ALLOWED = re.compile(r"""
    questionbank(\.\w+)+ | questionbank:\s[\w\s-]+ | Cron | User\s+Agent | IP
  | Access\s+Log\s+for\s.* | <unknown> | module\.tasks\.\w+ | kwarg | John | name=
""", re.VERBOSE)


def test_third_party_admin_pages_in_chinese():
    admin = factories.make_admin("guanliyuan")
    client = client_for(admin, CHINESE)
    failures = {}
    for url in ("axes_accessattempt_changelist", "axes_accessfailurelog_changelist",
                "axes_accesslog_changelist", "django_q_schedule_changelist",
                "django_q_schedule_add", "django_q_success_changelist",
                "django_q_failure_changelist", "django_q_ormq_changelist"):
        page = client.get(reverse(f"admin:{url}")).content.decode()
        left = [text for text in english_left(page, admin=True)
                if re.search(r"[A-Za-z]{2,}", THIRD_PARTY_ALLOWED.sub(" ", text))]
        if left:
            failures[url] = left
    assert not failures

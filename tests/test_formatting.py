import pytest
from django.test import RequestFactory

from questionbank.formatting import format_duration, safe_next


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0 s"), (59.9, "59 s"), (60, "1 min 00 s"), (125, "2 min 05 s"),
    (3600, "1 h 00 min"), (3725, "1 h 02 min"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("target", "expected"), [
    ("/teach/review/?page=2", "/teach/review/?page=2"),
    ("//evil.example/x", "/fallback/"),
    ("https://evil.example/", "/fallback/"),
    ("javascript:alert(1)", "/fallback/"),
    ("", "/fallback/"),
])
def test_safe_next_stays_on_site(target, expected):
    request = RequestFactory().post("/", {"next": target})
    assert safe_next(request, "/fallback/") == expected

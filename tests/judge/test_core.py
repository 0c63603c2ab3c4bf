"""The judge's parts that need no sandbox: finding the code, comparing output, refusing
to run without bubblewrap or a compiler."""

from __future__ import annotations

import dataclasses

from questionbank import judge
from questionbank.judge import Program, Sandbox, TestCase, extract_program, judge_text
from questionbank.judge.compare import outputs_match, short_diff


def test_the_last_block_in_a_known_language_is_the_program():
    text = ("First a sketch:\n\n```python\nprint('draft')\n```\n\nThe output:\n\n```text\n3\n```"
            "\n\nThe solution:\n\n```cpp\nint main(){}\n```\n")
    program = extract_program(text)
    assert program == Program(language="cpp", source="int main(){}\n",
                              note="The solution has 2 code blocks; the last one was run.")


def test_a_fence_without_a_language_is_guessed_and_said_so():
    program = extract_program("```\n#include <cstdio>\nint main(){}\n```")
    assert program.language == "cpp" and "does not say its language" in program.note
    assert extract_program("```\nprint(1)\n```").language == "python"


def test_unsupported_languages_and_prose_are_refused_with_a_reason():
    assert extract_program("```java\nclass A {}\n```").reason == (
        "the code is in a language the judge does not run (java); it runs Python 3, C and C++")
    assert extract_program("No code here.").reason == "no code block"
    assert extract_program("print(3)", plain_language="python").source == "print(3)"


def test_output_comparison_ignores_trailing_space_and_final_newlines_only():
    assert outputs_match("1 2\n3\n", "1 2   \n3\n\n\n")
    assert not outputs_match("1 2\n3", "1  2\n3")
    assert not outputs_match("3", "03")
    assert outputs_match("0.3333", "0.33333333", tolerance=1e-3)
    assert not outputs_match("0.3333", "0.34", tolerance=1e-3)
    assert outputs_match("1e9", "1000000001", tolerance=1e-6)  # relative above 1
    assert short_diff("1\n2\n3", "1\n2") == "The output stops after line 2; line 3 should be '3'."
    assert short_diff("1", "1\n2") == (
        "The expected output has 1 line; the program printed more, from line 2: '2'.")


def test_without_bubblewrap_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    report = judge_text(f"```python\nopen({str(marker)!r}, 'w').write('x')\n```",
                        [TestCase("", "")], sandbox=Sandbox(bwrap=""))
    assert report.outcome == judge.UNAVAILABLE
    assert report.message == "Code checks are not available on this server: install bubblewrap."
    assert report.results == []
    assert not marker.exists()


def test_a_missing_compiler_is_said_plainly(monkeypatch):
    real = judge.core.languages()

    def without_gpp():
        return {**real, "cpp": dataclasses.replace(real["cpp"], tool="")}

    monkeypatch.setattr(judge.core, "languages", without_gpp)
    monkeypatch.setattr(Sandbox, "unavailable", lambda self: None)
    report = judge_text("```cpp\nint main(){}\n```", [TestCase("", "")])
    assert report.outcome == judge.UNAVAILABLE
    assert report.message == ("Code checks are not available: C++ is not installed on this "
                              "server (install g++).")

"""A stand-in for the VibeThinker WEBUI: a real Gradio app with NO model behind it.

Run it::

    python -m questionbank.webui.standin --host 127.0.0.1 --port 7860 \\
        [--delay S] [--auth user:pass] [--permuted] [--fn-name NAME] [--stream | --no-stream] \\
        [--fail-mode none|gr-error|exception] [--show-error] [--concurrency C]

or import :func:`build_app` and call ``.launch()`` yourself. Gradio is imported only when
an app is built, so importing this module costs nothing.

The form has the WEBUI's seven inputs (system prompt, user input, temperature, top_p,
max_new_tokens, repetition_penalty, streaming) and one text output, as the function
``/predict`` (or ``/<fn-name>``, named after the Python function like Gradio 4+ does).
``--permuted`` shuffles the inputs and uses other common spellings, so a client that
trusts the order breaks. ``--stream`` makes the function a generator that yields the
answer growing in chunks (when the streaming input is true).

Answers look like VibeThinker's: a ``<think>`` trace whose first line says the answer
comes from this stand-in, Markdown with LaTeX, and a final ``\\boxed{...}``. For simple
arithmetic ("What is 2+3?", "Compute 7*(4-1)/2") the boxed answer is right, so pipeline
tests can check verdicts; otherwise it is derived from a hash of the input (deterministic).

Magic markers in the user input change one call:

``[[standin:fail=gr-error]]``
    raise ``gr.Error("stand-in: requested failure")`` (message reaches the client).
``[[standin:fail=exception]]``
    raise ``RuntimeError`` (message hidden unless ``--show-error``).
``[[standin:fail=empty]]``
    answer with an empty string.
``[[standin:delay=2.5]]``
    sleep this many seconds (instead of ``--delay``).
``[[standin:answer=\\frac{1}{2}]]``
    box this answer.
``[[standin:fail-times=2:key]]``
    fail (``gr.Error``) the first 2 calls carrying ``key``, counted in this process, then
    answer normally. Lets tests exercise retries.
``[[standin:size=N]]``
    pad the answer to at least N characters (for size-cap tests).
``[[standin:body-size=N]]``
    pad the explanation itself (not the reasoning) to at least N characters of varied
    words and paragraphs, before the final answer: a long reply a teacher would review.

Two more named endpoints serve tests: ``/stats`` returns ``{"in_flight", "max_in_flight",
"calls"}`` for the generation function, and ``/reset_stats`` zeroes them. ``--concurrency``
sets Gradio's queue concurrency (default 1, like a real WEBUI on one GPU).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import operator
import os
import re
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

STANDIN_NOTICE = "This answer comes from the question-bank stand-in WEBUI: there is no model."
_MARKER = re.compile(r"\[\[standin:([a-z-]+)=([^\]]*)\]\]")


class _Stats:
    """Concurrency counters for the generation function, shared by all its calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0
        self.fail_counts: dict[str, int] = {}

    def enter(self) -> None:
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "calls": self.calls,
            }

    def reset(self) -> dict[str, int]:
        with self.lock:
            self.max_in_flight = self.in_flight
            self.calls = 0
            self.fail_counts.clear()
        return self.snapshot()

    def should_fail(self, key: str, times: int) -> bool:
        with self.lock:
            seen = self.fail_counts.get(key, 0)
            self.fail_counts[key] = seen + 1
            return seen < times


# -- deterministic answers ------------------------------------------------------------

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_EXPR = re.compile(r"[-+*/^%().\d\s]*\d[-+*/^%().\d\s]*")


def _eval(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (right.denominator != 1 or abs(right) > 64):
            raise ValueError("exponent too large")
        return Fraction(_OPS[type(node.op)](left, right))
    raise ValueError("not arithmetic")


def arithmetic(question: str) -> tuple[str, Fraction] | None:
    """The longest arithmetic expression in ``question`` (needing an operator) and its value."""
    for match in sorted(_EXPR.findall(question), key=len, reverse=True):
        expr = match.strip().rstrip(".").replace("^", "**")
        if not re.search(r"\d\s*(\*\*|[-+*/%])\s*[\d(]", expr):
            continue
        try:
            return expr, _eval(ast.parse(expr, mode="eval"))
        except (SyntaxError, ValueError, ZeroDivisionError, TypeError):
            continue
    return None


def latex_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def compose_answer(system_prompt: str, user_input: str) -> str:
    """The full deterministic answer for one question (markers already honoured)."""
    markers = dict(_MARKER.findall(user_input))
    question = _MARKER.sub("", user_input).strip()
    digest = hashlib.sha256(f"{system_prompt}\x00{question}".encode()).hexdigest()
    found = arithmetic(question)
    if "answer" in markers:
        boxed = markers["answer"]
        working = "The requested answer was given to the stand-in."
    elif found is not None:
        expr, value = found
        boxed = latex_number(value)
        tex = expr.replace("**", "^").replace("*", r" \times ")
        working = f"Evaluating directly:\n\n$$ {tex} = {boxed} $$"
    else:
        boxed = str(int(digest[:8], 16) % 1000)
        working = (
            f"A placeholder derivation (hash `{digest[:12]}`): let $x = {boxed}$; "
            f"then $x^2 = {int(boxed) ** 2}$, so $\\sqrt{{x^2}} = {boxed}$."
        )
    text = (
        "<think>\n"
        f"{STANDIN_NOTICE}\n"
        f"The question was: {question[:200]}\n"
        "I will restate the problem, compute, and check the result.\n"
        "</think>\n\n"
        "**Stand-in answer (no model).**\n\n"
        f"{working}\n\n"
        f"Therefore the final answer is $\\boxed{{{boxed}}}$."
    )
    if "body-size" in markers:
        text = text.replace("\n\nTherefore the final answer",
                            f"\n\n{_padding(int(markers['body-size']) - len(text))}\n\n"
                            "Therefore the final answer", 1)
    if "size" in markers:
        size = int(markers["size"])
        pad = "\n\nPadding: " + "x" * max(0, size - len(text))
        text = text.replace("</think>", pad + "\n</think>", 1) if len(text) < size else text
    return text


_WORDS = ("Next", "we", "check", "the", "term", "for", "step", "and", "add", "it", "to",
          "sum", "so", "far", "which", "gives")


def _padding(size: int) -> str:
    """At least ``size`` characters of numbered words in paragraphs of 60 words."""
    parts, length, i = [], 0, 0
    while length < size:
        word = f"{_WORDS[i % len(_WORDS)]} {i}" + ("\n\n" if i % 60 == 59 else " ")
        parts.append(word)
        length += len(word)
        i += 1
    return "".join(parts).strip()


# -- the app --------------------------------------------------------------------------


def build_app(
    *,
    delay: float = 0.0,
    stream: bool = False,
    permuted: bool = False,
    fn_name: str = "",
    fail_mode: str = "none",
    concurrency: int = 1,
    chunks: int = 8,
) -> Any:
    """Build (not launch) the stand-in ``gr.Blocks`` app, queue configured.

    Launch it with ``app.launch(server_name=..., server_port=..., auth=..., show_error=...)``.
    ``app.standin_stats`` holds the counters.
    """
    import gradio as gr  # lazily: only the stand-in needs Gradio installed

    stats = _Stats()
    major = int(gr.__version__.split(".")[0])

    def answer(system_prompt: str, user_input: str) -> tuple[str, float]:
        markers = dict(_MARKER.findall(user_input or ""))
        wait = float(markers.get("delay", delay))
        fail = markers.get("fail", fail_mode)
        if "fail-times" in markers:
            times, _, key = markers["fail-times"].partition(":")
            if stats.should_fail(key, int(times)):
                raise gr.Error(f"stand-in: planned failure for {key!r}")
        if fail == "gr-error":
            raise gr.Error("stand-in: requested failure")
        if fail == "exception":
            raise RuntimeError("stand-in: internal failure detail")
        if fail == "empty":
            return "", wait
        return compose_answer(system_prompt or "", user_input or ""), wait

    def run(system_prompt, user_input, temperature, top_p, max_new_tokens,
            repetition_penalty, streaming):
        stats.enter()
        try:
            text, wait = answer(system_prompt, user_input)
            time.sleep(wait)
            return text
        finally:
            stats.leave()

    def run_stream(system_prompt, user_input, temperature, top_p, max_new_tokens,
                   repetition_penalty, streaming) -> Iterator[str]:
        stats.enter()
        try:
            text, wait = answer(system_prompt, user_input)
            if not streaming:
                time.sleep(wait)
                yield text
                return
            n = max(1, chunks)
            step = -(-len(text) // n)
            for i in range(n):
                time.sleep(wait / n)
                yield text[: step * (i + 1)]
        finally:
            stats.leave()

    target = run_stream if stream else run
    if permuted:
        # Another order and other spellings, as some WEBUI images have.
        def permuted_fn(message, temp, sys_prompt, max_tokens, top_p, stream,
                        repeat_penalty):
            return target(sys_prompt, message, temp, top_p, max_tokens, repeat_penalty, stream)

        if stream:
            def permuted_stream(message, temp, sys_prompt, max_tokens, top_p, stream,
                                repeat_penalty):
                yield from target(sys_prompt, message, temp, top_p, max_tokens,
                                  repeat_penalty, stream)
            fn = permuted_stream
        else:
            fn = permuted_fn
    else:
        fn = target
    if fn_name:
        fn.__name__ = fn_name
        fn.__qualname__ = fn_name

    with gr.Blocks(title="Stand-in WEBUI (no model)") as demo:
        gr.Markdown("# Stand-in WEBUI: no model, deterministic answers for tests")
        system = gr.Textbox(label="System Prompt", value="", lines=2)
        user = gr.Textbox(label="User Input", value="", lines=4)
        temperature = gr.Slider(0.0, 2.0, value=0.6, step=0.05, label="Temperature")
        top_p = gr.Slider(0.0, 1.0, value=0.95, step=0.01, label="Top-p")
        max_new = gr.Slider(1, 40960, value=16384, step=1, label="Max New Tokens")
        penalty = gr.Slider(0.5, 2.0, value=1.0, step=0.01, label="Repetition Penalty")
        streaming = gr.Checkbox(value=True, label="Streaming")
        output = gr.Textbox(label="Output", lines=20)
        stats_out = gr.JSON(label="Stats")
        button = gr.Button("Generate")
        inputs = [system, user, temperature, top_p, max_new, penalty, streaming]
        if permuted:
            inputs = [user, temperature, system, max_new, top_p, streaming, penalty]

        click_kwargs: dict[str, Any] = {}
        if major >= 4:
            click_kwargs["concurrency_limit"] = concurrency
        if fn_name and major < 4:
            api_name: str | None = fn_name  # 3.x does not name events after functions
        elif fn_name:
            api_name = None
        else:
            api_name = "predict"
        button.click(fn, inputs, output, api_name=api_name, **click_kwargs)

        def stats_fn():
            return stats.snapshot()

        def reset_stats_fn():
            return stats.reset()

        extra = {"concurrency_limit": None} if major >= 4 else {}
        stats_button = gr.Button("Stats")
        stats_button.click(stats_fn, None, stats_out, api_name="stats", **extra)
        reset_button = gr.Button("Reset stats")
        reset_button.click(reset_stats_fn, None, stats_out, api_name="reset_stats", **extra)

    if major >= 4:
        demo.queue(default_concurrency_limit=concurrency)
    else:
        demo.queue(concurrency_count=concurrency)
    demo.standin_stats = stats
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--auth", default="", help="user:pass to require a login")
    parser.add_argument("--permuted", action="store_true", help="shuffle and rename inputs")
    parser.add_argument("--fn-name", default="", help="name the endpoint after this function")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--fail-mode", choices=["none", "gr-error", "exception", "empty"],
                        default="none")
    parser.add_argument("--show-error", action="store_true", help="reveal exception text")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(
        delay=args.delay,
        stream=args.stream,
        permuted=args.permuted,
        fn_name=args.fn_name,
        fail_mode=args.fail_mode,
        concurrency=args.concurrency,
    )
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    app.launch(
        server_name=args.host,
        server_port=args.port,
        auth=auth,
        show_error=args.show_error,
        quiet=True,
    )


if __name__ == "__main__":
    main()

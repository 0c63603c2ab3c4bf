"""Ask a model server a question from the command line.

    python manage.py ask --endpoint "stand-in (no model)" "What is 2+3?"
    python manage.py ask --url http://gpu-box:7860 --stream "Prove that ..."
    echo "What is 2+3?" | python manage.py ask -
    python manage.py ask --endpoint vllm --file questions.txt > answers.jsonl

Prints the answer (as it arrives with --stream). With --file, one JSON line per question:
{"question", "answer", "seconds", "error", "finish_reason", "tokens"}. On failure the
command exits 1 with one line on stderr saying why; it never prints a traceback (unless
--traceback) or a secret.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from questionbank import webui
from questionbank.models import CallLog, ModelEndpoint
from questionbank.services.calllogs import calllog_record
from questionbank.services.endpoints import client_endpoint


class _Stop(Exception):
    """End the command with exit status 1 and this one-line message on stderr."""


class BreakerOpen(webui.WebUIError):
    """Our in-memory circuit breaker refused the call (no request was sent)."""

    retryable = False


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Ask a model server a question and print its answer. Use an endpoint configured in "
        "the admin (--endpoint NAME) or any server (--url URL --protocol gradio|openai)."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--endpoint", metavar="NAME",
                            help="A model endpoint configured in the admin (by name).")
        target.add_argument("--url", metavar="URL",
                            help="A server's base URL, e.g. http://gpu-box:7860.")
        parser.add_argument("--protocol", choices=["gradio", "openai"], default=None,
                            help="With --url: the server's protocol (default gradio).")
        parser.add_argument("--api-name", metavar="NAME", default=None,
                            help="Gradio endpoint to call, e.g. /predict (default: discover).")
        parser.add_argument("--model", metavar="NAME", default=None,
                            help="OpenAI-compatible servers: the model id (default: the first).")
        parser.add_argument("--system", metavar="TEXT", default="", help="System prompt.")
        parser.add_argument("--temperature", type=float, default=0.6)
        parser.add_argument("--top-p", type=float, default=0.95)
        parser.add_argument("--max-new-tokens", type=_count(1), default=16384)
        parser.add_argument("--repetition-penalty", type=float, default=1.0)
        parser.add_argument("--stream", action="store_true",
                            help="Print the answer as it is generated.")
        parser.add_argument("--timeout", type=_positive_float, metavar="SECONDS", default=None,
                            help="Longest one call may take in all (default: the endpoint's "
                            "deadline, or 1 hour with --url).")
        parser.add_argument("--retries", type=_count(0), default=2, metavar="N",
                            help="Retries after a failure that retrying can fix (default 2).")
        parser.add_argument("--file", metavar="FILE",
                            help="Ask one question per line of FILE ('-' for stdin); "
                            "prints JSON lines.")
        parser.add_argument("question", nargs="?", default=None,
                            help="The question, or '-' to read it from stdin.")

    def handle(self, *args, **options):
        self.options = options
        self.verbosity = options["verbosity"]
        self.endpoint_row: ModelEndpoint | None = None
        self.target: webui.Endpoint | None = None
        try:
            self._run(options)
        except _Stop as stop:
            self._fail(str(stop))
        except KeyboardInterrupt:
            self._fail("Interrupted.")
        except Exception as err:  # a bug, or the database: still one line, no secrets
            if options.get("traceback"):
                raise
            self._fail(self._scrub(f"Unexpected error ({type(err).__name__}): {err}. "
                                   "Run again with --traceback for details."))

    # -- setup ----------------------------------------------------------------------------
    def _run(self, options) -> None:
        if options["file"] and options["question"] is not None:
            raise _Stop("Give either a QUESTION or --file FILE, not both.")
        if options["file"] and options["stream"]:
            raise _Stop("--stream prints one answer as it arrives; it cannot be used with "
                        "--file (which prints JSON lines).")
        if not options["file"] and options["question"] is None:
            raise _Stop("Give a QUESTION (or '-' to read it from stdin), or --file FILE.")
        if options["protocol"] and not options["url"]:
            raise _Stop("--protocol goes with --url; an --endpoint knows its own protocol.")
        self.target = self._target(options)
        self.client = webui.Client(self.target)
        # In memory: the breaker protects the server from this one run (e.g. a --file of
        # hundreds of questions against a server that went down); the pipeline's breaker
        # lives in the database instead.
        self.breaker = webui.CircuitBreaker(
            webui.InMemoryBreakerStore(), key=self.target.name,
            threshold=settings.QB_BREAKER_THRESHOLD,
            cooldown=settings.QB_BREAKER_COOLDOWN_SECONDS,
        )
        if self.endpoint_row is not None and self.endpoint_row.is_standin:
            self.stderr.write(f"Note: {self.endpoint_row.name} is the stand-in WEBUI; its "
                              "answers do not come from the model.")
        if options["file"]:
            self._ask_file(options["file"])
            return
        question = options["question"]
        if question == "-":
            question = sys.stdin.read().strip()
        if not question.strip():
            raise _Stop("The question is empty.")
        self._ask_one(question)

    def _target(self, options) -> webui.Endpoint:
        overrides: dict[str, Any] = {}
        if options["api_name"] is not None:
            overrides["api_name"] = options["api_name"]
        if options["model"] is not None:
            overrides["model"] = options["model"]
        timeout = options["timeout"]
        if options["url"]:
            try:
                target = webui.Endpoint(
                    name=f"ask {options['url']}", protocol=options["protocol"] or "gradio",
                    base_url=options["url"], deadline=timeout or 3600.0,
                    read_timeout=min(900.0, timeout or 900.0),
                )
            except ValueError as err:
                raise _Stop(f"Cannot use these options: {err}.") from None
            if not target.base_url.startswith(("http://", "https://")):
                raise _Stop(f"--url must start with http:// or https://, not {options['url']!r}.")
        else:
            self.endpoint_row = self._endpoint_row(options["endpoint"])
            target = client_endpoint(self.endpoint_row, deadline=timeout)
            if timeout:
                overrides["read_timeout"] = min(target.read_timeout, timeout)
        return dataclasses.replace(target, **overrides) if overrides else target

    def _endpoint_row(self, name: str | None) -> ModelEndpoint:
        if name:
            row = ModelEndpoint.objects.filter(name=name).first()
            if row is None:
                known = ", ".join(ModelEndpoint.objects.values_list("name", flat=True))
                raise _Stop(f"No model endpoint is named {name!r}. "
                            + (f"Known: {known}." if known else
                               "None is configured: add one in the admin, or use --url."))
            return row
        enabled = list(ModelEndpoint.objects.enabled()[:2])
        if len(enabled) == 1:
            return enabled[0]
        if not enabled:
            raise _Stop("No model endpoint is enabled: add one in the admin, or use --url.")
        names = ", ".join(ModelEndpoint.objects.enabled().values_list("name", flat=True))
        raise _Stop(f"Several endpoints are enabled ({names}); choose one with --endpoint NAME.")

    # -- asking ---------------------------------------------------------------------------
    def _request(self, question: str) -> webui.GenerationRequest:
        o = self.options
        return webui.GenerationRequest(
            system_prompt=o["system"], user_input=question, temperature=o["temperature"],
            top_p=o["top_p"], max_new_tokens=o["max_new_tokens"],
            repetition_penalty=o["repetition_penalty"],
            # Without --stream the endpoint decides: streaming routes keep long calls alive.
            stream=True if o["stream"] else None,
        )

    def _generate(self, question: str, on_partial=None) -> webui.GenerationResult:
        """One question, with retries for errors that retrying can fix; every attempt
        goes through the breaker and (for a configured endpoint) into the call log."""
        request = self._request(question)
        attempt = 0

        def once() -> webui.GenerationResult:
            nonlocal attempt
            if not self.breaker.allow():
                raise BreakerOpen(
                    f"{self.target.name} failed {self.breaker.state()[1]} times in a row; "
                    f"not calling it for {settings.QB_BREAKER_COOLDOWN_SECONDS} seconds. "
                    "Check that the model server is running, then try again."
                )
            attempt += 1
            try:
                result = self.client.generate(request, on_partial=on_partial)
            except webui.WebUIError as err:
                # Only failures that say the server is unwell count against it; a refused
                # input (4xx, a gr.Error with a message) means it is up.
                if err.retryable:
                    self.breaker.record_failure()
                else:
                    self.breaker.record_success()
                self._log(attempt, None, err)
                raise
            self.breaker.record_success()
            self._log(attempt, result, None)
            return result

        def on_retry(err: webui.WebUIError, number: int, delay: float) -> None:
            if self.verbosity >= 2:
                self.stderr.write(f"Attempt {number} failed: {err.message} "
                                  f"Retrying in {delay:.1f} s.")

        deadline = self.target.deadline
        return webui.call_with_retries(
            once, attempts=self.options["retries"] + 1, base=1.0, cap=30.0, total=deadline,
            on_retry=on_retry,
        )

    def _log(self, attempt: int, result, error) -> None:
        # Admins audit every call made to a configured model server, whoever made it and
        # from wherever (the pipeline, the admin, this command), so a question asked from a
        # shell is logged like a generation job's call. user=None: no web user caused it.
        # Calls to an ad-hoc --url are not to a configured endpoint and are not logged.
        if self.endpoint_row is None or isinstance(error, BreakerOpen):
            return
        exchange = result.exchange if result is not None else error.exchange
        tokens = result if result is not None else getattr(error, "result", None)
        fields: dict[str, Any] = {"url": self.endpoint_row.base_url}
        if exchange is not None:
            fields = {
                "method": exchange.method or "POST",
                "url": exchange.url or self.endpoint_row.base_url,
                "route": exchange.route or "",
                "server_version": exchange.server_version or "",
                "request_headers": exchange.request_headers,
                "request_body": "" if exchange.request_body is None else exchange.request_body,
                "response_status": exchange.response_status,
                "response_body": exchange.response_body or "",
                "response_size": exchange.response_size,
                "latency_ms": round(exchange.latency_s * 1000),
            }
        if error is not None:
            fields.update(outcome=CallLog.Outcome.ERROR, error_class=type(error).__name__,
                          error_message=error.message, retryable=error.retryable)
        calllog_record(
            endpoint=self.endpoint_row, protocol=self.endpoint_row.protocol,
            prompt_tokens=getattr(tokens, "prompt_tokens", None),
            completion_tokens=getattr(tokens, "completion_tokens", None),
            attempt=attempt, user=None, **fields,
        )

    def _ask_one(self, question: str) -> None:
        shown = ""

        def on_partial(text: str) -> None:
            nonlocal shown
            # Partials are the whole text so far (Gradio sends it so; the client builds it
            # from OpenAI deltas): print only what is new.
            if text.startswith(shown):
                self.stdout.write(text[len(shown):], ending="")
            else:  # the text was rewritten (a retry started over): start a new line
                self.stdout.write("\n" + text, ending="")
            self.stdout.flush()
            shown = text

        try:
            result = self._generate(question, on_partial if self.options["stream"] else None)
        except webui.TruncatedOutput as err:
            # Show what the model wrote before its budget ran out, then say why it stopped.
            partial = err.partial_text
            if shown and partial.startswith(shown):
                self.stdout.write(partial[len(shown):])
            elif partial:
                self.stdout.write(("\n" if shown else "") + partial)
            elif shown:
                self.stdout.write("")
            raise _Stop(err.message) from None
        except webui.WebUIError as err:
            if shown:
                self.stdout.write("")  # end the partial line before the reason
            raise _Stop(err.message) from None
        if self.options["stream"]:
            if result.text.startswith(shown):
                self.stdout.write(result.text[len(shown):])
            else:
                self.stdout.write("\n" + result.text)
        else:
            self.stdout.write(result.text)

    def _ask_file(self, path: str) -> None:
        try:
            if path == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(path, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
        except OSError as err:
            raise _Stop(f"Cannot read {path}: {err.strerror or err}.") from None
        except UnicodeDecodeError:
            raise _Stop(f"{path} is not UTF-8 text; save it as UTF-8 and try again.") from None
        questions = [line.strip() for line in lines if line.strip()]
        if not questions:
            raise _Stop(f"{path} has no questions (one per line; blank lines are skipped).")
        failed = 0
        for question in questions:
            started = time.monotonic()
            answer, error, finish_reason, tokens = "", None, None, None
            try:
                result = self._generate(question)
            except webui.TruncatedOutput as err:
                error, answer, finish_reason = err.message, err.partial_text, "length"
                if err.result is not None:
                    tokens = {"prompt": err.result.prompt_tokens,
                              "completion": err.result.completion_tokens}
            except webui.WebUIError as err:
                error = err.message
            else:
                answer, finish_reason = result.text, result.finish_reason
                tokens = {"prompt": result.prompt_tokens, "completion": result.completion_tokens}
            failed += error is not None
            line = {
                "question": question, "answer": answer,
                "seconds": round(time.monotonic() - started, 3), "error": error,
                "finish_reason": finish_reason, "tokens": tokens,
            }
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            self.stdout.flush()
        if failed:
            raise _Stop(f"{failed} of {len(questions)} questions failed; see the \"error\" "
                        "field of their lines.")

    # -- output ---------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        for secret in self.target.secrets if self.target else ():
            text = text.replace(secret, "[redacted]")
        if self.endpoint_row is not None:
            for name in ModelEndpoint.SECRET_FIELDS:
                value = getattr(self.endpoint_row, name)
                if value:
                    text = text.replace(value, "[redacted]")
        return text

    def _fail(self, message: str) -> None:
        self.stderr.write(" ".join(self._scrub(message).split()))
        sys.exit(1)

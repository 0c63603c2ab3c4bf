"""Benchmark the model-server client against instant local servers, in one run.

    .venv/bin/python bench/client.py [--calls 200]

Starts two stand-in Gradio WEBUIs (instant non-streaming; streaming with a delay) and the
OpenAI test server, then prints, each beside its anchor:

* calls/second and per-call time of ``Client.generate`` vs the article's plain loop
  ``requests.post(url, data=json.dumps({"data": [...]}), timeout=60)``. The article posts
  without a Content-Type, which Gradio 6.31 answers with 422, and to ``/api/predict/``,
  which 5.x+ moved under ``/gradio_api``: the anchor loop therefore adds the header and
  the prefix, the least it needs to work at all against the current release;
* time to the first partial text vs the full reply on a streaming server.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from questionbank.webui import Client, Endpoint, GenerationRequest  # noqa: E402
from tests.servers.openai_server import start_server  # noqa: E402

DATA = ["", "What is 2+3?", 0.6, 0.95, 16384, 1.0, False]
STREAM_DELAY = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_standins() -> tuple[subprocess.Popen, str, str]:
    instant, streaming = free_port(), free_port()
    specs = [{"port": instant}, {"port": streaming, "stream": True, "delay": STREAM_DELAY,
                                 "chunks": 8}]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.gradio_standins", json.dumps(specs)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    urls = [f"http://127.0.0.1:{p}" for p in (instant, streaming)]
    deadline = time.monotonic() + 180
    for url in urls:
        while True:
            try:
                if requests.get(f"{url}/config", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("stand-in servers did not start")
            time.sleep(0.3)
    return proc, urls[0], urls[1]


def rate(fn, calls: int) -> float:
    """Seconds per call (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    proc, instant, streaming = start_standins()
    server, openai_url = start_server()
    rows: list[tuple[str, float, str, float]] = []
    try:
        url = f"{instant}/gradio_api/api/predict/"

        def article():
            reply = requests.post(url, data=json.dumps({"data": DATA}),
                                  headers={"Content-Type": "application/json"}, timeout=60)
            return reply.json()["data"][0]

        q = GenerationRequest(user_input="What is 2+3?")
        oneshot = Client(Endpoint("bench", "gradio", instant, stream=False))
        viacall = Client(Endpoint("bench-call", "gradio", instant, stream=True))
        anchor = rate(article, args.calls)
        rows.append(("Gradio one-shot /api (s/call)", rate(lambda: oneshot.generate(q),
                                                           args.calls),
                     "article loop", anchor))
        rows.append(("Gradio /call + event stream (s/call)",
                     rate(lambda: viacall.generate(q), args.calls), "article loop", anchor))

        chat = f"{openai_url}/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "What is 2+3?"}],
                "max_tokens": 100}

        def plain_openai():
            return requests.post(chat, json=body, timeout=60).json()["choices"][0]

        oa = Client(Endpoint("bench-oa", "openai", openai_url, stream=False))
        rows.append(("OpenAI non-streaming (s/call)", rate(lambda: oa.generate(q), args.calls),
                     "plain requests.post", rate(plain_openai, args.calls)))

        stream_client = Client(Endpoint("bench-stream", "gradio", streaming, stream=True))
        stream_client.discover()
        firsts, fulls = [], []
        for _ in range(3):
            started = time.perf_counter()
            first: list[float] = []

            def on_partial(_text: str, started=started, first=first) -> None:
                if not first:
                    first.append(time.perf_counter() - started)

            stream_client.generate(GenerationRequest(user_input="What is 6*7?"), on_partial)
            fulls.append(time.perf_counter() - started)
            firsts.append(first[0])
        rows.append((f"first partial text, streaming {STREAM_DELAY:g} s answer (s)",
                     min(firsts), "full reply", min(fulls)))
    finally:
        server.stop()
        proc.terminate()
        proc.wait(10)

    print(f"{'measure':48} {'value':>10}   {'anchor':22} {'anchor value':>12} {'ratio':>7}")
    for name, value, anchor_name, anchor_value in rows:
        print(f"{name:48} {value * 1000:8.2f}ms   {anchor_name:22} "
              f"{anchor_value * 1000:10.2f}ms {value / anchor_value:7.2f}")
    print(f"\ncalls/second: gradio one-shot {1 / rows[0][1]:.0f} vs article {1 / rows[0][3]:.0f};"
          f" /call {1 / rows[1][1]:.0f}; openai {1 / rows[2][1]:.0f} vs plain "
          f"{1 / rows[2][3]:.0f}")
    overhead = (rows[0][1] - rows[0][3]) * 1000
    print(f"client overhead per one-shot call: {overhead:+.2f} ms")


if __name__ == "__main__":
    main()

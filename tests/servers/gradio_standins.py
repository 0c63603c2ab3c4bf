"""Launch several stand-in WEBUIs in one process (one Gradio import for all of them).

    python -m tests.servers.gradio_standins '[{"port": 7861, "stream": true}, ...]'

Each spec holds :func:`questionbank.webui.standin.build_app` options plus ``port``,
``auth`` ("user:pass") and ``show_error``. Prints ``READY`` when all are up, then serves
until killed.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from questionbank.webui.standin import build_app

    specs = json.loads(sys.argv[1])
    for spec in specs:
        port = spec.pop("port")
        auth = spec.pop("auth", "")
        show_error = spec.pop("show_error", False)
        app = build_app(**spec)
        app.launch(
            server_name="127.0.0.1",
            server_port=port,
            auth=tuple(auth.split(":", 1)) if auth else None,
            show_error=show_error,
            prevent_thread_lock=True,
            quiet=True,
        )
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

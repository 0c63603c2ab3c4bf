"""The Gradio protocol, 3.x to 6.x, over plain HTTP (facts: docs/webui-protocol.md)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from typing import Any

from .datatypes import Discovery, Endpoint, Parameter
from .errors import (
    AuthFailed,
    EmptyReply,
    HTTPStatusError,
    LayoutError,
    MalformedReply,
    ServerReportedError,
    WebUIError,
)
from .layout import describe, map_parameters
from .transport import Attempt

CLOSED_ROUTE = "does not accept direct http post"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"4.44.1"`` -> ``(4, 44, 1)``; unknown -> ``()``."""
    parts = re.findall(r"\d+", version or "")[:3]
    return tuple(int(p) for p in parts)


def has_call_route(version: str, api_prefix: str) -> bool:
    """The two-step ``/call/<name>`` route exists from Gradio 4.20 on."""
    parsed = version_tuple(version)
    if parsed:
        return parsed >= (4, 20)
    return bool(api_prefix)  # only 5.x+ announce a prefix


def login(attempt: Attempt) -> None:
    """POST /login (always at the root) so the session holds the auth cookies."""
    endpoint = attempt.endpoint
    if not endpoint.username:
        raise attempt.fail(
            AuthFailed,
            f"The model server at {endpoint.base_url} requires a login; set the endpoint's "
            "username and password.",
            status=401,
        )
    resp = attempt.send(
        "POST",
        f"{endpoint.base_url}/login",
        form={"username": endpoint.username, "password": endpoint.password},
        record=False,
    )
    resp.close()
    if resp.status_code in (400, 401, 403):
        raise attempt.fail(
            AuthFailed,
            f"The model server at {endpoint.base_url} rejected the username or password; "
            "check the endpoint's credentials.",
            status=resp.status_code,
        )
    if resp.status_code >= 300:
        raise attempt.status_error(resp, "while logging in")


def get_json(attempt: Attempt, url: str, *, relogin: bool = True) -> Any:
    """GET a JSON document, logging in once if the server asks for it."""
    resp = attempt.send("GET", url)
    if resp.status_code == 401 and relogin:
        resp.close()
        login(attempt)
        return get_json(attempt, url, relogin=False)
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise attempt.status_error(resp)
    return attempt.read_json(resp)


def _config_parameters(config: dict, api_name: str) -> tuple[dict | None, list[Parameter]]:
    """The dependency named ``api_name`` in /config and its inputs as parameters, with
    defaults from the components' ``props.value`` (the only source of defaults on 3.x)."""
    components = {c.get("id"): c for c in config.get("components", []) if isinstance(c, dict)}
    for position, dep in enumerate(config.get("dependencies", [])):
        if not isinstance(dep, dict) or not dep.get("api_name"):
            continue
        if "/" + str(dep["api_name"]).lstrip("/") != api_name:
            continue
        dep.setdefault("id", position)  # 3.x: fn_index is the position in the list
        params = []
        for index, cid in enumerate(dep.get("inputs", [])):
            comp = components.get(cid, {})
            props = comp.get("props", {}) or {}
            params.append(
                Parameter(
                    index=index,
                    name="",
                    label=str(props.get("label") or props.get("name") or ""),
                    default=props.get("value"),
                    has_default="value" in props,
                    component=str(comp.get("type", "")),
                )
            )
        return dep, params
    return None, []


def _info_parameters(entry: dict) -> list[Parameter]:
    out = []
    for index, p in enumerate(entry.get("parameters", [])):
        if not isinstance(p, dict):
            continue
        out.append(
            Parameter(
                index=index,
                name=str(p.get("parameter_name") or ""),
                label=str(p.get("label") or ""),
                default=p.get("parameter_default"),
                has_default=bool(p.get("parameter_has_default", False)),
                component=str(p.get("component", "")),
            )
        )
    return out


def _merge_defaults(info_params: list[Parameter], cfg_params: list[Parameter]) -> list[Parameter]:
    """Fill defaults missing from /info (3.x) with /config component values, by index."""
    if len(cfg_params) != len(info_params):
        return info_params
    merged = []
    for p, c in zip(info_params, cfg_params, strict=True):
        if not p.has_default and c.has_default:
            p = Parameter(p.index, p.name, p.label or c.label, c.default, True, p.component)
        merged.append(p)
    return merged


def discover(attempt: Attempt) -> Discovery:
    """Read /config and {prefix}/info, choose the endpoint and map its parameters."""
    endpoint = attempt.endpoint
    base = endpoint.base_url
    if endpoint.username:
        login(attempt)
    config = get_json(attempt, f"{base}/config")
    if not isinstance(config, dict):
        raise attempt.fail(MalformedReply, f"{base}/config is not a Gradio config; is this a "
                           "Gradio app?")
    if config.get("auth_required") and not endpoint.username:
        login(attempt)  # raises AuthFailed with an actionable message
    version = str(config.get("version") or "")
    attempt.exchange.server_version = version
    prefix = str(config.get("api_prefix") or "").rstrip("/")

    named: dict[str, list[Parameter]] = {}
    try:
        info = get_json(attempt, f"{base}{prefix}/info")
        for name, entry in (info.get("named_endpoints") or {}).items():
            if isinstance(entry, dict):
                named[name] = _info_parameters(entry)
    except (HTTPStatusError, MalformedReply, AttributeError) as exc:
        if isinstance(exc, AuthFailed):
            raise
        # Very old 3.x apps have no /info: fall back to the config's dependencies.
        for dep in config.get("dependencies", []):
            if isinstance(dep, dict) and dep.get("api_name"):
                name = "/" + str(dep["api_name"]).lstrip("/")
                named[name] = _config_parameters(config, name)[1]

    api_name = choose_endpoint(endpoint, named, base)
    dep, cfg_params = _config_parameters(config, api_name)
    params = _merge_defaults(named[api_name], cfg_params)
    layout = map_parameters(params, endpoint.layout, endpoint_label=api_name)
    types = (dep or {}).get("types") or {}
    return Discovery(
        protocol="gradio",
        version=version,
        api_prefix=prefix,
        api_name=api_name,
        fn_index=(dep or {}).get("id"),
        streaming=bool(types.get("generator", False)),
        call_route=has_call_route(version, prefix),
        parameters=params,
        layout=dict(layout),
    )


def choose_endpoint(endpoint: Endpoint, named: dict[str, list[Parameter]], base: str) -> str:
    """Endpoint.api_name if set; else /predict; else the one endpoint whose parameters map."""
    offered = ", ".join(sorted(named)) or "none"
    if endpoint.api_name:
        if endpoint.api_name in named:
            return endpoint.api_name
        raise LayoutError(
            f"The model server at {base} has no endpoint {endpoint.api_name}; it offers: "
            f"{offered}. Fix the endpoint name.",
            offered=sorted(named),
        )
    if "/predict" in named:
        return "/predict"
    fitting = []
    for name, params in named.items():
        try:
            map_parameters(params, endpoint.layout)
        except LayoutError:
            continue
        fitting.append(name)
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        details = "; ".join(
            f"{name}({', '.join(describe(params))})" for name, params in sorted(named.items())
        )
        raise LayoutError(
            f"None of the model server's endpoints at {base} takes a question: "
            f"{details or 'no endpoints'}. Set the endpoint name and parameter layout.",
            offered=sorted(named),
        )
    raise LayoutError(
        f"Several endpoints of the model server at {base} could take the question "
        f"({', '.join(sorted(fitting))}); set the endpoint name to choose one.",
        offered=sorted(fitting),
    )


def build_data(discovery: Discovery, values: dict[str, Any]) -> list[Any]:
    """The ``data`` list in the server's order: our values where mapped, defaults elsewhere."""
    by_index = {index: values[ours] for ours, index in discovery.layout.items() if ours in values}
    return [
        by_index.get(p.index, p.default if p.has_default else None)
        for p in discovery.parameters
    ]


def _error_text(payload: Any) -> tuple[bool, str]:
    """(is a Gradio error payload, its message or "") for one-shot and event bodies."""
    if isinstance(payload, dict) and "error" in payload:
        message = payload.get("error")
        return True, "" if message is None else _unquoted(str(message))
    return False, ""


def _unquoted(message: str) -> str:
    """Gradio before 5 sends ``gr.Error("text")`` as ``repr`` of its text (``'text'``,
    ``str(Error)`` was ``repr(self.message)``); the teacher should read the text."""
    if len(message) >= 2 and message[0] == message[-1] and message[0] in "'\"":
        try:
            value = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return message
        if isinstance(value, str):
            return value
    return message


def server_error(attempt: Attempt, message: str, *, hidden_reason: str = "") -> WebUIError:
    where = attempt.endpoint.base_url
    if message:
        return attempt.fail(
            ServerReportedError,
            f"The model server at {where} reported an error: {message}",
            server_message=message,
        )
    return attempt.fail(
        ServerReportedError,
        f"The model server at {where} failed while answering and hid the reason"
        f"{hidden_reason}; its console log has the details. Trying again may help.",
    )


def _first_output(attempt: Attempt, data: Any) -> str:
    if not isinstance(data, list) or not data:
        raise attempt.fail(
            MalformedReply,
            f"The model server at {attempt.endpoint.base_url} replied without any output "
            f"(data={json.dumps(data)[:80]}); is the endpoint the text-generation function?",
        )
    value = data[0]
    if isinstance(value, dict) and "value" in value:  # 3.x update dicts
        value = value["value"]
    if value is None or value == "":
        raise attempt.fail(
            EmptyReply, f"The model server at {attempt.endpoint.base_url} returned an empty answer."
        )
    if not isinstance(value, str):
        value = json.dumps(value) if not isinstance(value, int | float) else str(value)
    return value


def post_json(attempt: Attempt, url: str, body: dict) -> Any:
    """POST a JSON body, logging in once if the server asks for it; the response is
    returned unread (callers read a JSON reply or an event stream from it)."""
    resp = attempt.send("POST", url, json_body=body)
    if resp.status_code == 401:
        resp.close()
        login(attempt)
        resp = attempt.send("POST", url, json_body=body)
    return resp


class RouteClosed(Exception):
    """The one-shot route answered 404 "does not accept direct HTTP POST"."""


def call_oneshot(attempt: Attempt, discovery: Discovery, data: list[Any]) -> str:
    """POST {prefix}/api/<name>/ with a JSON body and read ``data[0]``."""
    url = f"{attempt.endpoint.base_url}{discovery.api_prefix}/api{discovery.api_name}/"
    resp = post_json(attempt, url, {"data": data})
    raw = attempt.read_body(resp)
    if resp.status_code == 404 and CLOSED_ROUTE in raw.decode("utf-8", "replace").lower():
        raise RouteClosed()
    if resp.status_code == 500:
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        is_error, message = _error_text(payload)
        if is_error:
            raise server_error(attempt, message, hidden_reason=" (show_error is off)")
        raise attempt.status_error(resp)
    if resp.status_code != 200:
        raise attempt.status_error(resp)
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise attempt.fail(
            MalformedReply,
            f"The model server at {attempt.endpoint.base_url} sent a reply that is not JSON.",
        ) from exc
    if not isinstance(payload, dict):
        raise attempt.fail(MalformedReply, "The model server's reply is not a JSON object.")
    is_error, message = _error_text(payload)
    if is_error and "data" not in payload:
        raise server_error(attempt, message)
    return _first_output(attempt, payload.get("data"))


def call_stream(
    attempt: Attempt,
    discovery: Discovery,
    data: list[Any],
    on_partial: Callable[[str], None] | None,
) -> str:
    """POST {prefix}/call/<name>, then read its event stream until ``complete``."""
    endpoint = attempt.endpoint
    url = f"{endpoint.base_url}{discovery.api_prefix}/call{discovery.api_name}"
    resp = post_json(attempt, url, {"data": data})
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise attempt.status_error(resp)
    started = attempt.read_json(resp)
    event_id = started.get("event_id") if isinstance(started, dict) else None
    if not event_id:
        raise attempt.fail(
            MalformedReply, f"The model server at {endpoint.base_url} did not start the call "
            "(no event_id in its reply)."
        )

    stream_url = f"{url}/{event_id}"
    resp = attempt.send("GET", stream_url, headers={"Accept": "text/event-stream"}, record=False)
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise attempt.status_error(resp)
    attempt.exchange.response_status = resp.status_code

    counts: dict[str, int] = {}
    last_block = ""
    size = 0
    latest = ""
    try:
        for kind, raw in attempt.iter_sse(resp):
            counts[kind] = counts.get(kind, 0) + 1
            size += len(raw) + len(kind) + 16
            last_block = f"event: {kind}\ndata: {raw}"
            attempt.record_response(None, _transcript(counts, last_block).encode(), size)
            if kind == "heartbeat":
                continue
            try:
                payload = json.loads(raw) if raw else None
            except ValueError as exc:
                raise attempt.fail(
                    MalformedReply,
                    f"The model server at {endpoint.base_url} sent an unreadable event.",
                ) from exc
            if kind == "generating":
                if isinstance(payload, list) and payload and isinstance(payload[0], str):
                    latest = payload[0]
                    if on_partial is not None:
                        on_partial(latest)
            elif kind == "complete":
                return _first_output(attempt, payload)
            elif kind == "error":
                if isinstance(payload, str):
                    # Queue-level trouble (unknown or expired event id, server stopping):
                    # not the app's verdict on this input, so a new call may work.
                    raise attempt.fail(
                        ServerReportedError,
                        f"The model server at {endpoint.base_url} lost track of the call "
                        f"({payload[:200]}); try again.",
                        retryable=True,
                    )
                raise server_error(attempt, _error_text(payload)[1])
    finally:
        resp.close()
    # The stream ended without a "complete" event: the server closed it mid-answer.
    raise attempt.cut_off(resp.status_code, size, "event stream")


def _transcript(counts: dict[str, int], last_block: str) -> str:
    """A short log of an event stream: event counts and the last event in full.

    Gradio repeats the whole text in every ``generating`` event, so keeping the stream
    verbatim would log the answer hundreds of times."""
    tally = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    return f"[events: {tally}]\n{last_block}"


__all__ = [
    "RouteClosed",
    "build_data",
    "call_oneshot",
    "call_stream",
    "choose_endpoint",
    "discover",
    "has_call_route",
    "login",
    "version_tuple",
]

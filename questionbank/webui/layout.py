"""Map the server's parameters to our fields by name or label, never by position."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .datatypes import FIELDS, Parameter
from .errors import LayoutError

# Spellings seen in WEBUIs and Gradio demos, compared after _norm(). Order matters
# within a field only in that earlier spellings are tried first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "system_prompt": (
        "systemprompt", "system", "systemmessage", "sysprompt", "systeminstruction",
        "systeminstructions", "instruction", "instructions", "sysmsg", "systemmsg",
    ),
    "user_input": (
        "userinput", "input", "message", "prompt", "question", "userprompt", "usermessage",
        "query", "text", "inputtext", "usermsg", "msg", "problem", "userquestion",
    ),
    "temperature": ("temperature", "temp"),
    "top_p": ("topp", "nucleussampling", "toppsampling"),
    "max_new_tokens": (
        "maxnewtokens", "maxtokens", "maxlength", "maxnewlength", "maxnewtoken",
        "maxoutputtokens", "maxgenlen", "maxgenerationlength", "newtokens", "numtokens",
        "maxnumtokens", "maxtokenstogenerate",
    ),
    "repetition_penalty": (
        "repetitionpenalty", "repeatpenalty", "reppenalty", "repetitionpen", "penalty",
    ),
    "streaming": ("streaming", "stream", "streamoutput", "enablestreaming", "usestreaming"),
}

REQUIRED = ("user_input",)


def _norm(text: str) -> str:
    """Case, space and punctuation-insensitive form: "Top-p" == "top_p" == "TopP"."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _names(p: Parameter) -> list[str]:
    return [n for n in (_norm(p.name), _norm(p.label)) if n]


def describe(parameters: Sequence[Parameter]) -> list[str]:
    """Readable list of what a server offers, for error messages."""
    out = []
    for p in parameters:
        label = f" ({p.label!r})" if p.label and p.label != p.name else ""
        out.append(f"#{p.index} {p.name or p.label or '?'}{label}")
    return out


def _resolve_override(target: str | int, parameters: Sequence[Parameter], ours: str) -> int:
    if isinstance(target, int) or (isinstance(target, str) and target.strip().isdigit()):
        index = int(target)
        if 0 <= index < len(parameters):
            return index
    else:
        wanted = _norm(target)
        for p in parameters:
            if wanted and wanted in _names(p):
                return p.index
    raise LayoutError(
        f"The administrator's layout maps {ours!r} to {target!r}, which this server does not "
        f"have. It offers: {', '.join(describe(parameters)) or 'no parameters'}.",
        offered=describe(parameters),
    )


def map_parameters(
    parameters: Sequence[Parameter],
    override: Mapping[str, str | int] | None = None,
    *,
    endpoint_label: str = "",
) -> dict[str, int]:
    """Our field -> parameter index.

    The admin override wins field by field; the rest are matched exactly on a spelling
    first and then on a prefix ("Max New Tokens (1-40960)"). Raises :class:`LayoutError`
    when a required field stays unmapped. Parameters left unmapped keep their defaults.
    """
    layout: dict[str, int] = {}
    taken: set[int] = set()
    for ours, target in (override or {}).items():
        if ours not in FIELDS:
            raise LayoutError(
                f"The administrator's layout names an unknown field {ours!r}; "
                f"known fields are {', '.join(FIELDS)}.",
                offered=describe(parameters),
            )
        index = _resolve_override(target, parameters, ours)
        layout[ours] = index
        taken.add(index)

    # Exact matches first across all fields, so "prompt" as a label for the user input
    # cannot be stolen by a fuzzy match of "system prompt".
    for exact in (True, False):
        for ours in FIELDS:
            if ours in layout:
                continue
            for p in parameters:
                if p.index in taken:
                    continue
                names = _names(p)
                hit = any(
                    (n == s) if exact else (n.startswith(s) and len(s) >= 5)
                    for n in names
                    for s in SYNONYMS[ours]
                )
                if hit:
                    layout[ours] = p.index
                    taken.add(p.index)
                    break

    for ours in REQUIRED:
        if ours not in layout:
            where = f" {endpoint_label}" if endpoint_label else ""
            raise LayoutError(
                f"Cannot tell which parameter of the server's endpoint{where} takes the "
                f"question ({ours}). It offers: {', '.join(describe(parameters)) or 'nothing'}. "
                "Set the parameter layout on the endpoint.",
                offered=describe(parameters),
            )
    return layout

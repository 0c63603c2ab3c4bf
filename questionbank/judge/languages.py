"""The languages the judge runs, and whether this machine has what each one needs.

Only tools under ``/usr`` can be used: that is all of the host a sandbox sees.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from .extract import LANGUAGE_LABELS

_SYSTEM_PATH = "/usr/local/bin:/usr/bin"


@dataclass(frozen=True)
class Language:
    key: str
    source_name: str
    tool: str  # interpreter or compiler, "" when missing
    missing: str  # what to install, said plainly

    @property
    def label(self) -> str:
        return LANGUAGE_LABELS[self.key]

    @property
    def compiled(self) -> bool:
        return self.key != "python"

    def unavailable(self) -> str | None:
        if self.tool:
            return None
        return f"{self.label} is not installed on this server ({self.missing})"

    def compile_command(self) -> list[str]:
        standard = "-std=gnu17" if self.key == "c" else "-std=gnu++17"
        return [self.tool, standard, "-O2", "-pipe", "-o", "/box/main",
                f"/box/{self.source_name}", "-lm"]

    def run_command(self) -> list[str]:
        if self.key == "python":
            # -I: no user site, no PYTHON* variables; -S: no site-packages (stdlib only,
            # and a faster start); -B: nothing written next to the source.
            return [self.tool, "-I", "-S", "-B", f"/box/{self.source_name}"]
        return ["/box/main"]


def _system_tool(name: str) -> str:
    path = shutil.which(name, path=_SYSTEM_PATH) or ""
    return path if path and os.path.realpath(path).startswith("/usr/") else ""


def languages() -> dict[str, Language]:
    """Each language with the tool found for it on this machine (looked up per call: a
    package installed meanwhile is used without a restart)."""
    return {
        "python": Language("python", "main.py", _system_tool("python3"),
                           "install Debian's python3"),
        "c": Language("c", "main.c", _system_tool("gcc"), "install gcc"),
        "cpp": Language("cpp", "main.cpp", _system_tool("g++"), "install g++"),
    }

"""Crash reports that hold no patient data, written where only this user can read them.

A crash report goes to the system administrator, often by e-mail; issue 10 found one holding a
date of birth, because an exception's message and a traceback's values can carry whatever the
program was working on. :func:`safe_traceback` keeps only what locates the fault: the exception's
type, each frame's file, line and function, and the source line of the program — never the
exception's message, arguments or local values. :func:`write_report` writes it 0600 in a 0700
folder (:func:`doseprep.paths.private_dir`).
"""

from __future__ import annotations

import platform
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from doseprep import __version__
from doseprep.paths import private_dir, write_private


def safe_traceback(exc_type: type[BaseException], exc: BaseException | None,
                   tb: TracebackType | None) -> str:
    """The traceback with frames and exception types only (see the module docstring)."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    chain: list[tuple[type[BaseException], TracebackType | None]] = [(exc_type, tb)]
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = current.__cause__ or current.__context__
        if cause is not None and id(cause) not in seen:
            chain.append((type(cause), cause.__traceback__))
        current = cause
    for number, (kind, trace) in enumerate(reversed(chain)):
        if number:
            lines.append("\nwhile handling it, another exception occurred:\n")
        lines.append("Traceback (most recent call last):\n")
        for frame in traceback.extract_tb(trace):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n')
            if frame.line and _is_program(frame.filename):
                lines.append(f"    {frame.line.strip()}\n")
        lines.append(f"{kind.__module__}.{kind.__qualname__} (message withheld: it may hold "
                     "patient data)\n")
    return "".join(lines)


def _is_program(filename: str) -> bool:
    """Source lines are shown only for doseprep's own code, never for data-bearing libraries."""
    return "doseprep" in Path(filename).parts or "ui" in Path(filename).parts


def write_report(folder: Path, what: str, details: str, *, where: str = "") -> Path | None:
    """Write one crash report into ``folder``; returns its path, None if it cannot be written."""
    stamp = datetime.now(UTC)
    try:
        private_dir(folder)
        path = folder / f"crash-{stamp:%Y%m%dT%H%M%S%fZ}.txt"
        write_private(path, f"doseprep {__version__}{where} — {what}\n"
                            f"time: {stamp.isoformat()}\n"
                            f"python: {sys.version.split()[0]}, {platform.platform()}\n\n"
                            f"{details}\n")
    except OSError:
        return None
    return path

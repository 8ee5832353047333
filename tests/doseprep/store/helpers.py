"""Helpers shared by the record-store tests: the standard accounts, a correct re-entry, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class People:
    """The accounts every workflow test starts with: id → password."""

    admin: str = "admin"
    tech: str = "tech"
    tech2: str = "tech2"
    sup: str = "sup"
    sup2: str = "sup2"

    @staticmethod
    def password(user_id: str) -> str:
        return f"{user_id}-secret-pw"


def typed(din: str) -> str:
    """A DIN as a person re-types it from the label: with its boxed check character."""
    from doseprep.isbt128 import din_from_scan_or_entry

    found, _ = din_from_scan_or_entry(din)
    return din if din.lstrip().startswith(("=", "]")) else found.keyboard_entry
def unique_din(number: int) -> str:
    """A DIN of its own for the ``number``-th product of a test: one collection has one ledger,
    so records that are not about the same bag must not share a DIN (issue 22)."""
    return f"G123417{number % 1_000_000:06d}"


def with_din(request: dict, number: int) -> dict:
    """``request`` for its own collection (see :func:`unique_din`)."""
    return request | {"product": request["product"] | {"din": unique_din(number)}}


def reentry_of(request: dict) -> dict:
    """A correct blind re-entry of ``request`` (the values exactly as typed, a DIN with its check
    character): a fresh or freeze request's counts, or a thaw request's bag and post-thaw
    counts."""
    if request.get("kind") == "thaw":
        out = {"patient": {"weight": request["patient"]["weight"]},
               "aliquot": {"din": typed(request["aliquot"]["din"]),
                           "division": request["aliquot"]["division"]}}
        if "post_thaw" in request:
            out["post_thaw"] = dict(request["post_thaw"])
        return out
    product = request["product"]
    out = {"patient": {"weight": request["patient"]["weight"]},
           "product": {key: product[key] for key in ("wbc", "cd3_percent", "viability_percent",
                                                     "sample_dilution") if key in product}}
    out["product"]["din"] = typed(product["din"])
    if "order" in request:
        out["order"] = {"dose_level": request["order"]["dose_level"]}
    for key in ("volume", "net_weight"):
        if key in product:
            out["product"][key] = product[key]
    return out


def current_freeze(request: dict, *, hours_ago: float = 20) -> dict:
    """A freeze request frozen ``hours_ago`` hours ago, collected six hours before that (real
    hours, written at the site's offset then)."""
    from datetime import timedelta

    frozen = _site_time(-timedelta(hours=hours_ago))
    return request | {"frozen_at": frozen.isoformat(),
                      "product": request["product"] | {
                          "collected_at": _site_time(-timedelta(hours=hours_ago + 6)).isoformat()}}


def thaw_now(patient: dict, *, minutes_ago: float = 10, post_thaw: dict | None = None) -> dict:
    """A thaw request (without the bag's data: the store fills them) thawed ``minutes_ago``."""
    from datetime import timedelta

    thawed = _site_time(-timedelta(minutes=minutes_ago))
    out = {"kind": "thaw", "protocol": "hmct-blinatumomab", "patient": dict(patient),
           "thawed_at": thawed.isoformat()}
    if post_thaw is not None:
        out["post_thaw"] = post_thaw
    return out


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            user: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``doseprep`` as a user does, in a new process. ``user``: the command is run as that
    user with their password on standard input (``--user ID --password-stdin``)."""
    if user is not None:
        args = (*args, "--user", user, "--password-stdin")
        stdin = People.password(user) + "\n" + (stdin or "")
    return subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=Path(__file__).parent)


def current(request: dict, *, hours_ago: float = 0.5) -> dict:
    """``request`` prepared ``hours_ago`` hours ago (collected a day before), in the site's
    zone: for tests that sign through the real command, which checks the infusion has not
    expired at the real time."""
    from datetime import timedelta

    prepared = _site_time(-timedelta(hours=hours_ago))
    return request | {"prepared_at": prepared.isoformat(),
                      "product": request["product"] | {
                          "collected_at": _site_time(-timedelta(hours=hours_ago + 24)
                                                     ).isoformat()}}


def _site_time(shift):
    """Now + ``shift`` of real time, as the site's (Los Angeles) clocks show it: arithmetic on
    wall clocks could land in the spring gap on the day the clocks change."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime.now(UTC).replace(microsecond=0) + shift
    return moment.astimezone(ZoneInfo("America/Los_Angeles"))


def converse(args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run ``doseprep`` on a pseudo-terminal, answering each prompt as a person would; returns
    the exit status and everything the terminal showed."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the program, on the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "doseprep", *args], os.environ)
    seen = b""
    shown = b""
    try:
        for prompt, answer in answers:
            while prompt.encode() not in seen:
                ready, _, _ = select.select([fd], [], [], 30)
                assert ready, f"no prompt {prompt!r}; saw {shown.decode(errors='replace')!r}"
                chunk = os.read(fd, 4096)
                seen += chunk
                shown += chunk
            seen = seen.split(prompt.encode(), 1)[1]
            os.write(fd, answer.encode() + b"\r")
        while True:
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

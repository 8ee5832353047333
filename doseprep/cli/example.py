"""``doseprep example [FILE]``: the bundled example request, stamped with today's times.

A new user's first request: the example of ``resources/examples/request-dl3.json`` with the
collection a day ago and the preparation now, in the lab's time zone — so the README's walkthrough
can be run as written on any day (a request whose infusion has expired cannot be signed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from doseprep.cli.common import (
    FieldError,
    write_file,
)
from doseprep.units.instants import at_site, later, site_now


def example_request(time_zone: str, now: datetime | None = None) -> dict[str, Any]:
    """The bundled example request, collected 24 h before ``now`` and prepared at ``now``."""
    from doseprep.jsonread import load_json
    from doseprep.resources import resource_path

    data = load_json(resource_path("examples", "request-dl3.json").read_text(encoding="utf-8"),
                     field="example", source="The bundled example", exact=False)
    moment = site_now(time_zone, now).replace(second=0, microsecond=0)
    # 24 real hours before, at the site's offset then (another one across a clock change).
    data["product"]["collected_at"] = at_site(later(moment, -timedelta(hours=24)),
                                              time_zone).isoformat()
    data["prepared_at"] = moment.isoformat()
    return data


def _cmd_example(args: argparse.Namespace) -> int:
    from doseprep.errors import SettingsError
    from doseprep.protocol import load_lab
    from doseprep.settings import configured_lab

    try:
        lab = load_lab(configured_lab(args.lab))
    except SettingsError as exc:
        raise FieldError("lab", str(exc)) from None
    text = json.dumps(example_request(lab.time_zone), indent=2, ensure_ascii=False) + "\n"
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0

    write_file(args.file, text)
    sys.stdout.write(f"{args.file}\n")
    return 0


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    p = subparsers.add_parser("example", help="write the example request, collected a day ago "
                                              "and prepared now (a first request to try)")
    p.add_argument("file", nargs="?", help="where to write it (default: standard output)")
    p.add_argument("--lab", metavar="FILE", help="lab settings whose time zone to use")
    p.set_defaults(func=_cmd_example)

"""``doseprep freeze`` and ``doseprep thaw``: the cycle-2 plans from a request file (DESIGN.md,
"Cryopreserved aliquots"), as a report or, with ``--json``, as the JSON the contract specifies.
The same settings options and input-error rules as ``doseprep plan``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import EXIT_OK, FieldError, attach_approval, read_with_settings


def _cmd_freeze(args: argparse.Namespace) -> int:
    from doseprep.cryo.freeze import freeze_plan, freeze_to_dict, parse_freeze_request
    from doseprep.cryo.report import freeze_text

    data, lab, protocol, problem = read_with_settings(args)
    request = parse_freeze_request(data, zone=lab.time_zone, protocol=protocol)
    if protocol is None:
        raise FieldError("protocol", str(problem))
    result = freeze_plan(request, attach_approval(protocol), lab)
    _write(args, freeze_to_dict(result), freeze_text(result))
    return EXIT_OK


def _cmd_thaw(args: argparse.Namespace) -> int:
    from doseprep.cryo.report import thaw_text
    from doseprep.cryo.thaw import parse_thaw_request, thaw_plan, thaw_to_dict

    data, lab, protocol, problem = read_with_settings(args)
    request = parse_thaw_request(data, zone=lab.time_zone)
    if protocol is None:
        raise FieldError("protocol", str(problem))
    result = thaw_plan(request, attach_approval(protocol), lab)
    _write(args, thaw_to_dict(result), thaw_text(result))
    return EXIT_OK


def _write(args: argparse.Namespace, as_json: dict[str, Any], as_text: str) -> None:
    if args.json:
        json.dump(as_json, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(as_text)


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``freeze`` and ``thaw`` to the ``doseprep`` command line."""
    p = subparsers.add_parser("freeze", help="plan the aliquots to freeze from one collection "
                                             "(cycle 2)")
    add_settings_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_freeze)
    p = subparsers.add_parser("thaw", help="plan the infusion of one thawed aliquot (cycle 2)")
    add_settings_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_thaw)

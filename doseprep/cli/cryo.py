"""``doseprep freeze`` and ``doseprep thaw``: the cycle-2 plans from a request file (DESIGN.md,
"Cryopreserved aliquots"), as a report or, with ``--json``, as the JSON the contract specifies.
The same settings options and input-error rules as ``doseprep plan``. A thaw of a stored bag
(``--aliquot``, ``--scan`` or the request's ``aliquot_ref``) takes the bag's data from its freeze
record in the record store, after the refusals (not frozen, another patient, expired frozen)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    FieldError,
    bag_options,
    compute,
    read_request,
    store_command,
)


def _check_kind(args: argparse.Namespace, kind: str) -> None:
    from doseprep.workflow import request_kind

    data = read_request(args.request)
    if request_kind(data) != kind:
        raise FieldError("kind", f"doseprep {kind} takes a {kind} request "
                                 f"(\"kind\": \"{kind}\"); this one is a "
                                 f"{request_kind(data)} request.")


def _cmd_freeze(args: argparse.Namespace) -> int:
    from doseprep.plans.cryo_report import freeze_text
    from doseprep.plans.freeze import freeze_to_dict

    _check_kind(args, "freeze")
    result = compute(args)
    _write(args, freeze_to_dict(result), freeze_text(result))
    return EXIT_OK


def _thaw(args: argparse.Namespace, store: Any = None) -> int:
    from doseprep.plans.cryo_report import thaw_text
    from doseprep.plans.thaw import thaw_to_dict

    _check_kind(args, "thaw")
    result = compute(args, store)
    _write(args, thaw_to_dict(result), thaw_text(result))
    return EXIT_OK


def _cmd_thaw(args: argparse.Namespace) -> int:
    data = read_request(args.request)
    stored = args.aliquot or args.scan or (isinstance(data, dict) and data.get("aliquot_ref"))
    if stored:
        return store_command(lambda a: _thaw(a, a.store))(args)
    return _thaw(args)


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
    bag_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_thaw)

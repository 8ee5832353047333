"""The ``doseprep product`` commands: the ledger of one collection (DIN), and its QC samples.

``product show DIN [--json]`` prints what was received under the DIN, every record that drew from
it (record, version, mL, viable CD3+, when, who), the QC samples and what remains
(:mod:`doseprep.store.ledger`). ``product sample DIN --volume 1 --purpose TEXT`` records a QC
sample taken from the bag, audited. Both need the user's password: they show and change records.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    password_option,
    sign_in,
    store_command,
    user_option,
)
from doseprep.errors import InputError

_VOLUME = re.compile(r"^\s*(\d{1,4}(?:\.\d{1,3})?)\s*(?:mL|ml)?\s*$")


def _din(text: str) -> str:
    from doseprep.isbt128 import din_from_scan_or_entry

    return din_from_scan_or_entry(text, "din")[0].code


def _volume(text: str) -> Decimal:
    match = _VOLUME.match(text or "")
    if not match:
        raise InputError("volume", f"\"{text}\" is not a volume in mL; write it like 1 or "
                                   "1.5 mL.")
    try:
        return Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise InputError("volume", f"\"{text}\" is not a volume in mL.") from None


def _mL(value: float | None) -> str:  # noqa: N802 - the unit's spelling
    return "—" if value is None else f"{value:.2f} mL"


def ledger_text(data: dict[str, Any]) -> str:
    """The ledger as a technician reads it."""
    if data["received_mL"] is None:
        return f"DIN {data['din']}: no record names it yet; its ledger opens with the first.\n"
    lines = [f"Product ledger of DIN {data['din']}",
             f"  Received   {_mL(data['received_mL'])} (with {data['received_with']})",
             "  Draws"]
    for d in data["draws"]:
        prepared = (f"prepared {d['prepared_at'][:16].replace('T', ' ')}Z by "
                    f"{d['prepared_by']}" if d["prepared_at"] else "not prepared yet")
        note = "" if d["counted"] else "  (its plan can never be prepared: draws nothing)"
        lines.append(f"    {d['record']:<22} {d['kind']:<6} {d['state']:<9} "
                     f"{_mL(d['used_mL']):>10} of {_mL(d['product_volume_mL'])}, "
                     f"{d['viable_cd3']:.3e} viable CD3+; saved "
                     f"{d['saved_at'][:16].replace('T', ' ')}Z by {d['saved_by']}, "
                     f"{prepared}{note}")
    if data["qc_samples"]:
        lines.append("  QC samples")
        lines += [f"    {_mL(s['volume_mL']):>10}  {s['purpose']}  "
                  f"{s['taken_at'][:16].replace('T', ' ')}Z by {s['taken_by']}"
                  for s in data["qc_samples"]]
    lines.append(f"  Remaining  {_mL(data['remaining_mL'])}")
    return "\n".join(lines) + "\n"


@store_command
def _cmd_show(args: argparse.Namespace) -> int:
    from doseprep.store.ledger import product_ledger

    din = _din(args.din)
    sign_in(args, "showing a product ledger")
    data = product_ledger(args.store, din).to_dict()
    if args.json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(ledger_text(data))
    return EXIT_OK


@store_command
def _cmd_sample(args: argparse.Namespace) -> int:
    from doseprep.store.ledger import take_sample

    din, volume = _din(args.din), _volume(args.volume)
    sign_in(args, "recording a QC sample")
    ledger = take_sample(args.store, din, volume, args.purpose, args.user)
    sys.stdout.write(f"QC sample of {volume} mL recorded; DIN {ledger.din} has "
                     f"{_mL(float(ledger.remaining_ml or 0))} left\n")
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``product show|sample`` to the ``doseprep`` command line."""
    product = subparsers.add_parser("product", help="the ledger of one collection (DIN): what "
                                                    "was received, drawn, sampled and is left")
    psub = product.add_subparsers(dest="product_command", required=True, metavar="ACTION")
    p = psub.add_parser("show", help="the ledger of a DIN")
    p.add_argument("din", help="the donation identification number (typed with its check "
                               "character, or scanned)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    user_option(p, "the person looking")
    password_option(p)
    p.set_defaults(func=_cmd_show)
    p = psub.add_parser("sample", help="record a QC sample taken from the bag of a DIN")
    p.add_argument("din", help="the donation identification number")
    p.add_argument("--volume", required=True, help="the sample's volume in mL (e.g. 1)")
    p.add_argument("--purpose", required=True, help="what the sample is for (e.g. sterility)")
    user_option(p, "the person taking the sample")
    password_option(p)
    p.set_defaults(func=_cmd_sample)

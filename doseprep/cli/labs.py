"""The ``doseprep lab`` commands: approve a lab settings file, and see which are approved.

The lab file holds the equipment and habits every volume depends on (syringes, smallest
measurable volume, QC reserve, dilutions, the cryo figures, the ISBT 128 facility data), so it is
approved like a protocol (issue 22): ``lab approve FILE --admin ID`` records an administrator's
signed approval of that exact file (its fingerprint) in the record store, after the
administrator's password. A document is for clinical use only when both the protocol and the lab
file it was computed with are approved. ``lab show FILE`` says whether a file is approved and by
whom; ``lab list`` lists the approvals.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    FieldError,
    Passwords,
    password_option,
    store_command,
)
from doseprep.errors import SettingsError


def _load(ref: str | None):
    from doseprep.protocol import load_lab

    try:
        return load_lab(ref)
    except SettingsError as exc:
        raise FieldError("lab", str(exc)) from None


@store_command
def _cmd_approve(args: argparse.Namespace) -> int:
    from doseprep.store import approve_lab

    lab = _load(args.file)
    sys.stdout.write(f"Approving for clinical use the lab settings of {lab.name}\n"
                     f"  file {lab.source}\n  fingerprint {lab.fingerprint}\n")
    password = Passwords(args.password_stdin).ask(f"Password of administrator {args.admin}: ")
    approval = approve_lab(args.store, lab, args.admin, password)
    sys.stdout.write(f"approved by {approval.printed_name} ({approval.approved_by}) at "
                     f"{approval.approved_at} UTC\n")
    return EXIT_OK


@store_command
def _cmd_show(args: argparse.Namespace) -> int:
    from doseprep.store import with_lab_approval

    lab = with_lab_approval(args.store, _load(args.file))
    approval = lab.approval if lab.approved else None
    out = {"name": lab.name, "file": lab.source, "fingerprint": lab.fingerprint,
           "approved": lab.approved,
           "approved_by": approval.approved_by if approval else None,
           "printed_name": approval.printed_name if approval else None,
           "approved_at": approval.approved_at if approval else None,
           "example_facility": lab.example_facility}
    if args.json:
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    sys.stdout.write(f"Lab settings of {lab.name}\n"
                     f"  file         {lab.source}\n"
                     f"  fingerprint  {lab.fingerprint}\n")
    if approval:
        sys.stdout.write(f"  APPROVED for clinical use by {approval.printed_name} "
                         f"({approval.approved_by}) at {approval.approved_at} UTC\n")
    else:
        sys.stdout.write("  NOT APPROVED: documents made with it say NOT FOR CLINICAL USE; an "
                         "administrator approves it with doseprep lab approve FILE\n")
    return EXIT_OK


@store_command
def _cmd_list(args: argparse.Namespace) -> int:
    from doseprep.store import list_lab_approvals

    approvals = list_lab_approvals(args.store)
    if args.json:
        json.dump([{"name": name, "fingerprint": a.fingerprint, "approved_by": a.approved_by,
                    "printed_name": a.printed_name, "approved_at": a.approved_at}
                   for name, a in approvals], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not approvals:
        sys.stdout.write("No lab settings file is approved.\n")
    for name, a in approvals:
        sys.stdout.write(f"{a.fingerprint}  {name}: approved by {a.printed_name} "
                         f"({a.approved_by}) at {a.approved_at} UTC\n")
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``lab approve|show|list`` to the ``doseprep`` command line."""
    lab = subparsers.add_parser("lab", help="approve lab settings files for clinical use and see "
                                            "which are approved")
    lsub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    p = lsub.add_parser("approve", help="approve a lab settings file (its exact fingerprint) for "
                                        "clinical use, as administrator (asks the password)")
    p.add_argument("file", help="the lab settings TOML file")
    p.add_argument("--admin", required=True, metavar="ID", help="the approving administrator")
    password_option(p)
    p.set_defaults(func=_cmd_approve)
    p = lsub.add_parser("show", help="whether a lab settings file is approved, and by whom")
    p.add_argument("file", help="the lab settings TOML file")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_show)
    p = lsub.add_parser("list", help="the approved lab settings fingerprints")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_list)

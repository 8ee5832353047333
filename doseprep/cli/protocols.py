"""The ``doseprep protocol`` commands: approve a protocol file, and see what is approved.

``protocol approve FILE --admin ID`` records an administrator's signed approval of that exact file
(its fingerprint) in the record store, after the administrator's password; from then on documents
made with it no longer say NOT FOR CLINICAL USE. ``protocol show FILE`` tells whether a file is
approved and by whom, beside what the file itself claims; ``protocol list`` lists the approvals.
A file's own ``approved = true`` is its author's intention and never counts.
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


def _load(ref: str):
    from doseprep.protocol import load_protocol

    try:
        return load_protocol(ref)
    except SettingsError as exc:
        raise FieldError("protocol", str(exc)) from None


@store_command
def _cmd_approve(args: argparse.Namespace) -> int:
    from doseprep.store import approve_protocol

    protocol = _load(args.file)
    sys.stdout.write(f"Approving for clinical use: {protocol.title}, version {protocol.version}\n"
                     f"  file {protocol.source}\n  fingerprint {protocol.fingerprint}\n")
    password = Passwords(args.password_stdin).ask(f"Password of administrator {args.admin}: ")
    approval = approve_protocol(args.store, protocol, args.admin, password)
    sys.stdout.write(f"approved by {approval.printed_name} ({approval.approved_by}) at "
                     f"{approval.approved_at} UTC\n")
    return EXIT_OK


@store_command
def _cmd_show(args: argparse.Namespace) -> int:
    from doseprep.store import with_approval

    protocol = with_approval(args.store, _load(args.file))
    approval = protocol.approval
    out = {"id": protocol.id, "title": protocol.title, "version": protocol.version,
           "file": protocol.source, "fingerprint": protocol.fingerprint,
           "author_approved": protocol.author_approved, "approved": protocol.approved,
           "approved_by": approval.approved_by if approval else None,
           "approved_at": approval.approved_at if approval else None}
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    sys.stdout.write(f"{protocol.title}, version {protocol.version}\n"
                     f"  file         {protocol.source}\n"
                     f"  fingerprint  {protocol.fingerprint}\n"
                     f"  the file says approved = {str(protocol.author_approved).lower()} "
                     "(the author's intention, not an approval)\n")
    if approval:
        sys.stdout.write(f"  APPROVED for clinical use by {approval.printed_name} "
                         f"({approval.approved_by}) at {approval.approved_at} UTC\n")
    else:
        sys.stdout.write("  NOT APPROVED: documents made with it say NOT FOR CLINICAL USE; an "
                         "administrator approves it with doseprep protocol approve FILE\n")
    return EXIT_OK


@store_command
def _cmd_list(args: argparse.Namespace) -> int:
    from doseprep.store import list_approvals

    approvals = list_approvals(args.store)
    if not approvals:
        sys.stdout.write("No protocol is approved.\n")
    for a in approvals:
        sys.stdout.write(f"{a.fingerprint}  approved by {a.printed_name} ({a.approved_by}) at "
                         f"{a.approved_at} UTC\n")
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``protocol approve|show|list`` to the ``doseprep`` command line."""
    protocol = subparsers.add_parser("protocol", help="approve protocol files for clinical use "
                                                      "and see which are approved")
    psub = protocol.add_subparsers(dest="protocol_command", required=True, metavar="ACTION")
    p = psub.add_parser("approve", help="approve a protocol file (its exact fingerprint) for "
                                        "clinical use, as administrator (asks the password)")
    p.add_argument("file", help="protocol id or TOML file")
    p.add_argument("--admin", required=True, metavar="ID", help="the approving administrator")
    password_option(p)
    p.set_defaults(func=_cmd_approve)
    p = psub.add_parser("show", help="whether a protocol file is approved, and by whom")
    p.add_argument("file", help="protocol id or TOML file")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_show)
    p = psub.add_parser("list", help="the approved protocol fingerprints")
    p.set_defaults(func=_cmd_list)

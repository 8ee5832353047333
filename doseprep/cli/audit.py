"""The ``doseprep audit`` commands: verify the hash-chained trail (exit 1 if anything was
altered) and export it as CSV (audited)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doseprep.cli.common import (
    EXIT_BROKEN,
    EXIT_OK,
    password_option,
    sign_in,
    store_command,
    user_option,
)
from doseprep.errors import InputError


@store_command
def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from doseprep.signatures.worksheets import verify_pdf
    from doseprep.store import verify_store
    from doseprep.store.checkpoints import pdf_checkpoint

    trust = [Path(p) for p in args.trust or ()]
    kept = []
    for name in args.against or ():
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError("against", f"{path} cannot be read ({exc}).") from None
        checked = verify_pdf(data, trust)
        if not checked.valid:
            raise InputError("against", f"{path} is not a valid doseprep document: "
                                        f"{'; '.join(checked.problems)}. A document that does "
                                        "not verify cannot witness the trail.")
        checkpoint = pdf_checkpoint(data, str(path))
        if checkpoint is None:
            raise InputError("against", f"{path} carries no audit checkpoint (a worksheet of "
                                        "a saved record printed by doseprep 0.1 with issue 10 "
                                        "or later has one).")
        kept.append(checkpoint)
    report = verify_store(args.store, trust, kept)
    if report.problem is not None:
        sys.stdout.write(f"audit trail BROKEN: {report.problem}\n")
        return EXIT_BROKEN
    sys.stdout.write(f"audit trail OK: {report.audit_rows} rows, hash chain intact and held "
                     f"against {report.checkpoints} checkpoints kept outside the database; "
                     f"{report.records} record versions and {report.signatures} signatures match "
                     "their hashes and their signers' keys; every account is as its "
                     "administrators signed it\n")
    return EXIT_OK


@store_command
def _cmd_audit_export(args: argparse.Namespace) -> int:
    from doseprep.store import export_csv
    from doseprep.store.users import Role, require_active_user

    with args.store.read() as conn:
        require_active_user(conn, args.user, frozenset(Role), "export the audit trail")
    sign_in(args, "exporting the audit trail")
    if args.output and args.output != "-":
        path = Path(args.output)
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                count = export_csv(args.store, out, args.user, str(path.resolve()))
        except OSError as exc:
            raise InputError("output", f"{path} cannot be written ({exc}).") from None
        sys.stderr.write(f"exported {count} audit rows to {path}\n")
    else:
        export_csv(args.store, sys.stdout, args.user, "standard output")
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``audit`` to the ``doseprep`` command line."""
    audit = subparsers.add_parser("audit", help="check or export the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = asub.add_parser("verify", help="check the hash chain and every signed record; exit 1 "
                                       "if anything was altered")
    p.add_argument("--against", action="append", metavar="FILE.pdf",
                   help="also hold the trail against the checkpoint printed in this signed "
                        "worksheet (repeatable)")
    p.add_argument("--trust", action="append", metavar="CERT",
                   help="trust only this certificate (PEM or DER; repeatable) for users' keys "
                        "and --against documents: the lab key's, and for keys older than "
                        "revision 0005 the installations' of those days")
    p.set_defaults(func=_cmd_audit_verify)
    p = asub.add_parser("export", help="write the audit trail as CSV (the export is audited)")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV file (default: standard output)")
    user_option(p, "the person exporting")
    password_option(p)
    p.set_defaults(func=_cmd_audit_export)

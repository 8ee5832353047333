"""The ``doseprep record`` commands: save, prepare, verify, release, correct, print, show, list.

``record save|prepare|verify|release|correct|print|show|list`` keep preparation records and their
electronic signatures; ``users add|list|disable|reset-password`` manage accounts; ``audit
verify|export`` check and export the hash-chained audit trail. The database is the SQLite file in
the data directory unless ``DOSEPREP_DATABASE_URL`` names another (PostgreSQL for a lab).

Passwords are never command-line arguments: they are asked for on the terminal, or read one per
line from standard input with ``--password-stdin`` (for scripts). Problems the user can fix exit
with status 2 and one line on standard error; an unreachable database exits with 69;
``audit verify`` exits with 1 when it finds the trail or a record altered.

SQLAlchemy and argon2 are imported only inside the handlers, so ``doseprep plan`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doseprep.cli.common import (
    EXIT_OK,
    Handler,
    Passwords,
    bag_options,
    compute,
    limit,
    password_option,
    require_administrator,
    row_version_option,
    sign_in,
    signature_line,
    store_command,
    user_option,
    write_file,
)
from doseprep.cli.record_text import (
    exceptional_texts,
    settings_kept,
    settings_lines,
    signing_summary,
)
from doseprep.errors import InputError

if TYPE_CHECKING:
    from doseprep.signoff import SigningStep
    from doseprep.store import StoredRecord


def _load_reentry(args: argparse.Namespace, fields: tuple[str, ...]) -> dict[str, Any]:
    from doseprep.store.reentry import label

    if args.reentry:
        try:
            text = (sys.stdin.read() if args.reentry == "-"
                    else Path(args.reentry).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError("reentry", f"{args.reentry} cannot be read ({exc}).") from None
        except UnicodeDecodeError:
            raise InputError("reentry", f"{args.reentry} is not UTF-8 text.") from None
        from doseprep.jsonread import load_json

        data = load_json(text, field="reentry", prefix="reentry.",
                         source="the standard input" if args.reentry == "-" else args.reentry)
        if not isinstance(data, dict):
            raise InputError("reentry", "The re-entry must be a JSON object.")
        return data
    if args.password_stdin or not sys.stdin.isatty():
        raise InputError("reentry", "Verification needs the blind re-entry of the key values: "
                                    "give --reentry FILE.json.")
    sys.stderr.write("Blind re-entry: type each value again from the source documents (the "
                     "analyzer printout, the bag, the order). The values the preparer typed are "
                     "not shown; if any differ, only the names of those fields are.\n")
    values = {}
    for field in fields:
        try:
            values[field] = input(f"{label(field)}: ")
        except EOFError:
            raise InputError("reentry", "The re-entry ended before every value was typed; "
                                        "nothing was signed.") from None
    return values


def _record_dict(record: StoredRecord, prints: tuple) -> dict[str, Any]:
    return {
        "record_id": record.record_id, "version": record.version, "ref": record.ref,
        "kind": record.kind,
        "state": record.state.value, "row_version": record.row_version,
        "record_hash": record.record_hash, "supersedes": record.supersedes,
        "superseded_by": record.superseded_by, "correction_reason": record.correction_reason,
        "patient": {"mrn": record.patient_mrn, "name": record.patient_name},
        "din": record.din, "dose_level": record.dose_level, "plan_status": record.plan_status,
        "protocol": {"id": record.protocol_id, "version": record.protocol_version,
                     "fingerprint": record.protocol_fingerprint},
        "lab_fingerprint": record.lab_fingerprint, "program_version": record.program_version,
        "created_at": record.created_at, "created_by": record.created_by,
        "updated_at": record.updated_at, "updated_by": record.updated_by,
        "signatures": [{"meaning": s.meaning, "printed_name": s.printed_name,
                        "user_id": s.user_id, "signed_at": s.signed_at.isoformat(),
                        "signed_at_utc": s.signed_at_utc, "time_zone": s.time_zone,
                        "record_hash": s.record_hash, "exceptional_release": s.exception}
                       for s in record.signatures],
        "prints": [{"at": p.at.isoformat(), "user_id": p.user_id, "document": p.document}
                   for p in prints],
        "request": record.request, "plan": record.plan,
    }


def _since(text: str | None, lab: str | None = None) -> datetime | None:
    """``--since`` as an instant: a date is the start of that day at the site, a time without
    offset is the site's wall clock (refused in a gap or fold), both in the lab file's
    ``time_zone`` — not this computer's zone."""
    if not text:
        return None
    from doseprep.protocol import load_lab
    from doseprep.settings import configured_lab
    from doseprep.units.instants import read_instant, start_of_day

    zone = load_lab(configured_lab(lab)).time_zone  # a SettingsError names the lab file
    what = "date to list from"
    if len(text.strip()) != 10:
        return read_instant(text, "since", what, zone, _SINCE_YEARS)[0]
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError("since", f"\"{text}\" is not a date; write it like 2026-11-23 or "
                                  "2026-11-23T08:00:00-08:00.") from None
    if not _SINCE_YEARS[0] <= day.year <= _SINCE_YEARS[1]:
        raise InputError("since", f"The year {day.year} is not plausible for the {what} "
                                  f"({_SINCE_YEARS[0]}–{_SINCE_YEARS[1]}); check the date.")
    return start_of_day(day, zone)


#: Years a --since date may name: four digits (stored times are compared as text) and far
#: enough from year 1 and 9999 that the time in UTC exists.
_SINCE_YEARS = (1900, 9998)


@store_command
def _cmd_save(args: argparse.Namespace) -> int:
    from doseprep.store import save_draft

    require_administrator(args.store)
    plan = compute(args, args.store)
    sign_in(args, "saving a record")
    record = save_draft(args.store, plan, args.user)
    if record.plan_status == "blocked":
        from doseprep.release import why_not_prepared

        sys.stderr.write(f"doseprep: note: the plan of {record.record_id} is blocked; it is saved "
                         + ("as a draft but cannot be signed until it is corrected.\n"
                            if why_not_prepared(record.plan, record.kind) else
                            "as a draft; only the medical director can release it, by "
                            "exception (record release --exceptional).\n"))
    sys.stdout.write(f"{record.record_id}\n")
    return EXIT_OK


def _cmd_sign(step: SigningStep) -> Handler:
    @store_command
    def sign(args: argparse.Namespace) -> int:
        from doseprep.store import get_record, sign_record
        from doseprep.store.reentry import fields_for
        from doseprep.workflow import signing_hash

        require_administrator(args.store)
        reentry = None
        stored = get_record(args.store, args.id)
        if step.blind:  # nothing of the record is shown before the re-entry
            reentry = _load_reentry(args, fields_for(stored.request))
        exceptional = exceptional_texts(args)
        shown = signing_hash(stored, step.name)
        if args.expect_hash and args.expect_hash.strip().lower() != shown:
            raise InputError("expect-hash", f"{stored.ref} now hashes to {shown}, not the "
                                            f"{args.expect_hash.strip()} you reviewed: it "
                                            "changed; nothing was signed.")
        if not args.password_stdin and sys.stdin.isatty():  # a person reads what they sign
            sys.stderr.write(signing_summary(stored, step.meaning, shown, exceptional))
        password = Passwords(args.password_stdin).ask(f"Password for {args.user}: ")
        record = sign_record(args.store, args.id, step.name, args.user, password, reentry=reentry,
                             expected_row_version=args.row_version, expected_hash=shown,
                             exceptional=exceptional)
        sig = record.signatures[-1]
        sys.stdout.write(f"{record.ref} {record.state.value}: {signature_line(sig)}\n"
                         f"record hash {sig.record_hash}\n")
        if sig.exception is not None:
            sys.stdout.write(f"{record.info().exceptional_release.words()}\n")
        return EXIT_OK

    return sign


@store_command
def _cmd_correct(args: argparse.Namespace) -> int:
    from doseprep.store import correct_record

    require_administrator(args.store)
    if not args.reason.strip():
        raise InputError("reason", "A correction needs a reason: say why the record is "
                                   "corrected (--reason).")
    plan = compute(args, args.store)
    sign_in(args, "correcting a record")
    record = correct_record(args.store, args.id, plan, args.user, args.reason,
                            expected_row_version=args.row_version)
    sys.stdout.write(f"{record.ref}\n")
    return EXIT_OK


@store_command
def _cmd_show(args: argparse.Namespace) -> int:
    from doseprep.store import get_record, print_history

    sign_in(args, "showing a record")
    record = get_record(args.store, args.id)
    prints = print_history(args.store, record.ref)
    settings = settings_kept(args.store, record)
    if args.json:
        json.dump(_record_dict(record, prints) | {"settings": settings}, sys.stdout, indent=2,
                  ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    lines = [
        f"Record    {record.ref}  ({record.state.value.upper()})"
        + (f"  — corrected by {record.superseded_by}" if record.superseded_by else ""),
        f"Patient   {record.patient_name}  MRN {record.patient_mrn}",
        f"Product   DIN {record.din}   dose level {record.dose_level}   plan "
        f"{record.plan_status}",
        *settings_lines(settings, record),
        f"Plan      {record.plan.get('instruction', '')}",
        f"Created   {record.created_at} by {record.created_by}; updated {record.updated_at} by "
        f"{record.updated_by} (row version {record.row_version})",
    ]
    if record.supersedes:
        lines.append(f"Corrects  {record.supersedes}: {record.correction_reason}")
    lines.append("Signatures" if record.signatures else "Signatures: none (draft)")
    lines.extend(f"  {signature_line(s)}" for s in record.signatures)
    exceptional = record.info().exceptional_release
    if exceptional is not None:
        lines.append(f"  {exceptional.words()}")
        lines.extend(f"    {code}: {message}" for code, message in exceptional.findings)
    lines.append(f"Hash      {record.record_hash}")
    if prints:
        lines.append(f"Printed   {len(prints)} time(s), first {prints[0].at.isoformat()} by "
                     f"{prints[0].user_id}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


@store_command
def _cmd_print(args: argparse.Namespace) -> int:
    from doseprep.settings import configured_lab
    from doseprep.store import register_print
    from doseprep.workflow import released_by, render_record

    password = sign_in(args, "printing a record")
    releaser = released_by(args.store, args.id)
    if releaser is not None and releaser[0] != args.user.strip():
        password = Passwords(args.password_stdin).ask(
            f"Password of {releaser[1]} ({releaser[0]}), who released {args.id}, to sign its "
            "worksheet: ")
    printed = render_record(args.store, args.id, args.user, page_size=args.page_size,
                            protocol=args.protocol, lab=configured_lab(args.lab), zpl_dpi=args.dpi,
                            labels=bool(args.labels or args.zpl),
                            releaser_password=password if releaser else None)
    outputs = [(args.output, printed.worksheet, "worksheet")]
    if args.labels:
        outputs.append((args.labels, printed.labels, "labels"))
    if args.zpl:
        outputs.append((args.zpl, printed.zpl, "labels (ZPL)"))
    marks = {"worksheet": printed.info.reprint}
    if args.labels or args.zpl:
        marks["labels"] = printed.marks["labels"]
    written: list[str] = []
    try:
        for path, data, _ in outputs:
            write_file(path, data)
            written.append(path)
        # Audited only now, with every file written: a failed write is not a print (issue 9).
        register_print(args.store, printed.info.record_id + f"/v{printed.info.version}",
                       args.user, document=" and ".join(kind for _, _, kind in outputs),
                       marked=marks)
    except BaseException:
        for path in written:  # nothing half-printed is left behind
            Path(path).unlink(missing_ok=True)
        raise
    info = printed.info
    sys.stdout.write(f"{info.record_id}/v{info.version} {info.state.upper()} — "
                     f"{_print_kinds(marks)}\n")
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return EXIT_OK


def _print_kinds(marks: dict[str, int]) -> str:
    """``first print``, or each document's ``first print`` / ``REPRINT n`` (a document printed
    before for this version in the same signed state)."""
    if not any(marks.values()):
        return "first print"
    return "; ".join(f"{kind}: {'first print' if n == 0 else f'REPRINT {n}'}"
                     for kind, n in marks.items())


@store_command
def _cmd_list(args: argparse.Namespace) -> int:
    from doseprep.store import list_records

    sign_in(args, "listing records")
    rows = list_records(args.store, mrn=args.mrn, din=args.din, patient=args.patient,
                        state=args.state, since=_since(args.since, args.lab), limit=args.limit,
                        all_versions=args.all_versions)
    if args.json:
        json.dump([{"ref": r.ref, "record_id": r.record_id, "version": r.version,
                    "state": r.state.value, "patient_mrn": r.patient_mrn,
                    "patient_name": r.patient_name, "din": r.din, "dose_level": r.dose_level,
                    "plan_status": r.plan_status, "created_at": r.created_at,
                    "created_by": r.created_by, "superseded": r.superseded, "kind": r.kind}
                   for r in rows],
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows:
        sys.stdout.write("No records match.\n")
        return EXIT_OK
    for r in rows:
        sys.stdout.write(f"{r.ref:<22} {r.kind:<6} {r.state.value:<9} "
                         f"{r.created_at[:16].replace('T', ' ')}Z "
                         f"{r.patient_mrn:<12} {r.patient_name:<24} {r.din:<16} "
                         f"{r.dose_level:<4} {r.plan_status}"
                         f"{'  (superseded)' if r.superseded else ''}\n")
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``record`` to the ``doseprep`` command line."""
    record = subparsers.add_parser("record", help="save, sign, correct and look up preparation "
                                                  "records")
    rsub = record.add_subparsers(dest="record_command", required=True, metavar="ACTION")

    p = rsub.add_parser("save", help="compute a request's plan and save it as a draft record; "
                                     "prints the record id")
    add_settings_options(p)
    bag_options(p)
    user_option(p, "the person saving")
    password_option(p)
    p.set_defaults(func=_cmd_save)

    from doseprep.signoff import STEPS

    for step, spec in STEPS.items():
        p = rsub.add_parser(step.value, help=f"sign \"{spec.meaning}\" (asks for the signer's "
                                             "password)")
        p.add_argument("id", help="record id, e.g. PREP-2026-000123")
        user_option(p, "the signer")
        password_option(p)
        row_version_option(p)
        p.add_argument("--expect-hash", metavar="SHA256",
                       help="refuse unless the record still hashes to this (the \"Record "
                            "SHA-256\" you reviewed); the signature binds exactly that content")
        if spec.blind:
            p.description = (
                "Verify a prepared record as a second person. Blind re-entry: you type the key "
                "values again from the source documents without seeing what the preparer "
                "typed, so a slip by either of you shows up as a difference instead of being "
                "copied. Without --reentry the values are asked for on the terminal; "
                "otherwise give them in a JSON file (format: docs/reentry.md).")
            p.add_argument("--reentry", metavar="FILE",
                           help="JSON file with the blind re-entry of the key values (patient "
                                "weight, product volume or net weight, WBC, CD3 %%, viability "
                                "%%, sample dilution, dose level, DIN), typed from the source "
                                "documents — not a copy of the request; see docs/reentry.md")
        else:
            p.set_defaults(reentry=None)
        if spec.name == "release":
            p.add_argument("--exceptional", action="store_true",
                           help="an exceptional release, by the medical director, of a record "
                                "blocked only by findings its protocol lists (FACT-JACIE: the "
                                "release of a product that does not meet its release criteria)")
            p.add_argument("--reason", help="with --exceptional: why the product is released")
            p.add_argument("--physician", metavar="NAME",
                           help="with --exceptional: the recipient's physician who was told")
        p.set_defaults(func=_cmd_sign(spec))

    p = rsub.add_parser("correct", help="correct a record: a signed one gets a new version, a "
                                        "draft is edited; a reason is required")
    p.add_argument("id", help="record id")
    add_settings_options(p)
    p.add_argument("--reason", required=True, help="why the record is corrected")
    bag_options(p)
    user_option(p, "the person correcting")
    password_option(p)
    row_version_option(p)
    p.set_defaults(func=_cmd_correct)

    p = rsub.add_parser("print", help="write a record's signed worksheet PDF (and labels); "
                                      "the print is audited and a second print says REPRINT. "
                                      "A released record's worksheet is signed with the key of "
                                      "the person who released it: their password too, when "
                                      "someone else prints (the next line with "
                                      "--password-stdin)")
    p.add_argument("id", help="record id (PREP-2026-000123, or PREP-2026-000123/v1)")
    user_option(p, "the person printing")
    password_option(p)
    p.add_argument("-o", "--output", required=True, metavar="WORKSHEET.pdf")
    p.add_argument("--labels", metavar="LABEL.pdf", help="also write the bag label PDF")
    p.add_argument("--zpl", metavar="LABEL.zpl", help="also write the bag label as ZPL II")
    p.add_argument("--dpi", type=int, choices=(203, 300, 600), default=203,
                   help="the thermal printer's resolution for --zpl (default 203)")
    p.add_argument("--page-size", choices=("letter", "a4"), default="letter")
    p.add_argument("--protocol", metavar="FILE", help="the protocol file the record was made with "
                                                      "(default: the one its request names)")
    p.add_argument("--lab", metavar="FILE", help="the lab settings file the record was made with")
    p.set_defaults(func=_cmd_print)

    p = rsub.add_parser("show", help="show a record, its signatures and prints")
    p.add_argument("id", help="record id (PREP-2026-000123, or PREP-2026-000123/v1 for one "
                              "version)")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    user_option(p, "the person looking")
    password_option(p)
    p.set_defaults(func=_cmd_show)

    p = rsub.add_parser("list", help="the history, newest first")
    p.add_argument("--mrn", help="patient MRN (exact)")
    p.add_argument("--din", help="donation identification number (exact)")
    p.add_argument("--patient", help="part of the patient's name")
    p.add_argument("--state", help="draft, prepared, verified or released")
    p.add_argument("--since", metavar="DATE", help="created on or after this date (the site's "
                                                   "date, in the lab file's time zone)")
    p.add_argument("--lab", metavar="FILE", help="lab settings whose time zone --since is in")
    p.add_argument("--limit", type=limit, default=100,
                   help="at most this many (1 to 100000; default 100)")
    p.add_argument("--all-versions", action="store_true",
                   help="include versions that were corrected")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    user_option(p, "the person looking")
    password_option(p)
    p.set_defaults(func=_cmd_list)

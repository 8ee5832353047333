"""The ``doseprep record``, ``doseprep users`` and ``doseprep audit`` commands.

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
import functools
import getpass
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doseprep.errors import InputError

if TYPE_CHECKING:
    from doseprep.store import Store, StoredRecord

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_INPUT = 2
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str, status: int = EXIT_INPUT) -> int:
    sys.stderr.write(f"doseprep: {message}\n")
    return status


def _store_command(func: Handler) -> Handler:
    """Open the store for the handler and turn store errors into one line and an exit status."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import OperationalError

        from doseprep.store import StoreError, StoreUnavailableError, open_store

        try:
            with open_store() as store:
                args.store = store
                return func(args)
        except StoreUnavailableError as exc:
            return _fail(exc.message, EXIT_UNAVAILABLE)
        except StoreError as exc:
            return _fail(exc.message)
        except OperationalError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            return _fail(f"the record database cannot be reached or refused the change "
                         f"({reason}); nothing was saved.", EXIT_UNAVAILABLE)

    return run


def _limit(text: str) -> int:
    """``--limit``: a whole number from 1 to 100 000 (argparse reports anything else, exit 2)."""
    if not text.strip().isascii() or not text.strip().isdigit() or not \
            1 <= int(text.strip()[:7]) <= 100_000 or len(text.strip()) > 6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 100000")
    return int(text)


class _Passwords:
    """Passwords from the terminal, or one per line from standard input (--password-stdin)."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin

    def ask(self, prompt: str, *, new: bool = False) -> str:
        if self.from_stdin:
            line = sys.stdin.readline()
            if not line:
                raise InputError("password", "Standard input ended before the password; give "
                                             "one password per line with --password-stdin.")
            return line.rstrip("\r\n")
        if not sys.stdin.isatty():
            raise InputError("password", "There is no terminal to ask for the password; pass it "
                                         "on standard input with --password-stdin.")
        password = getpass.getpass(prompt)
        if new and getpass.getpass("Type it again: ") != password:
            raise InputError("password", "The two passwords differ; nothing was changed.")
        return password


def _sign_in(args: argparse.Namespace, doing: str) -> None:
    """Every command that writes, prints, exports or shows patient data or accounts checks the
    user's password first (issue 10); a wrong one is counted and audited like any other."""
    from doseprep.store import authenticate

    password = _Passwords(args.password_stdin).ask(f"Password for {args.user}: ")
    authenticate(args.store, args.user, password, purpose=doing)


def _require_administrator(store: Store) -> None:
    from doseprep.store import PermissionDeniedError, administrator_exists
    from doseprep.store.users import no_administrator_message

    if not administrator_exists(store):
        raise PermissionDeniedError(no_administrator_message())


def _signing_summary(record: StoredRecord, meaning: str, record_hash: str) -> str:
    """What a signature binds, shown before the password is asked (issue 10): the signature
    covers exactly this content, and the store refuses it if the record changed meanwhile."""
    stored = record.plan
    codes = ", ".join(f"{f['code']} ({f['severity']})" for f in stored.get("findings", []))
    lines = [f"You are signing \"{meaning}\" for {record.ref} ({record.state.value.upper()}):",
             f"  Patient     {record.patient_name}  MRN {record.patient_mrn}",
             f"  Product     DIN {record.din}   dose level {record.dose_level}",
             f"  Instruction {stored.get('instruction', '')}",
             f"  Plan        {str(stored.get('status', '')).upper()}"
             + (f" — {codes}" if codes else ""),
             f"  Saved by    {record.created_by} at {record.created_at}"
             + (f"; last changed by {record.updated_by} at {record.updated_at}"
                if record.updated_by != record.created_by or record.updated_at
                != record.created_at else ""),
             f"  Record SHA-256 {record_hash}"]
    return "\n".join(lines) + "\n"


def _signature_line(sig: Any) -> str:
    local = sig.signed_at
    return (f"{sig.meaning} {sig.printed_name} ({sig.user_id}) "
            f"{local.strftime('%Y-%m-%d %H:%M:%S')} {sig.time_zone} (UTC{sig.utc_offset}) = "
            f"{sig.signed_at_utc[:19].replace('T', ' ')} UTC")


# --- record --------------------------------------------------------------------------------

@_store_command
def _cmd_save(args: argparse.Namespace) -> int:
    from doseprep.cli import compute
    from doseprep.store import save_draft

    _require_administrator(args.store)
    plan = compute(args)
    _sign_in(args, "saving a record")
    record = save_draft(args.store, plan, args.user)
    if record.plan_status == "blocked":
        sys.stderr.write(f"doseprep: note: the plan of {record.record_id} is blocked; it is saved "
                         "as a draft but cannot be signed until it is corrected.\n")
    sys.stdout.write(f"{record.record_id}\n")
    return EXIT_OK


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
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputError("reentry", f"{args.reentry} is nested too deeply to be a "
                                        "re-entry.") from None
        except json.JSONDecodeError as exc:
            raise InputError("reentry", f"{args.reentry} is not valid JSON: {exc.msg} at line "
                                        f"{exc.lineno}.") from None
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


def _cmd_sign(step: str) -> Handler:
    @_store_command
    def sign(args: argparse.Namespace) -> int:
        from doseprep.store import get_record, sign_record
        from doseprep.store.records import STEPS, hash_to_sign
        from doseprep.store.reentry import fields_for

        _require_administrator(args.store)
        reentry = None
        stored = get_record(args.store, args.id)
        if step == "verify":  # blind: nothing of the record is shown before the re-entry
            reentry = _load_reentry(args, fields_for(stored.request))
        shown = hash_to_sign(stored, STEPS[step].after.value)
        if args.expect_hash and args.expect_hash.strip().lower() != shown:
            raise InputError("expect-hash", f"{stored.ref} now hashes to {shown}, not the "
                                            f"{args.expect_hash.strip()} you reviewed: it "
                                            "changed; nothing was signed.")
        if not args.password_stdin and sys.stdin.isatty():  # a person reads what they sign
            sys.stderr.write(_signing_summary(stored, STEPS[step].meaning, shown))
        password = _Passwords(args.password_stdin).ask(f"Password for {args.user}: ")
        record = sign_record(args.store, args.id, step, args.user, password, reentry=reentry,
                             expected_row_version=args.row_version, expected_hash=shown)
        sig = record.signatures[-1]
        sys.stdout.write(f"{record.ref} {record.state.value}: {_signature_line(sig)}\n"
                         f"record hash {sig.record_hash}\n")
        return EXIT_OK

    return sign


@_store_command
def _cmd_correct(args: argparse.Namespace) -> int:
    from doseprep.cli import compute
    from doseprep.store import correct_record

    _require_administrator(args.store)
    if not args.reason.strip():
        raise InputError("reason", "A correction needs a reason: say why the record is "
                                   "corrected (--reason).")
    plan = compute(args)
    _sign_in(args, "correcting a record")
    record = correct_record(args.store, args.id, plan, args.user, args.reason,
                            expected_row_version=args.row_version)
    sys.stdout.write(f"{record.ref}\n")
    return EXIT_OK


def _record_dict(record: StoredRecord, prints: tuple) -> dict[str, Any]:
    return {
        "record_id": record.record_id, "version": record.version, "ref": record.ref,
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
                        "record_hash": s.record_hash} for s in record.signatures],
        "prints": [{"at": p.at.isoformat(), "user_id": p.user_id, "document": p.document}
                   for p in prints],
        "request": record.request, "plan": record.plan,
    }


@_store_command
def _cmd_show(args: argparse.Namespace) -> int:
    from doseprep.store import get_record, print_history

    _sign_in(args, "showing a record")
    record = get_record(args.store, args.id)
    prints = print_history(args.store, record.ref)
    if args.json:
        json.dump(_record_dict(record, prints), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    lines = [
        f"Record    {record.ref}  ({record.state.value.upper()})"
        + (f"  — corrected by {record.superseded_by}" if record.superseded_by else ""),
        f"Patient   {record.patient_name}  MRN {record.patient_mrn}",
        f"Product   DIN {record.din}   dose level {record.dose_level}   plan "
        f"{record.plan_status}",
        f"Protocol  {record.protocol_id} version {record.protocol_version}, fingerprint "
        f"{record.protocol_fingerprint[:16]}…",
        f"Plan      {record.plan.get('instruction', '')}",
        f"Created   {record.created_at} by {record.created_by}; updated {record.updated_at} by "
        f"{record.updated_by} (row version {record.row_version})",
    ]
    if record.supersedes:
        lines.append(f"Corrects  {record.supersedes}: {record.correction_reason}")
    lines.append("Signatures" if record.signatures else "Signatures: none (draft)")
    lines.extend(f"  {_signature_line(s)}" for s in record.signatures)
    lines.append(f"Hash      {record.record_hash}")
    if prints:
        lines.append(f"Printed   {len(prints)} time(s), first {prints[0].at.isoformat()} by "
                     f"{prints[0].user_id}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


@_store_command
def _cmd_print(args: argparse.Namespace) -> int:
    from doseprep.cli_documents import _write
    from doseprep.documents.record_print import render_record
    from doseprep.settings import configured_lab
    from doseprep.store import register_print

    _sign_in(args, "printing a record")
    printed = render_record(args.store, args.id, args.user, page_size=args.page_size,
                            protocol=args.protocol, lab=configured_lab(args.lab), zpl_dpi=args.dpi,
                            labels=bool(args.labels or args.zpl))
    outputs = [(args.output, printed.worksheet, "worksheet")]
    if args.labels:
        outputs.append((args.labels, printed.labels, "labels"))
    if args.zpl:
        outputs.append((args.zpl, printed.zpl, "labels (ZPL)"))
    written: list[str] = []
    try:
        for path, data, _ in outputs:
            _write(path, data)
            written.append(path)
        # Audited only now, with every file written: a failed write is not a print (issue 9).
        register_print(args.store, printed.info.record_id + f"/v{printed.info.version}",
                       args.user, document=" and ".join(kind for _, _, kind in outputs))
    except BaseException:
        for path in written:  # nothing half-printed is left behind
            Path(path).unlink(missing_ok=True)
        raise
    info = printed.info
    kind = f"REPRINT ({info.reprint_at.isoformat()})" if info.reprint_at else "first print"
    sys.stdout.write(f"{info.record_id}/v{info.version} {info.state.upper()} — {kind}\n")
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return EXIT_OK


def _since(text: str | None) -> date | datetime | None:
    if not text:
        return None
    try:
        return (date.fromisoformat(text) if len(text.strip()) == 10
                else datetime.fromisoformat(text.strip()))
    except ValueError:
        raise InputError("since", f"\"{text}\" is not a date; write it like 2026-11-23 or "
                                  "2026-11-23T08:00:00-08:00.") from None


@_store_command
def _cmd_list(args: argparse.Namespace) -> int:
    from doseprep.store import list_records

    _sign_in(args, "listing records")
    rows = list_records(args.store, mrn=args.mrn, din=args.din, patient=args.patient,
                        state=args.state, since=_since(args.since), limit=args.limit,
                        all_versions=args.all_versions)
    if args.json:
        json.dump([{"ref": r.ref, "record_id": r.record_id, "version": r.version,
                    "state": r.state.value, "patient_mrn": r.patient_mrn,
                    "patient_name": r.patient_name, "din": r.din, "dose_level": r.dose_level,
                    "plan_status": r.plan_status, "created_at": r.created_at,
                    "created_by": r.created_by, "superseded": r.superseded} for r in rows],
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows:
        sys.stdout.write("No records match.\n")
        return EXIT_OK
    for r in rows:
        sys.stdout.write(f"{r.ref:<22} {r.state.value:<9} {r.created_at[:16].replace('T', ' ')}Z "
                         f"{r.patient_mrn:<12} {r.patient_name:<24} {r.din:<16} "
                         f"{r.dose_level:<4} {r.plan_status}"
                         f"{'  (superseded)' if r.superseded else ''}\n")
    return EXIT_OK


# --- users ---------------------------------------------------------------------------------

@_store_command
def _cmd_users_add(args: argparse.Namespace) -> int:
    from doseprep.store import add_user, administrator_exists

    passwords = _Passwords(args.password_stdin)
    admin_password = None
    if administrator_exists(args.store):
        if not args.admin:
            raise InputError("admin", "Adding a user needs an administrator: give --admin ID "
                                      "(you will be asked for that administrator's password).")
        admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user = add_user(args.store, args.user_id, args.name, args.role, password,
                    admin_id=args.admin, admin_password=admin_password)
    sys.stdout.write(f"added {user.user_id} ({user.printed_name}) as {user.role.value}\n")
    return EXIT_OK


@_store_command
def _cmd_users_list(args: argparse.Namespace) -> int:
    from doseprep.store import PermissionDeniedError, administrator_exists, list_users

    if administrator_exists(args.store):
        if not args.user:
            raise PermissionDeniedError("listing accounts needs a signed-in user: give --user "
                                        "ID (and the password).")
        _sign_in(args, "listing accounts")
    users = list_users(args.store)
    if args.json:
        json.dump([{"user_id": u.user_id, "printed_name": u.printed_name, "role": u.role.value,
                    "disabled": u.disabled, "locked": u.locked,
                    "failed_attempts": u.failed_attempts} for u in users], sys.stdout, indent=2,
                  ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not users:
        from doseprep.store.users import no_administrator_message

        sys.stdout.write(f"No users yet: {no_administrator_message()}\n")
    for u in users:
        status = "disabled" if u.disabled else "locked" if u.locked else "active"
        sys.stdout.write(f"{u.user_id:<16} {u.role.value:<14} {status:<9} {u.printed_name}\n")
    return EXIT_OK


@_store_command
def _cmd_users_disable(args: argparse.Namespace) -> int:
    from doseprep.store import disable_user

    admin_password = _Passwords(args.password_stdin).ask(
        f"Password of administrator {args.admin}: ")
    user = disable_user(args.store, args.user_id, admin_id=args.admin,
                        admin_password=admin_password, reason=args.reason)
    sys.stdout.write(f"{user.user_id} is disabled\n")
    return EXIT_OK


@_store_command
def _cmd_users_reset(args: argparse.Namespace) -> int:
    from doseprep.store import reset_password

    passwords = _Passwords(args.password_stdin)
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user = reset_password(args.store, args.user_id, password, admin_id=args.admin,
                          admin_password=admin_password)
    sys.stdout.write(f"the password of {user.user_id} is reset; the account is unlocked\n")
    return EXIT_OK


@_store_command
def _cmd_users_recover(args: argparse.Namespace) -> int:
    from doseprep.store.users import recover_account

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("recover", "Recovery runs only at the workstation's own terminal, "
                                    "typed by a person; it cannot be scripted.")
    sys.stdout.write(f"This unlocks {args.user_id} and sets a new password without an "
                     "administrator's password. It is recorded in the audit trail with this "
                     "computer's user and host name.\n")
    typed = input(f"Type the user id {args.user_id} again to go on: ").strip()
    if typed != args.user_id:
        raise InputError("recover", "The user id typed differs; nothing was changed.")
    password = _Passwords(False).ask(f"New password for {args.user_id}: ", new=True)
    user = recover_account(args.store, args.user_id, password)
    sys.stdout.write(f"{user.user_id} is recovered: unlocked, with the new password\n")
    return EXIT_OK


# --- audit ---------------------------------------------------------------------------------

@_store_command
def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from doseprep.pdfsign import verify_pdf
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
                     "their hashes and their signers' keys; every account is as audited\n")
    return EXIT_OK


@_store_command
def _cmd_audit_export(args: argparse.Namespace) -> int:
    from doseprep.store import export_csv
    from doseprep.store.users import Role, require_active_user

    with args.store.read() as conn:
        require_active_user(conn, args.user, frozenset(Role), "export the audit trail")
    _sign_in(args, "exporting the audit trail")
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


# --- registration --------------------------------------------------------------------------

def _user_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--user", required=True, metavar="ID", help=f"the user id of {what}")


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read passwords from standard input, one per line, instead of "
                             "asking on the terminal")


def _row_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--row-version", type=int, metavar="N",
                        help="refuse if the record changed since row version N was read")


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``record``, ``users`` and ``audit`` to the ``doseprep`` command line."""
    record = subparsers.add_parser("record", help="save, sign, correct and look up preparation "
                                                  "records")
    rsub = record.add_subparsers(dest="record_command", required=True, metavar="ACTION")

    p = rsub.add_parser("save", help="compute a request's plan and save it as a draft record; "
                                     "prints the record id")
    add_settings_options(p)
    _user_option(p, "the person saving")
    _password_option(p)
    p.set_defaults(func=_cmd_save)

    for step, meaning in (("prepare", "Prepared by"), ("verify", "Verified by"),
                          ("release", "Released by")):
        p = rsub.add_parser(step, help=f"sign \"{meaning}\" (asks for the signer's password)")
        p.add_argument("id", help="record id, e.g. PREP-2026-000123")
        _user_option(p, "the signer")
        _password_option(p)
        _row_version_option(p)
        p.add_argument("--expect-hash", metavar="SHA256",
                       help="refuse unless the record still hashes to this (the \"Record "
                            "SHA-256\" you reviewed); the signature binds exactly that content")
        if step == "verify":
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
        p.set_defaults(func=_cmd_sign(step))

    p = rsub.add_parser("correct", help="correct a record: a signed one gets a new version, a "
                                        "draft is edited; a reason is required")
    p.add_argument("id", help="record id")
    add_settings_options(p)
    p.add_argument("--reason", required=True, help="why the record is corrected")
    _user_option(p, "the person correcting")
    _password_option(p)
    _row_version_option(p)
    p.set_defaults(func=_cmd_correct)

    p = rsub.add_parser("print", help="write a record's signed worksheet PDF (and labels); "
                                      "the print is audited and a second print says REPRINT")
    p.add_argument("id", help="record id (PREP-2026-000123, or PREP-2026-000123/v1)")
    _user_option(p, "the person printing")
    _password_option(p)
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
    _user_option(p, "the person looking")
    _password_option(p)
    p.set_defaults(func=_cmd_show)

    p = rsub.add_parser("list", help="the history, newest first")
    p.add_argument("--mrn", help="patient MRN (exact)")
    p.add_argument("--din", help="donation identification number (exact)")
    p.add_argument("--patient", help="part of the patient's name")
    p.add_argument("--state", help="draft, prepared, verified or released")
    p.add_argument("--since", metavar="DATE", help="created on or after this date")
    p.add_argument("--limit", type=_limit, default=100,
                   help="at most this many (1 to 100000; default 100)")
    p.add_argument("--all-versions", action="store_true",
                   help="include versions that were corrected")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    _user_option(p, "the person looking")
    _password_option(p)
    p.set_defaults(func=_cmd_list)

    users = subparsers.add_parser("users", help="manage user accounts (administrators)")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a user (the first administrator needs no credentials)")
    p.add_argument("user_id", help="the new user id, e.g. jdoe")
    p.add_argument("--name", required=True, help="printed name as on signed records, e.g. "
                                                 "\"DOE, JANE\"")
    p.add_argument("--role", required=True,
                   help="technician, supervisor (verifier) or administrator")
    p.add_argument("--admin", metavar="ID", help="the administrator doing this")
    _password_option(p)
    p.set_defaults(func=_cmd_users_add)
    p = usub.add_parser("list", help="list user accounts")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--user", metavar="ID", help="the person looking (needed once an "
                                                "administrator exists)")
    _password_option(p)
    p.set_defaults(func=_cmd_users_list)
    p = usub.add_parser("disable", help="disable an account (it can no longer sign)")
    p.add_argument("user_id")
    p.add_argument("--admin", required=True, metavar="ID", help="the administrator doing this")
    p.add_argument("--reason", help="why the account is disabled")
    _password_option(p)
    p.set_defaults(func=_cmd_users_disable)
    p = usub.add_parser("reset-password", help="set a new password and unlock the account")
    p.add_argument("user_id")
    p.add_argument("--admin", required=True, metavar="ID", help="the administrator doing this")
    _password_option(p)
    p.set_defaults(func=_cmd_users_reset)
    p = usub.add_parser("recover", help="at the workstation's terminal: unlock an account and "
                                        "set a new password without an administrator (audited); "
                                        "the way back in for a locked-out administrator")
    p.add_argument("user_id")
    p.set_defaults(func=_cmd_users_recover)

    audit = subparsers.add_parser("audit", help="check or export the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = asub.add_parser("verify", help="check the hash chain and every signed record; exit 1 "
                                       "if anything was altered")
    p.add_argument("--against", action="append", metavar="FILE.pdf",
                   help="also hold the trail against the checkpoint printed in this signed "
                        "worksheet (repeatable)")
    p.add_argument("--trust", action="append", metavar="CERT",
                   help="also trust this lab certificate (PEM or DER) for user keys, "
                        "checkpoints and documents (repeatable)")
    p.set_defaults(func=_cmd_audit_verify)
    p = asub.add_parser("export", help="write the audit trail as CSV (the export is audited)")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV file (default: standard output)")
    _user_option(p, "the person exporting")
    _password_option(p)
    p.set_defaults(func=_cmd_audit_export)

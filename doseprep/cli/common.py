"""What every ``doseprep`` command shares: exit statuses, input errors naming a field, reading a
request and computing its plan, writing an output file, opening the store, passwords and sign-in,
and the options several commands take.

Nothing heavy is imported here (SQLAlchemy, argon2, reportlab are imported inside the functions
that need them), so ``doseprep plan`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doseprep.errors import InputError, SettingsError

if TYPE_CHECKING:
    from doseprep.store import Store

EXIT_OK = 0
EXIT_BROKEN = 1  # audit verify found something altered
EXIT_INPUT = 2
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE
EXIT_INTERNAL = 70  # EX_SOFTWARE

Handler = Callable[[argparse.Namespace], int]


class FieldError(Exception):
    """An error to report to the user as field + message, with exit status 2."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read_request(source: str) -> Any:
    """The request file (``-``: standard input) as JSON, read by the one strict reader."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FieldError("request", f"{source}: file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldError("request", f"{source}: cannot be read ({exc}).") from None
    from doseprep.jsonread import load_json

    # A repeated key is refused by its path; numbers are read exactly (DESIGN.md, "Exact input").
    return load_json(text, field="request", source="the standard input" if source == "-"
                     else source)


def compute(args: argparse.Namespace, store: Any = None, *, fresh_only: bool = False):
    """Read the request and settings named on the command line and compute the plan its
    ``kind`` asks for (fresh, freeze or thaw). A thaw request's bag data come from the record
    store's inventory when ``store`` is given (``--aliquot``, ``--scan`` or its aliquot_ref).
    ``fresh_only``: a command for fresh plans (its parser names the command to use instead)."""
    from doseprep.plans.freeze import freeze_plan, parse_freeze_request
    from doseprep.plans.fresh import plan
    from doseprep.plans.thaw import parse_thaw_request, thaw_plan
    from doseprep.request import parse_request
    from doseprep.workflow import request_kind, thaw_request_from_store

    data, lab, protocol, problem = read_with_settings(args)
    kind = "fresh" if fresh_only else request_kind(data)
    if kind == "thaw":
        if store is not None:
            data = thaw_request_from_store(store, data, aliquot=getattr(args, "aliquot", None),
                                           scan=getattr(args, "scan", None))
        request = parse_thaw_request(data, zone=lab.time_zone)
    elif kind == "freeze":
        request = parse_freeze_request(data, zone=lab.time_zone, protocol=protocol)
    else:
        request = parse_request(data, zone=lab.time_zone, protocol=protocol)
    if protocol is None:
        raise FieldError("protocol", str(problem)) from None
    protocol = attach_approval(protocol)
    lab = attach_lab_approval(lab)
    if kind == "thaw":
        return thaw_plan(request, protocol, lab)
    if kind == "freeze":
        return freeze_plan(request, protocol, lab)
    return plan(request, protocol, lab)


def bag_options(parser: argparse.ArgumentParser) -> None:
    """``--aliquot`` and ``--scan``: which frozen bag a thaw request is for."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--aliquot", metavar="PREP-…/vN:B0",
                       help="a thaw: the frozen bag of the inventory (doseprep inventory lists "
                            "them); its data come from its freeze record")
    group.add_argument("--scan", nargs=2, metavar=("DIN", "PRODUCT_CODE"),
                       help="a thaw: the bag's label as scanned, its DIN barcode (=G1234…) and "
                            "its product code barcode with the division (=<S12352B0)")


def read_with_settings(args: argparse.Namespace):
    """The request file's data, the lab settings, and the protocol (or None with the problem
    loading it). The protocol is loaded before the request is parsed so that the order is
    checked against it with every other field; a protocol that cannot be loaded is reported
    after the request's own errors."""
    from doseprep.protocol import load_lab, load_protocol
    from doseprep.request import DEFAULT_PROTOCOL, protocol_reference
    from doseprep.settings import configured_lab, configured_protocol

    data = read_request(args.request)
    try:
        lab_ref = configured_lab(args.lab)
    except SettingsError as exc:
        raise FieldError("settings.toml", str(exc)) from None
    try:
        lab = load_lab(lab_ref)
    except SettingsError as exc:
        named = "" if args.lab or lab_ref is None else " (lab_file in settings.toml)"
        raise FieldError("lab", f"{exc}{named}") from None
    named = None
    if isinstance(data, dict) and data.get("protocol") is not None:
        # Checked before anything opens it; a wrong one is reported with the request's fields.
        with contextlib.suppress(InputError):
            named = protocol_reference(data)
    protocol = problem = None
    try:
        protocol_ref = configured_protocol(args.protocol, named)
        protocol = load_protocol(protocol_ref or named or DEFAULT_PROTOCOL)
    except SettingsError as exc:
        problem = exc
    return data, lab, protocol, problem


def attach_approval(protocol):
    """The protocol with the record store's approval of its fingerprint, if the store has one.

    Only the store can approve a protocol (``doseprep protocol approve``). A workstation without a
    record database yet has approved nothing; none is created just to look.
    """
    from doseprep.settings import SQLITE_FILENAME, configured_database_url

    url = configured_database_url()
    if not url:  # the workstation's own SQLite file: read it directly, without SQLAlchemy
        from doseprep.approvals import sqlite_approval
        from doseprep.paths import data_dir

        return dataclasses.replace(protocol, approval=sqlite_approval(
            data_dir() / SQLITE_FILENAME, protocol.fingerprint))
    from doseprep.store import open_store, with_approval

    with open_store(url) as store:
        return with_approval(store, protocol)


def attach_lab_approval(lab):
    """The lab settings with the record store's approval of their fingerprint, if any (as
    :func:`attach_approval` for the protocol)."""
    from doseprep.settings import SQLITE_FILENAME, configured_database_url

    url = configured_database_url()
    if not url:
        from doseprep.approvals import sqlite_approval
        from doseprep.paths import data_dir

        return dataclasses.replace(lab, approval=sqlite_approval(
            data_dir() / SQLITE_FILENAME, lab.fingerprint, "lab"))
    from doseprep.store import open_store, with_lab_approval

    with open_store(url) as store:
        return with_lab_approval(store, lab)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", help="the request JSON file, or - for standard input")
    parser.add_argument("--protocol", metavar="FILE",
                        help="protocol id or TOML file (overrides the request's protocol)")
    parser.add_argument("--lab", metavar="FILE", help="lab settings TOML file "
                                                       "(default: the bundled lab.toml)")


def write_file(path: str, data: bytes | str) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise FieldError("output", f"cannot write {path} ({exc.strerror}).") from None


def warn_if_not_clinical(plan) -> None:
    from doseprep.plans.fresh import not_for_clinical_use

    for reason in not_for_clinical_use(plan):
        sys.stderr.write(f"doseprep: NOT FOR CLINICAL USE — {reason}\n")


def fail(message: str, status: int = EXIT_INPUT) -> int:
    sys.stderr.write(f"doseprep: {message}\n")
    return status


def store_command(func: Handler) -> Handler:
    """Open the store for the handler and turn store errors into one line and an exit status."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from doseprep.store import StoreError, StoreUnavailableError, open_store

        try:
            with open_store() as store:
                args.store = store
                return func(args)
        except StoreUnavailableError as exc:
            return fail(exc.message, EXIT_UNAVAILABLE)
        except StoreError as exc:
            return fail(exc.message)

    return run


def limit(text: str) -> int:
    """``--limit``: a whole number from 1 to 100 000 (argparse reports anything else, exit 2)."""
    if not text.strip().isascii() or not text.strip().isdigit() or not \
            1 <= int(text.strip()[:7]) <= 100_000 or len(text.strip()) > 6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 100000")
    return int(text)


class Passwords:
    """Passwords from the terminal, or one per line from standard input (--password-stdin).

    Bytes that are not UTF-8 and an input that ends before the password are input errors (exit
    2), never a crash (issue 25). ``at_terminal``: the passwords were typed at a terminal."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin
        self.at_terminal = not from_stdin and sys.stdin.isatty()

    def ask(self, prompt: str, *, new: bool = False) -> str:
        if self.from_stdin:
            try:
                line = sys.stdin.readline()
            except UnicodeDecodeError:
                raise InputError("password", "The password on standard input is not UTF-8 "
                                             "text; type it again.") from None
            if not line:
                raise InputError("password", "Standard input ended before the password; give "
                                             "one password per line with --password-stdin.")
            return _utf8(line.rstrip("\r\n"), "password")
        if not sys.stdin.isatty():
            raise InputError("password", "There is no terminal to ask for the password; pass it "
                                         "on standard input with --password-stdin.")
        password = _typed(prompt)
        if new and _typed("Type it again: ") != password:
            raise InputError("password", "The two passwords differ; nothing was changed.")
        return password


def _typed(prompt: str, *, hidden: bool = True) -> str:
    """A line typed at the terminal; the input ending there (Ctrl-D) or bytes that are not UTF-8
    are input errors."""
    try:
        return _utf8(getpass.getpass(prompt) if hidden else input(prompt),
                     "password" if hidden else "input")
    except EOFError:
        raise InputError("password" if hidden else "input",
                         "The input ended before anything was typed; nothing was "
                         "changed.") from None
    except UnicodeDecodeError:
        raise InputError("password" if hidden else "input",
                         "What was typed is not UTF-8 text; type it again.") from None


def _utf8(text: str, field: str) -> str:
    """``text`` if it is UTF-8 as typed (Python hands undecodable bytes on as surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(field, "What was typed is not UTF-8 text; type it again.") from None
    return text


def ask_line(prompt: str) -> str:
    """A visible line typed at the terminal (see :func:`_typed`)."""
    return _typed(prompt, hidden=False)


def sign_in(args: argparse.Namespace, doing: str) -> str:
    """Every command that writes, prints, exports or shows patient data or accounts checks the
    user's password first (issue 10); a wrong one is counted and audited like any other. Returns
    the password (a released worksheet is signed with the person's key, issue 25)."""
    from doseprep.store import authenticate

    passwords = Passwords(args.password_stdin)
    password = passwords.ask(f"Password for {args.user}: ")
    authenticate(args.store, args.user, password, purpose=doing,
                 at_terminal=passwords.at_terminal)
    return password


def require_administrator(store: Store) -> None:
    from doseprep.store import PermissionDeniedError, administrator_exists
    from doseprep.store.accounts import no_administrator_message

    if not administrator_exists(store):
        raise PermissionDeniedError(no_administrator_message())


def user_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--user", required=True, metavar="ID", help=f"the user id of {what}")


def password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read passwords from standard input, one per line, instead of "
                             "asking on the terminal")


def row_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--row-version", type=int, metavar="N",
                        help="refuse if the record changed since row version N was read")


def signature_line(sig: Any) -> str:
    local = sig.signed_at
    return (f"{sig.meaning} {sig.printed_name} ({sig.user_id}) "
            f"{local.strftime('%Y-%m-%d %H:%M:%S')} {sig.time_zone} (UTC{sig.utc_offset}) = "
            f"{sig.signed_at_utc[:19].replace('T', ' ')} UTC")

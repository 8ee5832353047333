"""The ``doseprep`` command line: the whole calculation, and later the documents, without a screen.

``doseprep plan REQUEST.json [--json] [--protocol FILE] [--lab FILE]`` reads a request (``-`` for
standard input) and prints the plan as a report or as JSON. A problem with the input exits with
status 2 and one line naming the field on standard error (with ``--json`` also an
``{"error": {...}}`` object on standard output). An unexpected failure is logged to a crash file in
the data directory and reported in one line; the user never sees a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from doseprep import __version__
from doseprep.errors import DoseprepError, InputError, SettingsError

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE

#: Modules that add subcommands: each has ``register(subparsers, add_settings_options)`` and
#: imports its heavy dependencies (reportlab, SQLAlchemy) only inside its handlers, so that
#: ``doseprep plan`` does not pay for them.
_SUBCOMMAND_MODULES: tuple[str, ...] = ("doseprep.cli_documents", "doseprep.cli_records",
                                         "doseprep.cli_protocols", "doseprep.cli_info",
                                         "doseprep.cli_example", "doseprep.cli_db")


class _FieldError(Exception):
    """An error to report to the user as field + message, with exit status 2."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _read_request(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _FieldError("request", f"{source}: file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _FieldError("request", f"{source}: cannot be read ({exc}).") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _FieldError("request", f"{source} is nested too deeply to be a request.") from None
    except json.JSONDecodeError as exc:
        raise _FieldError("request", f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                  f"column {exc.colno}.") from None


def compute(args: argparse.Namespace):
    """Read the request and settings named on the command line and compute the plan."""
    from doseprep.plan import plan
    from doseprep.protocol import load_lab, load_protocol
    from doseprep.request import parse_request
    from doseprep.settings import configured_lab, configured_protocol

    data = _read_request(args.request)
    try:
        lab_ref = configured_lab(args.lab)
    except SettingsError as exc:
        raise _FieldError("settings.toml", str(exc)) from None
    try:
        lab = load_lab(lab_ref)
    except SettingsError as exc:
        named = "" if args.lab or lab_ref is None else " (lab_file in settings.toml)"
        raise _FieldError("lab", f"{exc}{named}") from None
    request = parse_request(data, zone=lab.time_zone)
    named_in_request = data.get("protocol") if isinstance(data, dict) else None
    try:
        protocol_ref = configured_protocol(args.protocol, named_in_request)
        protocol = load_protocol(protocol_ref or request.protocol)
    except SettingsError as exc:
        raise _FieldError("protocol", str(exc)) from None
    return plan(request, attach_approval(protocol), lab)


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


def _cmd_plan(args: argparse.Namespace) -> int:
    from doseprep.report import plan_to_dict, render_text

    result = compute(args)
    if args.json:
        json.dump(plan_to_dict(result), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(result))
    return EXIT_OK


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", help="the request JSON file, or - for standard input")
    parser.add_argument("--protocol", metavar="FILE",
                        help="protocol id or TOML file (overrides the request's protocol)")
    parser.add_argument("--lab", metavar="FILE", help="lab settings TOML file "
                                                       "(default: the bundled lab.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doseprep",
        description="Dose preparation for HMCT cell-therapy infusions: compute the volume of "
                    "donor product to draw, with every step shown.")
    parser.add_argument("--version", action="version", version=f"doseprep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("plan", help="compute a preparation plan from a request JSON file")
    _add_settings_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_plan)
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub, _add_settings_options)
    return parser


def _report_input_error(field: str, message: str, as_json: bool) -> int:
    sys.stderr.write(f"doseprep: {field}: {message}\n")
    if as_json:
        json.dump({"error": {"field": field, "message": message}}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    return EXIT_INPUT


def _write_crash_file(command: Sequence[str]) -> Path | None:
    from doseprep.crashreport import safe_traceback, write_report
    from doseprep.paths import data_dir

    exc_type, exc, tb = sys.exc_info()
    assert exc_type is not None
    # The command names files and options, never typed values (requests are read from files).
    return write_report(data_dir() / "crashes", f"command: {list(command)[:20]}",
                        safe_traceback(exc_type, exc, tb))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    if argv is None:  # a real process (tests call main with their own arguments)
        from doseprep.paths import restrict_umask

        restrict_umask()  # records, keys and documents are this user's alone (issue 10)
    argv = list(sys.argv[1:] if argv is None else argv)
    # Nothing the library logs may reach the terminal as a traceback; crashes go to a file.
    logging.getLogger().addHandler(logging.NullHandler())
    parser = build_parser()
    args = parser.parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        return int(args.func(args))
    except InputError as exc:
        return _report_input_error(exc.field, exc.message, as_json)
    except _FieldError as exc:
        return _report_input_error(exc.field, exc.message, as_json)
    except SettingsError as exc:  # a settings file, named with its key in the message
        return _report_input_error("settings", str(exc), as_json)
    except DoseprepError as exc:
        return _report_input_error("request", str(exc), as_json)
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        log.exception("unexpected error in doseprep %s", argv)
        path = _write_crash_file(argv)
        where = f"; details are in {path}" if path else ""
        sys.stderr.write(f"doseprep: internal error — nothing was changed{where}. "
                         "Please report it to your system administrator.\n")
        return EXIT_INTERNAL

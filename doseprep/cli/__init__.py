"""The ``doseprep`` command line: the whole calculation, and later the documents, without a screen.

``doseprep plan REQUEST.json [--json] [--protocol FILE] [--lab FILE]`` reads a request (``-`` for
standard input) and prints the plan as a report or as JSON. A problem with the input exits with
status 2 and one line naming the field on standard error (with ``--json`` also an
``{"error": {...}}`` object on standard output). An unexpected failure is logged to a crash file in
the data directory and reported in one line; the user never sees a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from doseprep import __version__
from doseprep.cli.common import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    FieldError,
    add_settings_options,
    compute,
)
from doseprep.errors import DoseprepError, InputError, SettingsError
from doseprep.jsonread import printable

log = logging.getLogger(__name__)


#: Modules that add subcommands: each has ``register(subparsers, add_settings_options)`` and
#: imports its heavy dependencies (reportlab, SQLAlchemy) only inside its handlers, so that
#: ``doseprep plan`` does not pay for them.
_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "doseprep.cli.documents", "doseprep.cli.records", "doseprep.cli.users", "doseprep.cli.audit",
    "doseprep.cli.protocols", "doseprep.cli.info", "doseprep.cli.example", "doseprep.cli.db",
    "doseprep.cli.cryo", "doseprep.cli.inventory", "doseprep.cli.labs", "doseprep.cli.products")


def _cmd_plan(args: argparse.Namespace) -> int:
    from doseprep.plans.fresh_report import plan_to_dict, render_text

    result = compute(args, fresh_only=True)
    if args.json:
        json.dump(plan_to_dict(result), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(result))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doseprep",
        description="Dose preparation for HMCT cell-therapy infusions: compute the volume of "
                    "donor product to draw, with every step shown.")
    parser.add_argument("--version", action="version", version=f"doseprep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("plan", help="compute a preparation plan from a request JSON file")
    add_settings_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=_cmd_plan)
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub, add_settings_options)
    return parser


def _report_input_error(field: str, message: str, as_json: bool,
                        more: tuple[InputError, ...] = ()) -> int:
    """Every wrong field of a request at once (issue 11): one line each on standard error. With
    ``--json`` the JSON on standard output carries them all (``{"error": first, "errors":
    [all]}``) and standard error keeps its one line, naming the other fields."""
    # Whatever was typed and is quoted back is written so that it can be written (an unpaired
    # surrogate from a file name or an argument would otherwise stop the report itself).
    errors = [(printable(name), printable(text))
              for name, text in [(field, message)] + [(e.field, e.message) for e in more[1:]]]
    field, message = errors[0]
    if as_json:
        others = ", ".join(name for name, _ in errors[1:])
        sys.stderr.write(f"doseprep: {field}: {message}"
                         + (f" (also wrong: {others}; see \"errors\")" if others else "") + "\n")
        out: dict = {"error": {"field": field, "message": message}}
        if len(errors) > 1:
            out["errors"] = [{"field": name, "message": text} for name, text in errors]
        json.dump(out, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for name, text in errors:
            sys.stderr.write(f"doseprep: {name}: {text}\n")
    return EXIT_INPUT


def _write_crash_file(command: Sequence[str]) -> Path | None:
    from doseprep.crashreport import safe_traceback, write_report
    from doseprep.paths import data_dir

    exc_type, exc, tb = sys.exc_info()
    assert exc_type is not None
    # The command names files and options, never typed values (requests are read from files).
    return write_report(data_dir() / "crashes", f"command: {list(command)[:20]}",
                        safe_traceback(exc_type, exc, tb))


_LONGEST_PATH = 4096
#: Longest text each command-line option takes (its dest), checked before it is used: an id, a
#: DIN, a scan, a name, a reason. Every other text (files, paths) is at most _LONGEST_PATH.
_OPTION_LIMITS: dict[str, tuple[str, int]] = {
    "user": ("--user", 64), "admin": ("--admin", 64), "user_id": ("user id", 64),
    "mrn": ("--mrn", 64), "din": ("--din", 40), "patient": ("--patient", 200),
    "state": ("--state", 32), "since": ("--since", 40), "id": ("record id", 64),
    "bag": ("bag", 64), "aliquot": ("--aliquot", 64), "scan": ("--scan", 64),
    "expect_hash": ("--expect-hash", 64), "name": ("--name", 200), "role": ("--role", 32),
    "reason": ("--reason", 500), "location": ("--location", 200),
    # Files, named as the rest of the command line names them.
    "request": ("request", _LONGEST_PATH), "file": ("file", _LONGEST_PATH),
    "pdf": ("pdf", _LONGEST_PATH),
}


def _overlong_option(args: argparse.Namespace) -> tuple[str, str] | None:
    """The first option whose text is too long or holds a control character, with what is
    wrong (issue 21: every text is length-checked before use)."""
    for dest, value in vars(args).items():
        texts = value if isinstance(value, list | tuple) else [value]
        for text in texts:
            if not isinstance(text, str):
                continue
            name, limit = _OPTION_LIMITS.get(dest, (f"--{dest.replace('_', '-')}", _LONGEST_PATH))
            if len(text) > limit:
                return name, (f"{len(text)} characters is too long; at most {limit} are "
                              "accepted. Check what was pasted or typed.")
            if "\x00" in text or (limit < _LONGEST_PATH and not text.isprintable()):
                return name, ("holds a control character (a line break or an invisible code); "
                              "type it again.")
    return None


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
    overlong = _overlong_option(args)
    if overlong is not None:
        return _report_input_error(*overlong, as_json)
    try:
        return int(args.func(args))
    except InputError as exc:
        return _report_input_error(exc.field, exc.message, as_json, getattr(exc, "errors", ()))
    except FieldError as exc:
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

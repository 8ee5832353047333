"""The ``doseprep users`` commands: add, list, disable, reset-password, certify, recover.

Creating the first administrator prints the **recovery code** (once) and the fingerprint of the
lab key's certificate: write both down and keep them apart from the workstation. ``recover`` is for
the last administrator only, at the workstation's terminal, with that code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    Passwords,
    ask_line,
    password_option,
    sign_in,
    store_command,
)
from doseprep.errors import InputError


def _show_recovery_code(code: str, fingerprint: str) -> None:
    sys.stdout.write(
        "\nRECOVERY CODE (shown once; write it down and keep it locked away from this "
        f"workstation):\n\n    {code}\n\n"
        "With it, and only at this workstation's terminal, the last administrator can get back "
        "in when locked out or when the password is lost (doseprep users recover ID).\n"
        f"Lab key certificate SHA-256 (write it down too; inspectors check worksheets and the "
        f"audit trail against it):\n    {fingerprint}\n")


@store_command
def _cmd_users_add(args: argparse.Namespace) -> int:
    from doseprep.store import add_user, administrator_exists
    from doseprep.store.accounts import create_first_administrator
    from doseprep.store.users import parse_role

    passwords = Passwords(args.password_stdin)
    if not administrator_exists(args.store):
        from doseprep.signoff import Role
        from doseprep.store import PermissionDeniedError
        from doseprep.store.accounts import no_administrator_message

        if parse_role(args.role) is not Role.ADMINISTRATOR:
            raise PermissionDeniedError(no_administrator_message())
        password = passwords.ask(f"New password for {args.user_id}: ", new=True)
        setup = create_first_administrator(args.store, args.user_id, args.name, password)
        sys.stdout.write(f"added {setup.user.user_id} ({setup.user.printed_name}) as "
                         f"{setup.user.role.value}, the first administrator\n")
        _show_recovery_code(setup.recovery_code, setup.lab_fingerprint)
        return EXIT_OK
    if not args.admin:
        raise InputError("admin", "Adding a user needs an administrator: give --admin ID "
                                  "(you will be asked for that administrator's password).")
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user = add_user(args.store, args.user_id, args.name, args.role, password,
                    admin_id=args.admin, admin_password=admin_password,
                    at_terminal=passwords.at_terminal)
    sys.stdout.write(f"added {user.user_id} ({user.printed_name}) as {user.role.value}\n")
    return EXIT_OK


@store_command
def _cmd_users_list(args: argparse.Namespace) -> int:
    from doseprep.store import PermissionDeniedError, administrator_exists, list_users

    if administrator_exists(args.store):
        if not args.user:
            raise PermissionDeniedError("listing accounts needs a signed-in user: give --user "
                                        "ID (and the password).")
        sign_in(args, "listing accounts")
    users = list_users(args.store)
    if args.json:
        json.dump([{"user_id": u.user_id, "printed_name": u.printed_name, "role": u.role.value,
                    "disabled": u.disabled, "locked": u.locked,
                    "failed_attempts": u.failed_attempts} for u in users], sys.stdout, indent=2,
                  ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not users:
        from doseprep.store.accounts import no_administrator_message

        sys.stdout.write(f"No users yet: {no_administrator_message()}\n")
    for u in users:
        status = "disabled" if u.disabled else "locked" if u.locked else "active"
        sys.stdout.write(f"{u.user_id:<16} {u.role.value:<14} {status:<9} {u.printed_name}\n")
    return EXIT_OK


@store_command
def _cmd_users_disable(args: argparse.Namespace) -> int:
    from doseprep.store import disable_user

    passwords = Passwords(args.password_stdin)
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    user = disable_user(args.store, args.user_id, admin_id=args.admin,
                        admin_password=admin_password, reason=args.reason,
                        at_terminal=passwords.at_terminal)
    sys.stdout.write(f"{user.user_id} is disabled\n")
    return EXIT_OK


@store_command
def _cmd_users_reset(args: argparse.Namespace) -> int:
    from doseprep.store import reset_password

    passwords = Passwords(args.password_stdin)
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user = reset_password(args.store, args.user_id, password, admin_id=args.admin,
                          admin_password=admin_password, at_terminal=passwords.at_terminal)
    sys.stdout.write(f"the password of {user.user_id} is reset; the account is unlocked\n")
    return EXIT_OK


@store_command
def _cmd_users_certify(args: argparse.Namespace) -> int:
    from doseprep.store.accounts import certify_users

    if bool(args.all) == bool(args.user_ids):
        raise InputError("user_id", "Name the accounts whose keys to certify, or give --all.")
    passwords = Passwords(args.password_stdin)
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    done, code = certify_users(args.store, None if args.all else list(args.user_ids),
                               admin_id=args.admin, admin_password=admin_password,
                               at_terminal=passwords.at_terminal)
    if code is not None:
        from doseprep.store.labca import lab_key_row

        with args.store.read() as conn:
            fingerprint = lab_key_row(conn).fingerprint
        sys.stdout.write("made the lab key of this record database, sealed under your "
                         "password\n")
        _show_recovery_code(code, fingerprint)
    sys.stdout.write("".join(f"certified the key of {user_id}\n" for user_id in done)
                     or "every key named was certified already\n")
    return EXIT_OK


@store_command
def _cmd_users_recover(args: argparse.Namespace) -> int:
    from doseprep.store.accounts import check_recoverable, recover_account

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("recover", "Recovery runs only at the workstation's own terminal, "
                                    "typed by a person; it cannot be scripted.")
    check_recoverable(args.store, args.user_id)
    sys.stdout.write(f"This sets a new password for {args.user_id}, the last administrator, "
                     "with the recovery code written down when doseprep was set up. It is "
                     "recorded in the audit trail with this computer's user and host name.\n")
    typed = ask_line(f"Type the user id {args.user_id} again to go on: ").strip()
    if typed != args.user_id:
        raise InputError("recover", "The user id typed differs; nothing was changed.")
    passwords = Passwords(False)
    code = passwords.ask("Recovery code: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user, new_code = recover_account(args.store, args.user_id, code, password)
    sys.stdout.write(f"{user.user_id} is recovered: unlocked, with the new password. The old "
                     "recovery code no longer works.\n")
    from doseprep.store.labca import lab_key_row

    with args.store.read() as conn:
        fingerprint = lab_key_row(conn).fingerprint
    _show_recovery_code(new_code, fingerprint)
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``users`` to the ``doseprep`` command line."""
    users = subparsers.add_parser("users", help="manage user accounts (administrators)")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a user (the first administrator needs no credentials)")
    p.add_argument("user_id", help="the new user id, e.g. jdoe")
    p.add_argument("--name", required=True, help="printed name as on signed records, e.g. "
                                                 "\"DOE, JANE\"")
    p.add_argument("--role", required=True,
                   help="technician, supervisor (verifier) or administrator")
    p.add_argument("--admin", metavar="ID", help="the administrator doing this")
    password_option(p)
    p.set_defaults(func=_cmd_users_add)
    p = usub.add_parser("list", help="list user accounts")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--user", metavar="ID", help="the person looking (needed once an "
                                                "administrator exists)")
    password_option(p)
    p.set_defaults(func=_cmd_users_list)
    p = usub.add_parser("disable", help="disable an account (it can no longer sign)")
    p.add_argument("user_id")
    p.add_argument("--admin", required=True, metavar="ID", help="the administrator doing this")
    p.add_argument("--reason", help="why the account is disabled")
    password_option(p)
    p.set_defaults(func=_cmd_users_disable)
    p = usub.add_parser("reset-password", help="set a new password and unlock the account")
    p.add_argument("user_id")
    p.add_argument("--admin", required=True, metavar="ID", help="the administrator doing this")
    password_option(p)
    p.set_defaults(func=_cmd_users_reset)
    p = usub.add_parser("certify", help="certify accounts' signing keys with the lab key (a key "
                                        "made at a sign-in, or from before revision 0005)")
    p.add_argument("user_ids", nargs="*", metavar="USER_ID")
    p.add_argument("--all", action="store_true", help="every enabled account")
    p.add_argument("--admin", required=True, metavar="ID", help="the administrator doing this")
    password_option(p)
    p.set_defaults(func=_cmd_users_certify)
    p = usub.add_parser("recover", help="at the workstation's terminal, with the recovery code: "
                                        "a new password for the last administrator, locked out "
                                        "or with the password lost (audited)")
    p.add_argument("user_id")
    p.set_defaults(func=_cmd_users_recover)

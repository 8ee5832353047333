"""The ``doseprep users`` commands: add, list, disable, reset-password, recover (accounts)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    Passwords,
    password_option,
    sign_in,
    store_command,
)
from doseprep.errors import InputError


@store_command
def _cmd_users_add(args: argparse.Namespace) -> int:
    from doseprep.store import add_user, administrator_exists

    passwords = Passwords(args.password_stdin)
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

    admin_password = Passwords(args.password_stdin).ask(
        f"Password of administrator {args.admin}: ")
    user = disable_user(args.store, args.user_id, admin_id=args.admin,
                        admin_password=admin_password, reason=args.reason)
    sys.stdout.write(f"{user.user_id} is disabled\n")
    return EXIT_OK


@store_command
def _cmd_users_reset(args: argparse.Namespace) -> int:
    from doseprep.store import reset_password

    passwords = Passwords(args.password_stdin)
    admin_password = passwords.ask(f"Password of administrator {args.admin}: ")
    password = passwords.ask(f"New password for {args.user_id}: ", new=True)
    user = reset_password(args.store, args.user_id, password, admin_id=args.admin,
                          admin_password=admin_password)
    sys.stdout.write(f"the password of {user.user_id} is reset; the account is unlocked\n")
    return EXIT_OK


@store_command
def _cmd_users_recover(args: argparse.Namespace) -> int:
    from doseprep.store.accounts import recover_account

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("recover", "Recovery runs only at the workstation's own terminal, "
                                    "typed by a person; it cannot be scripted.")
    sys.stdout.write(f"This unlocks {args.user_id} and sets a new password without an "
                     "administrator's password. It is recorded in the audit trail with this "
                     "computer's user and host name.\n")
    typed = input(f"Type the user id {args.user_id} again to go on: ").strip()
    if typed != args.user_id:
        raise InputError("recover", "The user id typed differs; nothing was changed.")
    password = Passwords(False).ask(f"New password for {args.user_id}: ", new=True)
    user = recover_account(args.store, args.user_id, password)
    sys.stdout.write(f"{user.user_id} is recovered: unlocked, with the new password\n")
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
    p = usub.add_parser("recover", help="at the workstation's terminal: unlock an account and "
                                        "set a new password without an administrator (audited); "
                                        "the way back in for a locked-out administrator")
    p.add_argument("user_id")
    p.set_defaults(func=_cmd_users_recover)

"""``doseprep inventory``: the freezer inventory of cycle-2 bags, by patient and state, and the
changes a bag goes through outside its records: where it is kept (``locate``), its infusion
(``infuse``) and its discard with a reason (``discard``). Each asks for the user's password and
is audited; thawing happens by signing a thaw record "Prepared by"."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_OK,
    password_option,
    require_administrator,
    sign_in,
    store_command,
    user_option,
)
from doseprep.errors import InputError


def _bag_dict(bag: Any) -> dict[str, Any]:
    return {"ref": bag.ref, "freeze_record": bag.freeze_record, "division": bag.division,
            "din": bag.din, "product_code": bag.product_code, "patient_mrn": bag.patient_mrn,
            "patient_name": bag.patient_name, "cycle": bag.cycle, "infusion": bag.infusion,
            "dose_level": bag.dose_level, "frozen_at": bag.frozen_at,
            "frozen_expires_at": bag.frozen_expires_at, "state": bag.state.value,
            "location": bag.location, "thaw_record": bag.thaw_record, "reason": bag.reason,
            "updated_at": bag.updated_at, "updated_by": bag.updated_by}


def _line(bag: Any) -> str:
    where = bag.location or "(location not recorded)"
    extra = {"thawed": f"thaw {bag.thaw_record}", "infused": f"thaw {bag.thaw_record}",
             "discarded": f"reason: {bag.reason}"}.get(bag.state.value, where)
    return (f"{bag.ref:<26} {bag.state.value:<9} {bag.patient_mrn:<12} {bag.patient_name:<20} "
            f"C{bag.cycle} I{bag.infusion} {bag.dose_level:<4} expires "
            f"{bag.frozen_expires_at[:10]}  {extra}\n")


@store_command
def _cmd_list(args: argparse.Namespace) -> int:
    from doseprep.store.inventory import list_aliquots

    require_administrator(args.store)
    if not args.user:
        raise InputError("user", "Give your user id (--user): the inventory is patient data.")
    sign_in(args, "listing the inventory")
    bags = list_aliquots(args.store, mrn=args.mrn, state=args.state, din=args.din)
    if args.json:
        json.dump([_bag_dict(b) for b in bags], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif not bags:
        sys.stdout.write("No bags match.\n")
    else:
        for bag in bags:
            sys.stdout.write(_line(bag))
    return EXIT_OK


def _change(doing: str, change: Callable[[argparse.Namespace], Any]) -> Callable:
    @store_command
    def run(args: argparse.Namespace) -> int:
        require_administrator(args.store)
        sign_in(args, doing)
        bag = change(args)
        sys.stdout.write(_line(bag))
        return EXIT_OK

    return run


def _locate(args: argparse.Namespace) -> Any:
    from doseprep.store.inventory import locate

    return locate(args.store, args.bag, args.user, args.location)


def _infuse(args: argparse.Namespace) -> Any:
    from doseprep.store.inventory import infuse

    return infuse(args.store, args.bag, args.user)


def _discard(args: argparse.Namespace) -> Any:
    from doseprep.store.inventory import discard

    return discard(args.store, args.bag, args.user, args.reason)


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``inventory`` to the ``doseprep`` command line."""
    inventory = subparsers.add_parser("inventory", help="the frozen cycle-2 bags: list, locate, "
                                                        "infuse, discard")
    isub = inventory.add_subparsers(dest="inventory_command", metavar="ACTION")
    listing = isub.add_parser("list", help="the bags by patient and state (the default)")
    inventory.set_defaults(func=_cmd_list)
    for parser, default in ((inventory, None), (listing, argparse.SUPPRESS)):
        # On "list" too, without overwriting what was given before it.
        parser.add_argument("--mrn", default=default, help="only this patient's bags")
        parser.add_argument("--state", default=default,
                            help="frozen, thawed, infused or discarded")
        parser.add_argument("--din", default=default, help="only the bags of this donation")
        parser.add_argument("--json", action="store_true", default=default or False,
                            help="print the bags as JSON")
        parser.add_argument("--user", metavar="ID", default=default,
                            help="the user id of the person looking (required)")
        parser.add_argument("--password-stdin", action="store_true",
                            default=default or False,
                            help="read the password from standard input")
    p = isub.add_parser("locate", help="record where a frozen bag is kept")
    p.add_argument("bag", help="the bag, e.g. PREP-2026-000001/v1:B0")
    p.add_argument("--location", required=True, help="freezer, rack, box and position")
    p.set_defaults(func=_change("recording where a bag is", _locate))
    p2 = isub.add_parser("infuse", help="record that a thawed bag (thaw record released) was "
                                        "infused")
    p2.add_argument("bag", help="the bag, e.g. PREP-2026-000001/v1:B0")
    p2.set_defaults(func=_change("recording an infusion", _infuse))
    p3 = isub.add_parser("discard", help="discard a frozen or thawed bag, with the reason")
    p3.add_argument("bag", help="the bag, e.g. PREP-2026-000001/v1:B0")
    p3.add_argument("--reason", required=True, help="why the bag is not used")
    p3.set_defaults(func=_change("discarding a bag", _discard))
    for parser in (p, p2, p3):
        user_option(parser, "the person doing it")
        password_option(parser)

"""What a screen left open must say at an instant: whether what it shows has expired, and how.

A screen is read when someone acts on it, not when it was computed (issue 21: a form, a released
record and a thaw tab said OK hours after their expiry). A plan or record has *deadlines* — its
infusion expiry or infuse-by time, its product's maximum age, its bags' frozen expiry — each with
the words to say once it has passed; the window asks :func:`expired` at every tick of its clock
and :func:`next_deadline` for when to look again, and computes nothing itself.
:func:`doseprep.workflow.plan_deadlines` and :func:`doseprep.workflow.record_deadlines` find the
deadlines of a plan or a stored record.

Pure and dependency-free (datetime and zoneinfo only), so the window can ask before the record
store and its libraries are loaded. The store's own refusals (a signature, a label, an infusion
past the expiry) are :mod:`doseprep.store.expiry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

INFUSION_EXPIRED = "INFUSION_EXPIRED"
PRODUCT_EXPIRED = "PRODUCT_EXPIRED"


@dataclass(frozen=True)
class Deadline:
    """An instant after which a plan or record may no longer be acted on, and what to say then.

    ``code`` is INFUSION_EXPIRED or PRODUCT_EXPIRED; ``headline`` its words in large type
    ("INFUSION EXPIRED"); ``message`` the sentence for the person at the bench, with the instant
    in the site's zone and what to do."""

    code: str
    at: datetime
    message: str
    #: The instant as the lab reads it (:func:`site_time`), for "expires …" before it passes.
    when: str = ""

    @property
    def headline(self) -> str:
        return self.code.replace("_", " ")


def site_time(moment: datetime, zone: str | None = None) -> str:
    """An instant as the lab reads it, in the site's zone: ``23 NOV 2026 14:00 PST``."""
    local = moment.astimezone(ZoneInfo(zone)) if zone else moment
    name = local.tzname() or local.strftime("UTC%z")
    return f"{local:%d} {local:%b}".upper() + f" {local:%Y %H:%M} {name}"


def product_age_limit(collected_at: datetime, max_age: timedelta) -> datetime:
    """The instant a product passes the protocol's maximum age: collection plus the age, counted
    in real (UTC) time, never on the wall clock across a clock change."""
    return collected_at.astimezone(UTC) + max_age


def deadlines(kind: str, *, done: bool, zone: str | None = None,
              infusion: datetime | None = None, product: datetime | None = None,
              frozen: datetime | None = None) -> tuple[Deadline, ...]:
    """The deadlines of a plan of ``kind`` (fresh, freeze, thaw), earliest first.

    ``done``: the product was acted on under this plan (its record is signed "Prepared by": the
    syringe drawn, the bags frozen, the bag thawed). ``infusion``: a fresh plan's ``expires_at``
    or a thaw plan's ``infuse_by``; ``product``: when the unfrozen product passes its maximum age
    (:func:`product_age_limit`; fresh and freeze plans); ``frozen``: the frozen expiry (a freeze
    plan's bags, a thaw plan's bag)."""
    out: list[Deadline] = []

    def add(code: str, at: datetime | None, text: str) -> None:
        if at is not None:
            when = site_time(at, zone)
            out.append(Deadline(code, at, text.format(at=when), when))

    if kind == "thaw":
        if done:
            add(INFUSION_EXPIRED, infusion,
                "The thawed bag had to be infused by {at}: do not infuse it; discard the bag and "
                "record why.")
        else:
            add(PRODUCT_EXPIRED, frozen,
                "The bag expired frozen at {at}: do not thaw it; discard it and record why.")
            add(INFUSION_EXPIRED, infusion,
                "This thaw plan's infuse-by time, {at}, has passed: do not thaw or infuse from "
                "it. Type the real thaw time for a new plan.")
    elif kind == "freeze":
        add(PRODUCT_EXPIRED, frozen,
            "The frozen bags expired at {at}: none may be thawed or infused; discard them and "
            "record why.")
        if not done:
            add(PRODUCT_EXPIRED, product,
                "The product passed its maximum age after collection at {at}: do not freeze it. "
                "Save this plan only if the bags were frozen before then, at the time in "
                "Frozen at.")
    elif done:
        add(INFUSION_EXPIRED, infusion,
            "The infusion expired at {at}: do not infuse it. It can no longer be signed, "
            "released or labelled; discard it and prepare a new product with the physician.")
    else:
        add(PRODUCT_EXPIRED, product,
            "The product passed its maximum age after collection at {at}: do not prepare it. "
            "Tell the ordering physician.")
        add(INFUSION_EXPIRED, infusion,
            "This plan's infusion expiry, {at}, has passed: do not prepare from it. If the "
            "product is still within its age, set Prepared at to now (Now) for a new plan.")
    return tuple(sorted(out, key=lambda d: d.at))


def expired(found: tuple[Deadline, ...], now: datetime) -> Deadline | None:
    """What has expired of ``found`` at ``now`` (at the instant itself it has), or None while
    nothing has. An expired product outranks an expired infusion: a new preparation time cannot
    help a product past its age (or a bag past its frozen expiry)."""
    passed = [d for d in found if now >= d.at]
    return min(passed, key=lambda d: (d.code != PRODUCT_EXPIRED, d.at), default=None)


def next_deadline(found: tuple[Deadline, ...], now: datetime) -> Deadline | None:
    """The next of ``found`` still to come after ``now`` (what a screen says "expires …" of),
    or None."""
    return min((d for d in found if d.at > now), key=lambda d: d.at, default=None)

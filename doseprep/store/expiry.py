"""The infusion expiry checks: a record whose infusion has expired is never signed, labelled or
infused. ``expiry_now`` is a function so tests can check at a set time of day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from doseprep.store.canonical import utc_now
from doseprep.store.errors import InfusionExpiredError


def expiry_now() -> datetime:
    """The moment the expiry checks compare with: now (a function, so tests can sign at a set
    time of the day the reference cases were prepared on)."""
    return utc_now()


def infusion_expired_at(plan: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """When the infusion of a stored plan expired, if it has by ``now``; else None."""
    text = plan.get("expires_at") or plan.get("infuse_by")  # a fresh plan, or a thaw plan
    if not isinstance(text, str):
        return None
    expires = datetime.fromisoformat(text)
    return expires if (now or expiry_now()) >= expires else None


def check_not_expired(plan: Mapping[str, Any], ref: str, doing: str,
                      now: datetime | None = None) -> None:
    """Refuse (INFUSION_EXPIRED) to ``doing`` for a record whose infusion has expired."""
    expired = infusion_expired_at(plan, now)
    if expired is not None:
        raise InfusionExpiredError(
            f"INFUSION_EXPIRED: the infusion of {ref} expired at "
            f"{expired.strftime('%Y-%m-%d %H:%M')} (UTC{expired.strftime('%z')[:3]}:"
            f"{expired.strftime('%z')[3:]}); it cannot {doing}. Do not infuse it; prepare a "
            "new product (a new request) with the physician.")

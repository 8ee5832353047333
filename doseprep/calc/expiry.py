"""When an infusion expires: the earlier of the preparation plus the protocol's infusion expiry
and the collection plus the maximum product age (contract step 13), at the site's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from doseprep.calc.checks import hours, stamp
from doseprep.calc.model import Step
from doseprep.protocol import LabSettings, Protocol


def infusion_expiry(prepared_at: datetime, collected_at: datetime, protocol: Protocol,
                    lab: LabSettings) -> tuple[datetime, Step]:
    """The moment the infusion expires, in the site's zone, and its step."""
    site = ZoneInfo(lab.time_zone)
    expires = min(prepared_at + protocol.infusion_expiry,
                  collected_at + protocol.max_product_age).astimezone(site)
    return expires, Step("Infusion expiry",
                         "min(prepared + infusion expiry, collected + maximum product age)",
                         f"min({stamp(prepared_at.astimezone(site))} + "
                         f"{hours(protocol.infusion_expiry)} h, "
                         f"{stamp(collected_at.astimezone(site))} + "
                         f"{hours(protocol.max_product_age)} h)",
                         stamp(expires))

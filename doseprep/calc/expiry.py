"""When an infusion expires: the earlier of the preparation plus the protocol's infusion expiry
and the collection plus the maximum product age (contract step 13). Computed on instants (real
hours, whatever clock change falls between) and given as the site's clocks show it."""

from __future__ import annotations

from datetime import datetime

from doseprep.calc.checks import hours, stamp
from doseprep.calc.model import Step
from doseprep.protocol import LabSettings, Protocol
from doseprep.units.instants import at_site, later


def infusion_expiry(prepared_at: datetime, collected_at: datetime, protocol: Protocol,
                    lab: LabSettings) -> tuple[datetime, Step]:
    """The moment the infusion expires (with the site's offset at that moment) and its step."""
    zone = lab.time_zone
    expires = at_site(min(later(prepared_at, protocol.infusion_expiry),
                          later(collected_at, protocol.max_product_age)), zone)
    return expires, Step("Infusion expiry",
                         "min(prepared + infusion expiry, collected + maximum product age)",
                         f"min({stamp(prepared_at, zone)} + "
                         f"{hours(protocol.infusion_expiry)} h, "
                         f"{stamp(collected_at, zone)} + "
                         f"{hours(protocol.max_product_age)} h)",
                         stamp(expires, zone))

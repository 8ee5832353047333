"""The cryo figures: the lab's (``[cryo]`` in the lab file) and the protocol's. The defaults are
DESIGN.md's examples, which a lab replaces with its validated figures."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Bag:
    """A freezing bag: its name and the fill it is validated for (mL)."""

    name: str
    min_ml: Fraction
    max_ml: Fraction


@dataclass(frozen=True)
class CryoSettings:
    """The lab's cryopreservation figures, exactly."""

    post_thaw_recovery_percent: Fraction = Fraction(75)
    freezing_medium_dmso_percent: Fraction = Fraction(20)
    final_dmso_percent: Fraction = Fraction(10)
    dmso_density_g_per_ml: Fraction = Fraction(11, 10)
    max_dmso_g_per_kg: Fraction = Fraction(1)
    max_wbc_per_ml: Fraction = Fraction(2 * 10**8)
    bags: tuple[Bag, ...] = (Bag("bag S", Fraction(10), Fraction(30)),
                             Bag("bag M", Fraction(30), Fraction(70)),
                             Bag("bag L", Fraction(70), Fraction(140)))
    frozen_shelf_life_days: int = 1825
    thawed_infusion_expiry_minutes: int = 60
    storage_statement: str = "Store at or below −150 °C"

    @property
    def recovery(self) -> Fraction:
        """R, the fraction of viable CD3+ recovered after thawing."""
        return self.post_thaw_recovery_percent / 100


@dataclass(frozen=True)
class ProtocolCryo:
    """The protocol's cryo limits."""

    min_post_thaw_viability_percent: Fraction = Fraction(50)
    weight_change_percent: Fraction = Fraction(10)


DEFAULT_CRYO = CryoSettings()
DEFAULT_PROTOCOL_CRYO = ProtocolCryo()

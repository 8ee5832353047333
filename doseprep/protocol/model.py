"""What a protocol and the lab settings hold, once read and checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pint

from doseprep.protocol._base import EXAMPLE_FIN, EXAMPLE_PRODUCT_CODE


@dataclass(frozen=True)
class Bag:
    """A freezing bag: its name and the fill it is validated for (mL)."""

    name: str
    min_ml: Fraction
    max_ml: Fraction


@dataclass(frozen=True)
class CryoSettings:
    """The lab's cryopreservation figures, exactly. The post-thaw recovery R is not among them:
    it is the protocol's (:class:`ProtocolCryo`, DESIGN.md Revision 3)."""

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
    #: ISBT 128 product description codes and texts of the frozen and the thawed product.
    product_description_code: str = "S1235"
    product_description: str = "Donor T cells (HMCT), haploidentical related donor, cryopreserved"
    thawed_product_description_code: str = "S1236"
    thawed_product_description: str = ("Donor T cells (HMCT), haploidentical related donor, "
                                       "thawed")


@dataclass(frozen=True)
class ProtocolCryo:
    """The protocol's cycle-2 decisions: what a dose level counts (``dose_basis``), the post-thaw
    recovery R, and the limits of a thawed bag.

    ``post_thaw``: the dose level is what the patient receives after thawing, so each aliquot
    freezes Nf = Nt ÷ R. ``pre_freeze``: the dose level is what is frozen, Nf = Nt, and R only
    predicts the post-thaw dose. ``stated`` says whether the file gave the basis and R or they
    are DESIGN.md's defaults (printed so; the approver sees which).
    """

    min_post_thaw_viability_percent: Fraction = Fraction(50)
    weight_change_percent: Fraction = Fraction(10)
    dose_basis: str = "post_thaw"
    post_thaw_recovery_percent: Fraction = Fraction(75)
    stated: bool = False

    @property
    def recovery(self) -> Fraction:
        """R, the fraction of viable CD3+ recovered after thawing."""
        return self.post_thaw_recovery_percent / 100

    @property
    def pre_freeze(self) -> bool:
        """The dose level counts the viable CD3+ frozen (Nf = Nt)."""
        return self.dose_basis == "pre_freeze"

    def basis_words(self) -> str:
        """The dose basis as documents print it."""
        what = ("pre-freeze: the dose level is the viable CD3+ frozen; R predicts the post-thaw "
                "dose" if self.pre_freeze else
                "post-thaw: the dose level is the viable CD3+ infused after thawing; Nf = Nt ÷ R")
        source = "" if self.stated else " (the protocol's defaults: the file does not say)"
        return f"{what}; R = {float(self.post_thaw_recovery_percent):g} %{source}"


@dataclass(frozen=True)
class DoseLevel:
    """One dose level of the escalation: its name and viable CD3+ cells per kg."""

    name: str
    dose: pint.Quantity


@dataclass(frozen=True)
class ProtocolApproval:
    """An administrator's signed approval of one protocol or lab file, as the record store holds
    it.

    Only the store can grant this (``doseprep protocol approve FILE``, ``doseprep lab approve
    FILE``); a protocol file's own ``approved`` flag is its author's intention and never counts.
    ``fingerprint`` is the approved file's SHA-256 fingerprint; an edited file has another
    fingerprint and is unapproved again.
    """

    fingerprint: str
    approved_by: str  # the administrator's user id
    approved_at: str  # when, UTC (the store's fixed-width text)
    signature_hash: str = ""
    printed_name: str = ""


@dataclass(frozen=True)
class Protocol:
    """The clinical settings of one protocol, with units.

    ``approved`` is true only when the store has approved this exact fingerprint (``approval``);
    ``author_approved`` is what the file itself says, printed as the author's intention.
    """

    id: str
    title: str
    version: str
    author_approved: bool
    dose_levels: tuple[DoseLevel, ...]
    cycles: tuple[tuple[int, int], ...]  # (cycle, number of infusions)
    tolerance_percent: float
    final_volume: pint.Quantity
    min_viability_percent: float
    max_product_age: timedelta
    infusion_expiry: timedelta
    max_volume_per_kg: pint.Quantity
    fingerprint: str
    source: str
    approval: ProtocolApproval | None = None
    cryo: ProtocolCryo = ProtocolCryo()  # cycle 2: dose basis, R, post-thaw limits
    #: The blocking findings the medical director may release by exception (DESIGN.md,
    #: "Exceptional release").
    exceptional_release: tuple[str, ...] = ()
    #: The file's exact text, which a record keeps so that it never depends on files on disk.
    text: str = ""

    @property
    def approved(self) -> bool:
        """Approved for clinical use: the store holds an approval of exactly this fingerprint."""
        return self.approval is not None and self.approval.fingerprint == self.fingerprint

    def dose_level(self, name: str) -> DoseLevel | None:
        """The dose level called ``name`` (case-insensitive), or None."""
        wanted = name.strip().upper()
        return next((d for d in self.dose_levels if d.name.upper() == wanted), None)

    def infusions(self, cycle: int) -> int | None:
        """How many infusions cycle ``cycle`` has, or None when the protocol has no such cycle."""
        return dict(self.cycles).get(cycle)


@dataclass(frozen=True)
class Syringe:
    """A syringe the lab stocks: its capacity and its smallest graduation."""

    capacity: pint.Quantity
    graduation: pint.Quantity


@dataclass(frozen=True)
class PlausibleRanges:
    """The lab's ``[plausible]`` ranges: values outside are typing slips until confirmed.

    Defaults from DESIGN.md ("Plausibility"): CD3+ at least 5 %, undiluted WBC 1×10⁶ to 1×10⁹
    cells/mL (1 to 1 000 ×10³/µL), weight at least 1 kg.
    """

    cd3_percent_min: float = 5.0
    wbc_per_ml_min: float = 1e6
    wbc_per_ml_max: float = 1e9
    weight_kg_min: float = 1.0


@dataclass(frozen=True)
class LabSettings:
    """One laboratory's equipment and habits, with units."""

    name: str
    address: tuple[str, ...]
    syringes: tuple[Syringe, ...]  # smallest first
    min_measurable: pint.Quantity
    qc_reserve: pint.Quantity
    specific_gravity: pint.Quantity
    dilution_factors: tuple[int, ...]
    dilution_aliquot: pint.Quantity
    fingerprint: str
    source: str
    facility: Mapping[str, Any]  # ISBT 128 facility data (FIN, product codes, label stock)
    plausible: PlausibleRanges = PlausibleRanges()
    time_zone: str = "America/Los_Angeles"  # the site's IANA zone (lab file key ``time_zone``)
    cryo: CryoSettings = CryoSettings()  # the ``[cryo]`` table: cycle-2 freezing figures
    #: The store's approval of this exact file (``doseprep lab approve``), or None.
    approval: ProtocolApproval | None = None
    #: The file's exact text, which a record keeps so that it never depends on files on disk.
    text: str = ""

    @property
    def approved(self) -> bool:
        """Approved for clinical use: the store holds an approval of exactly this fingerprint."""
        return self.approval is not None and self.approval.fingerprint == self.fingerprint

    @property
    def example_facility(self) -> bool:
        """True while the bundled example FIN or product code is in use: documents then say
        "EXAMPLE — not your lab's" beside them (issue 9)."""
        return (str(self.facility.get("fin", "")) == EXAMPLE_FIN
                or str(self.facility.get("product_description_code", "")) == EXAMPLE_PRODUCT_CODE)


def fingerprint(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a settings table (hex)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

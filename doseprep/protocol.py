"""Protocol and lab settings: the two TOML files every calculation depends on.

The **protocol** is clinical (dose levels, cycles, tolerance, expiry); the **lab** file describes
one laboratory's equipment (syringes, smallest measurable volume, QC reserve, dilution practice).
Both are loaded, checked key by key and turned into frozen values with units. A file that cannot
be used raises :class:`SettingsError` naming the file and the key. Each loaded file carries a
SHA-256 fingerprint of its canonical content (comments and layout do not count), which the
documents print beside the version so an inspector can tell exactly which table was used.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pint

from doseprep.errors import SettingsError
from doseprep.resources import resource_path
from doseprep.units import CELLS_PER_KG, ML, Q_, ureg

SCHEMA_VERSION = 1
DEFAULT_PROTOCOL = "hmct-blinatumomab"


@dataclass(frozen=True)
class DoseLevel:
    """One dose level of the escalation: its name and viable CD3+ cells per kg."""

    name: str
    dose: pint.Quantity


@dataclass(frozen=True)
class ProtocolApproval:
    """An administrator's signed approval of one protocol file, as the record store holds it.

    Only the store can grant this (``doseprep protocol approve FILE``); a file's own ``approved``
    flag is its author's intention and never counts. ``fingerprint`` is the approved file's
    SHA-256 fingerprint; an edited file has another fingerprint and is unapproved again.
    """

    fingerprint: str
    approved_by: str  # the administrator's user name
    approved_at: str  # ISO 8601 with offset
    signature_hash: str = ""


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


def fingerprint(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a settings table (hex)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Reader:
    """Reads typed, checked values out of one parsed TOML table, naming the file on error."""

    def __init__(self, source: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.data = data

    def fail(self, key: str, message: str) -> SettingsError:
        return SettingsError(self.source, key, message)

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise self.fail(key, "this key is missing; add it (the bundled file shows an "
                                 "example).")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be non-empty text in quotes.")
        return value.strip()

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false.")
        return value

    def number(self, key: str, *, minimum: float = 0.0, strict: bool = True,
               maximum: float | None = None, value: Any = None) -> float:
        if value is None:
            value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number (got {value!r}).")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, f"must be a finite number (got {value!r}).")
        if (strict and number <= minimum) or number < minimum:
            relation = "greater than" if strict else "at least"
            raise self.fail(key, f"must be {relation} {minimum:g} (got {value!r}).")
        if maximum is not None and number > maximum:
            raise self.fail(key, f"must be at most {maximum:g} (got {value!r}).")
        return number

    def table(self, key: str) -> Mapping[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict) or not value:
            raise self.fail(key, "must be a non-empty table.")
        return value


def _read_toml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(source, "", "file not found.") from None
    except OSError as exc:
        raise SettingsError(source, "", f"cannot be read ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(source, "", f"is not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise SettingsError(source, "", "is not UTF-8 text.") from None
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise SettingsError(source, "schema_version",
                                f"this file is for a newer doseprep (schema {version}); "
                                "update doseprep.")
        raise SettingsError(source, "schema_version", f"must be {SCHEMA_VERSION}.")
    return data


def bundled_protocols() -> list[str]:
    """The ids of the protocols that ship with doseprep."""
    return sorted(p.stem for p in resource_path("protocols").glob("*.toml"))


def protocol_path(ref: str | Path) -> Path:
    """The file of a protocol given by bundled id or by path."""
    text = str(ref)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)
    path = resource_path("protocols", f"{text}.toml")
    if not path.is_file():
        known = ", ".join(bundled_protocols())
        raise SettingsError(text, "", f"no bundled protocol has this id (bundled: {known}); "
                                      "give the path of a protocol .toml file instead.")
    return path


def load_protocol(ref: str | Path = DEFAULT_PROTOCOL) -> Protocol:
    """Load and check a protocol by bundled id (``hmct-blinatumomab``) or file path."""
    path = protocol_path(ref)
    data = _read_toml(path)
    r = _Reader(str(path), data)
    levels_table = r.table("dose_levels")
    levels = []
    for name, value in levels_table.items():
        dose = r.number(f"dose_levels.{name}", value=value)
        levels.append(DoseLevel(name=name, dose=Q_(dose, CELLS_PER_KG)))
    cycles = []
    for key, value in r.table("cycles").items():
        if not key.isdigit() or int(key) < 1:
            raise r.fail(f"cycles.{key}", "cycle numbers must be whole numbers from 1.")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise r.fail(f"cycles.{key}", f"must be the number of infusions, 1 or more "
                                         f"(got {value!r}).")
        cycles.append((int(key), value))
    author_approved = r.boolean("approved")
    return Protocol(
        id=r.text("id"),
        title=r.text("title"),
        version=r.text("version"),
        author_approved=author_approved,
        dose_levels=tuple(levels),
        cycles=tuple(sorted(cycles)),
        tolerance_percent=r.number("tolerance_percent", strict=False, maximum=100),
        final_volume=Q_(r.number("final_volume_mL"), ML),
        min_viability_percent=r.number("min_viability_percent", strict=False, maximum=100),
        max_product_age=timedelta(hours=r.number("max_product_age_hours")),
        infusion_expiry=timedelta(hours=r.number("infusion_expiry_hours")),
        max_volume_per_kg=Q_(r.number("max_volume_mL_per_kg"), ureg.mL / ureg.kg),
        fingerprint=fingerprint(data),
        source=str(path),
    )


def default_lab_path() -> Path:
    """The bundled lab settings file."""
    return resource_path("lab.toml")


def load_lab(path: str | Path | None = None) -> LabSettings:
    """Load and check lab settings from ``path`` (the bundled defaults when None)."""
    path = Path(path) if path is not None else default_lab_path()
    data = _read_toml(path)
    r = _Reader(str(path), data)
    syringes = []
    for key, value in r.table("syringes").items():
        try:
            capacity = float(key)
        except ValueError:
            raise r.fail(f"syringes.{key}", "syringe capacities must be numbers of mL.") from None
        if capacity <= 0:
            raise r.fail(f"syringes.{key}", "syringe capacities must be greater than 0.")
        graduation = r.number(f"syringes.{key}", value=value, maximum=capacity)
        syringes.append(Syringe(capacity=Q_(capacity, ML), graduation=Q_(graduation, ML)))
    syringes.sort(key=lambda s: s.capacity.magnitude)
    factors = r.get("dilution_factors")
    if (not isinstance(factors, list) or not factors
            or any(isinstance(f, bool) or not isinstance(f, int) or f < 2 for f in factors)):
        raise r.fail("dilution_factors", "must be a list of whole numbers of 2 or more, "
                                         "e.g. [10, 100].")
    if list(factors) != sorted(set(factors)):
        raise r.fail("dilution_factors", "must be in increasing order without repeats.")
    address = data.get("address", [])
    if not isinstance(address, list) or not all(isinstance(a, str) for a in address):
        raise r.fail("address", "must be a list of text lines.")
    facility = data.get("facility", {})
    if not isinstance(facility, dict):
        raise r.fail("facility", "must be a table.")
    _check_facility(r, facility)
    return LabSettings(
        name=r.text("name"),
        address=tuple(address),
        syringes=tuple(syringes),
        min_measurable=Q_(r.number("min_measurable_mL"), ML),
        qc_reserve=Q_(r.number("qc_reserve_mL", strict=False), ML),
        specific_gravity=Q_(r.number("specific_gravity"), ureg.g / ureg.mL),
        dilution_factors=tuple(factors),
        dilution_aliquot=Q_(r.number("dilution_aliquot_mL"), ML),
        fingerprint=fingerprint(data),
        source=str(path),
        facility=facility,
    )


def _check_facility(r: _Reader, facility: Mapping[str, Any]) -> None:
    """The ISBT 128 facility data must make valid codes before any label is printed."""
    from doseprep.errors import InputError
    from doseprep.isbt128 import Din, product_code_structure

    if "fin" in facility:
        try:
            Din(fin=str(facility["fin"]), year="00", sequence="000001")
        except InputError:
            raise r.fail("facility.fin", "must be the 5-character ISBT 128 facility "
                                         "identification number: a letter other than O or a "
                                         "digit 1–9, then 4 digits (got "
                                         f"{facility['fin']!r}).") from None
    if "product_description_code" in facility:
        try:
            product_code_structure(str(facility["product_description_code"]),
                                   str(facility.get("donation_type", "")),
                                   str(facility.get("division", "00")))
        except InputError as exc:
            raise r.fail("facility.product_description_code", exc.message) from None

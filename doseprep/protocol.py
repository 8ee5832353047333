"""Protocol and lab settings: the two TOML files every calculation depends on.

The **protocol** is clinical (dose levels, cycles, tolerance, expiry); the **lab** file describes
one laboratory's equipment (syringes, smallest measurable volume, QC reserve, dilution practice).
Both are loaded, checked key by key and turned into frozen values with units. A file that cannot
be used raises :class:`SettingsError` naming the file and the key. Each loaded file carries a
SHA-256 fingerprint of its canonical content (comments and layout do not count), which the
documents print beside the version so an inspector can tell exactly which table was used.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pint

from doseprep.errors import SettingsError
from doseprep.resources import resource_path
from doseprep.units import CELLS_PER_KG, ML, Q_, ureg

SCHEMA_VERSION = 1
DEFAULT_PROTOCOL = "hmct-blinatumomab"

#: Every key a protocol file may hold; any other is a settings error naming it (a misspelt key
#: must never fall back silently to a default).
PROTOCOL_KEYS = frozenset({
    "schema_version", "id", "title", "version", "approved", "tolerance_percent",
    "final_volume_mL", "min_viability_percent", "max_product_age_hours", "infusion_expiry_hours",
    "max_volume_mL_per_kg", "dose_levels", "cycles",
    # cycle 2 (cryopreserved aliquots, DESIGN.md)
    "min_post_thaw_viability_percent", "weight_change_percent",
})
#: Every key a lab file may hold.
LAB_KEYS = frozenset({
    "schema_version", "name", "address", "time_zone", "min_measurable_mL", "qc_reserve_mL",
    "specific_gravity", "dilution_factors", "dilution_aliquot_mL", "syringes", "facility",
    "plausible", "cryo",
})
PLAUSIBLE_KEYS = ("cd3_percent_min", "wbc_per_mL_min", "wbc_per_mL_max", "weight_kg_min")
#: The bundled lab file's example ISBT 128 facility number and product code (not a real lab's).
EXAMPLE_FIN = "G1234"
EXAMPLE_PRODUCT_CODE = "S1234"
EXAMPLE_MARK = "EXAMPLE — not your lab's"
#: Longest dose-level name (the record store's column).
MAX_LEVEL_NAME = 16


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

    def text(self, key: str, limit: int = 200) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be non-empty text in quotes.")
        if len(value.strip()) > limit or not value.strip().isprintable():
            raise self.fail(key, f"must be one line of at most {limit} characters.")
        return value.strip()

    def known_keys(self, known: frozenset[str] | tuple[str, ...], prefix: str = "",
                   data: Mapping[str, Any] | None = None) -> None:
        """Refuse any key not in ``known``, suggesting the nearest known one."""
        for key in (self.data if data is None else data):
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise self.fail(f"{prefix}{key}", f"is not a setting doseprep knows; it would be "
                                              f"ignored.{hint}")

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
    r.known_keys(PROTOCOL_KEYS)
    levels_table = r.table("dose_levels")
    if len(levels_table) > 50:
        raise r.fail("dose_levels", "has more than 50 dose levels.")
    levels = []
    seen: dict[str, str] = {}
    for name, value in levels_table.items():
        if not name.strip() or len(name) > MAX_LEVEL_NAME or not name.isprintable() \
                or name != name.strip():
            raise r.fail(f"dose_levels.{name}", f"dose-level names are 1 to {MAX_LEVEL_NAME} "
                                               "characters without spaces around, e.g. DL3.")
        if name.upper() in seen:
            raise r.fail(f"dose_levels.{name}", f"is the same dose level as "
                                               f"dose_levels.{seen[name.upper()]} (names are "
                                               "read regardless of case); keep one.")
        seen[name.upper()] = name
        dose = r.number(f"dose_levels.{name}", value=value, maximum=1e12)
        levels.append(DoseLevel(name=name, dose=Q_(dose, CELLS_PER_KG)))
    cycles = []
    for key, value in r.table("cycles").items():
        if not key.isascii() or not key.isdigit() or not 1 <= int(key) <= 100:
            raise r.fail(f"cycles.{key}", "cycle numbers must be whole numbers from 1 to 100.")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 26:
            raise r.fail(f"cycles.{key}", f"must be the number of infusions, 1 to 26 "
                                         f"(got {value!r}).")
        cycles.append((int(key), value))
    for key in ("min_post_thaw_viability_percent", "weight_change_percent"):
        if key in data:
            r.number(key, strict=False, maximum=100)
    author_approved = r.boolean("approved")
    return Protocol(
        id=r.text("id", limit=100),
        title=r.text("title"),
        version=r.text("version", limit=50),
        author_approved=author_approved,
        dose_levels=tuple(levels),
        cycles=tuple(sorted(cycles)),
        tolerance_percent=r.number("tolerance_percent", strict=False, maximum=50),
        final_volume=Q_(r.number("final_volume_mL", maximum=2000), ML),
        min_viability_percent=r.number("min_viability_percent", strict=False, maximum=100),
        max_product_age=timedelta(hours=r.number("max_product_age_hours", maximum=720)),
        infusion_expiry=timedelta(hours=r.number("infusion_expiry_hours", maximum=72)),
        max_volume_per_kg=Q_(r.number("max_volume_mL_per_kg", maximum=100),
                             ureg.mL / ureg.kg),
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
    r.known_keys(LAB_KEYS)
    syringes = []
    syringe_table = r.table("syringes")
    if len(syringe_table) > 20:
        raise r.fail("syringes", "lists more than 20 syringes.")
    for key, value in syringe_table.items():
        try:
            capacity = float(key)
        except ValueError:
            raise r.fail(f"syringes.{key}", "syringe capacities must be numbers of mL.") from None
        if not math.isfinite(capacity) or not 0 < capacity <= 1000:
            raise r.fail(f"syringes.{key}", "syringe capacities must be numbers of mL above 0 "
                                            "and at most 1000.")
        graduation = r.number(f"syringes.{key}", value=value, maximum=capacity)
        steps = Fraction(repr(capacity)) / Fraction(repr(graduation))
        if steps.denominator != 1:
            raise r.fail(f"syringes.{key}", f"the graduation {graduation:g} mL does not divide "
                                            f"the capacity {capacity:g} mL into whole steps.")
        syringes.append(Syringe(capacity=Q_(capacity, ML), graduation=Q_(graduation, ML)))
    syringes.sort(key=lambda s: s.capacity.magnitude)
    factors = r.get("dilution_factors")
    if (not isinstance(factors, list) or not factors or len(factors) > 5
            or any(isinstance(f, bool) or not isinstance(f, int) or not 2 <= f <= 10_000
                   for f in factors)):
        raise r.fail("dilution_factors", "must be a list of up to 5 whole numbers from 2 to "
                                         "10000, e.g. [10, 100].")
    if list(factors) != sorted(set(factors)):
        raise r.fail("dilution_factors", "must be in increasing order without repeats.")
    address = data.get("address", [])
    if not isinstance(address, list) or len(address) > 6 or not all(
            isinstance(a, str) and len(a) <= 200 and a.isprintable() for a in address):
        raise r.fail("address", "must be a list of up to 6 text lines.")
    facility = data.get("facility", {})
    if not isinstance(facility, dict):
        raise r.fail("facility", "must be a table.")
    _check_facility(r, facility)
    min_measurable = r.number("min_measurable_mL", maximum=100)
    aliquot = r.number("dilution_aliquot_mL", maximum=100)
    if aliquot < min_measurable:
        raise r.fail("dilution_aliquot_mL", f"must be at least min_measurable_mL "
                                            f"({min_measurable:g} mL): a dilution aliquot "
                                            "smaller than the smallest measurable volume "
                                            "cannot be measured.")
    return LabSettings(
        name=r.text("name"),
        address=tuple(address),
        syringes=tuple(syringes),
        min_measurable=Q_(min_measurable, ML),
        qc_reserve=Q_(r.number("qc_reserve_mL", strict=False, maximum=1000), ML),
        specific_gravity=Q_(r.number("specific_gravity", minimum=0.5, maximum=2),
                            ureg.g / ureg.mL),
        dilution_factors=tuple(factors),
        dilution_aliquot=Q_(aliquot, ML),
        fingerprint=fingerprint(data),
        source=str(path),
        facility=facility,
        plausible=_plausible(r, data.get("plausible", {})),
        time_zone=_time_zone(r),
    )


def _time_zone(r: _Reader) -> str:
    """The site's IANA time zone, checked against the time-zone database."""
    zone = r.text("time_zone", limit=64)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise r.fail("time_zone", f"\"{zone}\" is not an IANA time zone; write the site's zone "
                                  "like \"America/Los_Angeles\" or \"Europe/Berlin\".") from None
    return zone


def _plausible(r: _Reader, table: Any) -> PlausibleRanges:
    """The ``[plausible]`` table (optional; the defaults of DESIGN.md for missing keys)."""
    if not isinstance(table, dict):
        raise r.fail("plausible", "must be a table.")
    r.known_keys(PLAUSIBLE_KEYS, "plausible.", table)
    default = PlausibleRanges()

    def get(key: str, fallback: float, maximum: float) -> float:
        if key not in table:
            return fallback
        return r.number(f"plausible.{key}", value=table[key], maximum=maximum)

    ranges = PlausibleRanges(
        cd3_percent_min=get("cd3_percent_min", default.cd3_percent_min, 100),
        wbc_per_ml_min=get("wbc_per_mL_min", default.wbc_per_ml_min, 1e12),
        wbc_per_ml_max=get("wbc_per_mL_max", default.wbc_per_ml_max, 1e12),
        weight_kg_min=get("weight_kg_min", default.weight_kg_min, 500),
    )
    if ranges.wbc_per_ml_min >= ranges.wbc_per_ml_max:
        raise r.fail("plausible.wbc_per_mL_max", "must be above plausible.wbc_per_mL_min.")
    return ranges


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

"""Loading a protocol (bundled, or a file) and the lab settings, checked on load."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doseprep.errors import SettingsError
from doseprep.protocol._base import (
    BLOCKING_CODES,
    DEFAULT_EXCEPTIONAL_RELEASE,
    DEFAULT_PROTOCOL,
    DOSE_BASES,
    FACILITY_KEYS,
    FACILITY_TEXTS,
    LAB_KEYS,
    LABEL_MAX_MM,
    LABEL_MIN_HEIGHT_MM,
    LABEL_MIN_WIDTH_MM,
    MAX_LEVEL_NAME,
    NEVER_RELEASED,
    PLAUSIBLE_KEYS,
    PROTOCOL_KEYS,
)
from doseprep.protocol.model import (
    Bag,
    CryoSettings,
    DoseLevel,
    LabSettings,
    PlausibleRanges,
    Protocol,
    ProtocolCryo,
    Syringe,
    fingerprint,
)
from doseprep.protocol.reader import _parse_toml, _read_text, _Reader
from doseprep.resources import resource_path
from doseprep.units import CELLS_PER_KG, ML, Q_, exact, ureg


def bundled_protocols() -> list[str]:
    """The ids of the protocols that ship with doseprep."""
    return sorted(p.stem for p in resource_path("protocols").glob("*.toml"))


def protocol_path(ref: str | Path) -> Path:
    """The file of a protocol given by bundled id or by path."""
    text = str(ref)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)
    path = resource_path("protocols", f"{text}.toml")
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name no file system takes: too long, a NUL character
        found = False
    if not found:
        known = ", ".join(bundled_protocols())
        raise SettingsError(text, "", f"no bundled protocol has this id (bundled: {known}); "
                                      "give the path of a protocol .toml file instead.")
    return path


def load_protocol(ref: str | Path = DEFAULT_PROTOCOL) -> Protocol:
    """Load and check a protocol by bundled id (``hmct-blinatumomab``) or file path."""
    path = protocol_path(ref)
    return protocol_from_text(_read_text(path), str(path))


def protocol_from_text(text: str, source: str) -> Protocol:
    """Check a protocol from its file's exact text (a record keeps it); ``source`` names it in
    every message."""
    data = _parse_toml(text, source)
    r = _Reader(source, data)
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
    cryo_limits = _protocol_cryo(r, data)
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
        source=source,
        cryo=cryo_limits,
        exceptional_release=_exceptional_release(r, data),
        text=text,
    )


def _protocol_cryo(r: _Reader, data: dict[str, Any]) -> ProtocolCryo:
    """The protocol's cycle-2 decisions: dose basis, R and the post-thaw limits."""
    values: dict[str, Any] = {
        key: exact(r.number(key, strict=False, maximum=100)) for key in
        ("min_post_thaw_viability_percent", "weight_change_percent") if key in data}
    if "dose_basis" in data:
        basis = data["dose_basis"]
        if basis not in DOSE_BASES:
            raise r.fail("dose_basis", "must be \"post_thaw\" (the dose level is what the "
                                       "patient receives after thawing) or \"pre_freeze\" (the "
                                       f"dose level is what is frozen); got {basis!r}.")
        values["dose_basis"] = basis
    if "post_thaw_recovery_percent" in data:
        values["post_thaw_recovery_percent"] = exact(r.number(
            "post_thaw_recovery_percent", maximum=100))
    if ("dose_basis" in data) != ("post_thaw_recovery_percent" in data):
        missing = "post_thaw_recovery_percent" if "dose_basis" in data else "dose_basis"
        raise r.fail(missing, "the dose basis and the post-thaw recovery R are decided "
                              "together: give both dose_basis and post_thaw_recovery_percent.")
    values["stated"] = "dose_basis" in data
    return ProtocolCryo(**values)


def _exceptional_release(r: _Reader, data: dict[str, Any]) -> tuple[str, ...]:
    """The blocking findings the medical director may release by exception; never one that
    says the product cannot be measured, held or trusted (DESIGN.md)."""
    if "exceptional_release" not in data:
        return DEFAULT_EXCEPTIONAL_RELEASE
    codes = data["exceptional_release"]
    if not isinstance(codes, list) or len(codes) > len(BLOCKING_CODES) \
            or not all(isinstance(c, str) for c in codes):
        raise r.fail("exceptional_release", "must be a list of blocking finding codes, e.g. "
                                            "[\"DOSE_OUT_OF_TOLERANCE\", \"LOW_VIABILITY\"] "
                                            "(or [] for none).")
    for code in codes:
        if code in NEVER_RELEASED:
            raise r.fail("exceptional_release", f"{code} can never be released by exception "
                                                "(an unconfirmed slip, too little product, a "
                                                "volume that cannot be measured or a bag that "
                                                "cannot hold the aliquot); remove it.")
        if code not in BLOCKING_CODES:
            known = ", ".join(sorted(BLOCKING_CODES - NEVER_RELEASED))
            raise r.fail("exceptional_release", f"\"{code}\" is not a blocking finding "
                                                f"doseprep knows (those that may be listed: "
                                                f"{known}).")
    if len(set(codes)) != len(codes):
        raise r.fail("exceptional_release", "lists a finding twice; list each once.")
    return tuple(codes)


def default_lab_path() -> Path:
    """The bundled lab settings file."""
    return resource_path("lab.toml")


def load_lab(path: str | Path | None = None) -> LabSettings:
    """Load and check lab settings from ``path`` (the bundled defaults when None)."""
    path = Path(path) if path is not None else default_lab_path()
    return lab_from_text(_read_text(path), str(path))


def lab_from_text(text: str, source: str, *, kept_before_r3: bool = False) -> LabSettings:
    """Check lab settings from the file's exact text (a record keeps it); ``source`` names it in
    every message. ``kept_before_r3``: a file kept for a record saved before the post-thaw
    recovery moved to the protocol, whose ``[cryo]`` table may still hold it; it is set aside
    (the plan computed again with the protocol's R must still equal the one signed)."""
    data = _parse_toml(text, source)
    printed = fingerprint(data)
    if kept_before_r3 and isinstance(data.get("cryo"), dict):
        data = {**data, "cryo": {k: v for k, v in data["cryo"].items()
                                 if k != "post_thaw_recovery_percent"}}
    r = _Reader(source, data)
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
        fingerprint=printed,
        source=source,
        facility=facility,
        plausible=_plausible(r, data.get("plausible", {})),
        time_zone=_time_zone(r),
        cryo=_cryo(r, data.get("cryo")),
        text=text,
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
    _check_label_stock(r, facility)


def _check_label_stock(r: _Reader, facility: Mapping[str, Any]) -> None:
    """The facility's texts and label stock, as every bag label prints them: known keys, one
    line of text each, and a stock no smaller than a whole label needs (issue 21: a 30 mm label
    silently dropped the expiry and the recipient)."""
    r.known_keys(FACILITY_KEYS, "facility.", facility)
    for key, limit in FACILITY_TEXTS.items():
        if key in facility:
            text = facility[key]
            if not isinstance(text, str) or not text.strip() or len(text.strip()) > limit \
                    or not text.strip().isprintable():
                raise r.fail(f"facility.{key}", f"must be one line of text of at most {limit} "
                                                "characters in quotes: every bag label prints "
                                                "it.")
    for key, least in (("label_width_mm", LABEL_MIN_WIDTH_MM),
                       ("label_height_mm", LABEL_MIN_HEIGHT_MM)):
        if key not in facility:
            continue
        size = r.number(f"facility.{key}", value=facility[key])
        if not least <= size <= LABEL_MAX_MM:
            raise r.fail(f"facility.{key}",
                         f"the label stock must be {LABEL_MIN_WIDTH_MM} mm to {LABEL_MAX_MM} mm "
                         f"wide and {LABEL_MIN_HEIGHT_MM} mm to {LABEL_MAX_MM} mm high (got "
                         f"{size:g} mm): on smaller stock the barcodes, the expiry or the "
                         "intended recipient would not fit. Use larger label stock.")


#: The ``[cryo]`` keys with their bounds (DESIGN.md, "Cryopreserved aliquots"); ``bags`` is a
#: list of tables {name, min_mL, max_mL}.
_CRYO_NUMBERS: dict[str, tuple[str, float, float]] = {
    "freezing_medium_dmso_percent": ("freezing_medium_dmso_percent", 0, 100),
    "final_dmso_percent": ("final_dmso_percent", 0, 100),
    "dmso_density_g_per_mL": ("dmso_density_g_per_ml", 0.5, 2),
    "max_dmso_g_per_kg": ("max_dmso_g_per_kg", 0, 10),
    "max_wbc_per_mL": ("max_wbc_per_ml", 0, 1e12),
}
_CRYO_TEXTS = ("storage_statement", "product_description", "thawed_product_description")
_CRYO_CODES = ("product_description_code", "thawed_product_description_code")
_CRYO_KEYS = frozenset({*_CRYO_NUMBERS, *_CRYO_TEXTS, *_CRYO_CODES, "bags",
                        "frozen_shelf_life_days", "thawed_infusion_expiry_minutes"})


def _cryo(r: _Reader, table: Any) -> CryoSettings:
    """The lab's ``[cryo]`` table (absent: DESIGN.md's example figures), every key checked."""
    if table is None:
        return CryoSettings()
    if not isinstance(table, dict):
        raise r.fail("cryo", "must be a table.")
    if "post_thaw_recovery_percent" in table:
        raise r.fail("cryo.post_thaw_recovery_percent",
                     "the post-thaw recovery R is a clinical decision and belongs to the "
                     "protocol now (its post_thaw_recovery_percent, beside dose_basis), where it "
                     "is approved; remove it from the lab file and put it in the protocol.")
    r.known_keys(_CRYO_KEYS, "cryo.", table)
    values: dict[str, Any] = {}
    for key, (name, low, high) in _CRYO_NUMBERS.items():
        if key in table:
            values[name] = exact(r.number(f"cryo.{key}", value=table[key], minimum=low,
                                          maximum=high))
    medium = values.get("freezing_medium_dmso_percent", CryoSettings.freezing_medium_dmso_percent)
    final = values.get("final_dmso_percent", CryoSettings.final_dmso_percent)
    if not final < medium:
        raise r.fail("cryo.final_dmso_percent", f"must be below freezing_medium_dmso_percent "
                                                f"({float(medium):g} %): the medium is diluted "
                                                "by the cells to the final DMSO.")
    for key, high in (("frozen_shelf_life_days", 36500), ("thawed_infusion_expiry_minutes", 1440)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise r.fail(f"cryo.{key}", f"must be a whole number from 1 to {high}.")
            values[key] = value
    for key in _CRYO_TEXTS:
        if key in table:
            text = table[key]
            if not isinstance(text, str) or not text.strip() or len(text) > 120 or "\n" in text:
                raise r.fail(f"cryo.{key}", "must be one line of at most 120 characters.")
            values[key] = text.strip()
    from doseprep.errors import InputError
    from doseprep.isbt128 import product_code_structure

    for key in _CRYO_CODES:
        if key in table:
            try:
                product_code_structure(str(table[key]), "2")
            except InputError as exc:
                raise r.fail(f"cryo.{key}", exc.message) from None
            values[key] = str(table[key]).strip().upper()
    if "bags" in table:
        values["bags"] = _bags(r, table["bags"])
    return CryoSettings(**values)


def _bags(r: _Reader, value: Any) -> tuple[Bag, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise r.fail("cryo.bags", "must be a list of 1 to 10 bags: "
                                  "{name = \"bag S\", min_mL = 10, max_mL = 30}.")
    bags = []
    for number, bag in enumerate(value):
        where = f"cryo.bags[{number}]"
        if not isinstance(bag, dict):
            raise r.fail(where, "must be a table {name, min_mL, max_mL}.")
        r.known_keys(("name", "min_mL", "max_mL"), f"{where}.", bag)
        name = bag.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 40:
            raise r.fail(f"{where}.name", "must be a short name in quotes.")
        low = r.number(f"{where}.min_mL", value=bag.get("min_mL"), maximum=5000)
        high = r.number(f"{where}.max_mL", value=bag.get("max_mL"), maximum=5000)
        if high < low:
            raise r.fail(f"{where}.max_mL", "must be at least min_mL.")
        bags.append(Bag(name.strip(), exact(low), exact(high)))
    if [b.max_ml for b in bags] != sorted(b.max_ml for b in bags):
        raise r.fail("cryo.bags", "must be listed smallest first.")
    return tuple(bags)

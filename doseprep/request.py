"""The preparation request: what the technician entered, checked and turned into quantities.

:func:`parse_request` takes the JSON-shaped mapping the command line reads (and the window builds)
and returns a frozen :class:`PreparationRequest`, or raises :class:`InvalidRequestError` naming
every field that is missing, malformed or out of range as a dotted path (``patient.weight``), the
first as its own ``field``. Checks that need the protocol (is this dose level in it?) are made
when the protocol is given, and by :mod:`doseprep.plan` in any case.
:func:`request_to_dict` gives back the same JSON shape with the values exactly as typed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.errors import InputError, InvalidRequestError
from doseprep.isbt128 import din_from_scan_or_entry, parse_abo_rh
from doseprep.units import KG, ML, Kind, Measured, parse_number, parse_quantity

#: The protocol of a request that names none.
DEFAULT_PROTOCOL = "hmct-blinatumomab"
MAX_WEIGHT_KG = 500.0
MAX_VOLUME_ML = 2000.0
#: Collection and preparation dates outside these years are typing mistakes.
MIN_YEAR, MAX_YEAR = 2000, 2999
#: Longest text accepted in a name or identifier field; longer is a paste gone wrong.
MAX_TEXT = 200
#: A sample diluted more than this for the analyzer is a slip.
MAX_SAMPLE_DILUTION = 10_000

#: Every key a request may hold (DESIGN.md, "Strict input"; docs/request.schema.json). Anything
#: else is an input error naming it: a misspelt ``sample_dillution`` was once silently ignored.
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": ("protocol", "order", "patient", "product", "prepared_at", "confirmations"),
    "order": ("dose_level", "cycle", "infusion"),
    "patient": ("id", "name", "birth_date", "weight"),
    "product": ("din", "collected_at", "volume", "net_weight", "wbc", "sample_dilution",
                "cd3_percent", "viability_percent", "abo_rh"),
}
#: Fields whose implausible values a request may confirm, with a reason (DESIGN.md,
#: "Plausibility").
CONFIRMABLE: tuple[str, ...] = ("product.cd3_percent", "product.wbc", "patient.weight")


@dataclass(frozen=True)
class Patient:
    id: str
    name: str
    birth_date: date
    weight: Measured


@dataclass(frozen=True)
class Product:
    din: str
    collected_at: datetime
    volume: Measured | None  # exactly one of volume and net_weight is given
    net_weight: Measured | None
    wbc: Measured
    sample_dilution: float
    cd3_percent: float
    viability_percent: float
    abo_rh: str | None = None  # "A POS": ABO group and RhD type, as isbt128.parse_abo_rh reads it
    din_flags: str = "00"  # ISBT 128 flag characters, from a scanned DIN


@dataclass(frozen=True)
class Order:
    dose_level: str
    cycle: int
    infusion: int


@dataclass(frozen=True)
class PreparationRequest:
    protocol: str
    order: Order
    patient: Patient
    product: Product
    prepared_at: datetime
    #: Implausible values confirmed on purpose: dotted field -> the reason given.
    confirmations: Mapping[str, str] = field(default_factory=dict)
    #: Request fields whose time was typed without a UTC offset (then in the site's zone).
    zone_assumed: tuple[str, ...] = ()


def _check_keys(data: Mapping[str, Any], section: str) -> None:
    """Refuse any key the request format does not have, suggesting the nearest known one."""
    known = KNOWN_KEYS[section]
    for key in data:
        if key in known:
            continue
        where = (f"{section}.{key}" if section else str(key)) or "request"
        if not isinstance(key, str):
            raise InputError(where, "Keys of a request are text.")
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or \
            [k for k in known if k.lower() == key.lower()]
        hint = f" Did you mean \"{close[0]}\"?" if close else \
            f" Known keys here: {', '.join(known)}."
        raise InputError(where[:120], f"\"{key[:60]}\" is not a field of the request; it would "
                                      f"be ignored.{hint}")


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise InputError(key, f"The request has no {key} section; add \"{key}\": {{...}}.")
    _check_keys(value, key)
    return value


def _text(section: Mapping[str, Any], field: str, what: str, limit: int = MAX_TEXT) -> str:
    key = field.rsplit(".", 1)[1]
    value = section.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"Enter the {what}.")
    if len(value.strip()) > limit:
        raise InputError(field, f"The {what} is {len(value.strip())} characters long; at most "
                                f"{limit} are accepted.")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise InputError(field, f"The {what} holds a control character (a tab, a line break or "
                                "an invisible code); retype it.")
    return value.strip()


def _whole(section: Mapping[str, Any], field: str, what: str) -> int:
    key = field.rsplit(".", 1)[1]
    value = section.get(key)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() \
            and len(value.strip()) <= 6:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999_999:
        raise InputError(field, f"Enter the {what} as a whole number.")
    return value


def _timestamp(value: Any, field: str, what: str, zone: ZoneInfo | None,
               assumed: list[str]) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"Enter the {what} as date and time with its UTC offset, "
                                "e.g. 2026-11-23T10:00:00-08:00.")
    text = value.strip()
    if len(text) > 40 or not text.isascii():
        raise InputError(field, f"\"{value[:40]}\" is not a date and time; write it like "
                                "2026-11-23T10:00:00-08:00.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"\"{value}\" is not a date and time; write it like "
                                "2026-11-23T10:00:00-08:00.") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        if zone is None:
            raise InputError(field, f"\"{value}\" has no time zone; add the UTC offset, "
                                    "e.g. 2026-11-23T10:00:00-08:00.")
        # A time without an offset is the site's wall-clock time (DESIGN.md, "Times").
        moment = moment.replace(tzinfo=zone)
        assumed.append(field)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InputError(field, f"The year {moment.year} is not plausible for a preparation "
                                f"({MIN_YEAR}–{MAX_YEAR}); check the date.")
    return moment


def _percent(section: Mapping[str, Any], field: str, what: str) -> float:
    value = parse_number(section.get(field.rsplit(".", 1)[1]), field, what)
    if not 0 < value <= 100:
        raise InputError(field, f"The {what} must be more than 0 and at most 100 % "
                                f"(got {value:g} %).")
    return value


def _confirmations(data: Mapping[str, Any]) -> dict[str, str]:
    value = data.get("confirmations", {})
    if not isinstance(value, Mapping):
        raise InputError("confirmations", "Give confirmations as an object: "
                                          "{\"product.cd3_percent\": \"reason\"}.")
    out: dict[str, str] = {}
    for key, reason in value.items():
        if key not in CONFIRMABLE:
            close = difflib.get_close_matches(str(key), CONFIRMABLE, n=1)
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            raise InputError(f"confirmations.{str(key)[:60]}",
                             f"Only {', '.join(CONFIRMABLE)} can be confirmed.{hint}")
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise InputError(f"confirmations.{key}", "Give the reason for confirming this "
                                                     "value (who checked it, and how).")
        if len(reason) > 500 or any(ord(ch) < 32 and ch not in "\t" for ch in reason):
            raise InputError(f"confirmations.{key}", "The reason must be one line of at most "
                                                     "500 characters.")
        out[key] = reason.strip()
    return out


class _Errors:
    """Collects every field's error (the first per field) and every field parsed, so that a
    request is checked whole: the command line and the window name each wrong field at once
    (issue 11: parsing stopped at the first, and the window re-parsed with stand-in values to
    find the others)."""

    def __init__(self) -> None:
        self.found: list[InputError] = []
        self.parsed: dict[str, Any] = {}

    def add(self, *errors: InputError) -> None:
        for error in errors:
            if all(e.field != error.field for e in self.found):
                self.found.append(error)

    def get(self, field: str | None, parse: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """``parse(*args, **kw)``, kept under ``field``; None (and the error kept) if it fails."""
        try:
            value = parse(*args, **kw)
        except InvalidRequestError as exc:
            self.add(*exc.errors)
            self.parsed.update(exc.parsed)
            return None
        except InputError as exc:
            self.add(exc)
            return None
        if field is not None:
            self.parsed[field] = value
        return value

    def check(self) -> None:
        """Raise :class:`InvalidRequestError` if anything was wrong."""
        if self.found:
            raise InvalidRequestError(tuple(self.found), dict(self.parsed))


def _birth_date(p: Mapping[str, Any]) -> date:
    birth_text = _text(p, "patient.birth_date", "date of birth (YYYY-MM-DD)")
    try:
        return date.fromisoformat(birth_text)
    except ValueError:
        raise InputError("patient.birth_date", f"\"{birth_text}\" is not a date; write it like "
                                               "1980-02-29.") from None


def _weight(p: Mapping[str, Any]) -> Measured:
    weight = parse_quantity(p.get("weight"), Kind.MASS, "patient.weight")
    kg = weight.value.to(KG).magnitude
    if not 0 < kg <= MAX_WEIGHT_KG:
        raise InputError("patient.weight", f"The weight must be more than 0 and at most "
                                           f"{MAX_WEIGHT_KG:g} kg (got {weight.text}).")
    return weight


def parse_patient(p: Mapping[str, Any]) -> Patient:
    """The ``patient`` section (its keys already checked) as a :class:`Patient`; every wrong
    field is reported (:class:`InvalidRequestError`)."""
    errors = _Errors()
    patient = _patient(p, errors)
    errors.check()
    assert patient is not None
    return patient


def _patient(p: Mapping[str, Any], errors: _Errors) -> Patient | None:
    birth = errors.get("patient.birth_date", _birth_date, p)
    weight = errors.get("patient.weight", _weight, p)
    mrn = errors.get("patient.id", _text, p, "patient.id", "patient's MRN", limit=64)
    name = errors.get("patient.name", _text, p, "patient.name", "patient's name (LAST, First)")
    if None in (birth, weight, mrn, name):
        return None
    return Patient(id=mrn, name=name, birth_date=birth, weight=weight)


def _amount(r: Mapping[str, Any]) -> tuple[Measured | None, Measured | None]:
    """The product's volume or its net weight (exactly one)."""
    if r.get("volume") not in (None, ""):
        if r.get("net_weight") not in (None, ""):
            raise InputError("product.volume", "Give either the volume or the net weight, "
                                               "not both.")
        volume = parse_quantity(r.get("volume"), Kind.VOLUME, "product.volume")
        ml = volume.value.to(ML).magnitude
        if not 0 < ml <= MAX_VOLUME_ML:
            raise InputError("product.volume", f"The product volume must be more than 0 and at "
                                               f"most {MAX_VOLUME_ML:g} mL (got {volume.text}).")
        return volume, None
    if r.get("net_weight") not in (None, ""):
        net_weight = parse_quantity(r.get("net_weight"), Kind.NET_WEIGHT, "product.net_weight")
        # The volume it makes (at most 2000 mL) is checked with the lab's specific gravity in
        # the plan; here only the sign and a bound no lab's gravity could bring under 2000 mL.
        if not 0 < net_weight.magnitude <= MAX_VOLUME_ML * 3:
            raise InputError("product.net_weight", f"The net weight must be more than 0 g and "
                                                   f"make at most {MAX_VOLUME_ML:g} mL "
                                                   f"(got {net_weight.text}).")
        return None, net_weight
    raise InputError("product.volume", "Enter the product volume (mL) or its net weight (g).")


def _wbc(r: Mapping[str, Any]) -> Measured:
    wbc = parse_quantity(r.get("wbc"), Kind.CONCENTRATION, "product.wbc")
    if wbc.value.magnitude <= 0:
        raise InputError("product.wbc", f"The WBC count must be more than 0 (got {wbc.text}).")
    return wbc


def _sample_dilution(r: Mapping[str, Any]) -> float:
    if r.get("sample_dilution") is None:
        raise InputError("product.sample_dilution", "Enter the sample dilution factor of the "
                                                    "analyzer count (1 for an undiluted sample).")
    dilution = parse_number(r.get("sample_dilution"), "product.sample_dilution",
                            "sample dilution factor")
    if not 1 <= dilution <= MAX_SAMPLE_DILUTION:
        raise InputError("product.sample_dilution", "The sample dilution factor must be 1 "
                                                    f"(undiluted) to {MAX_SAMPLE_DILUTION:,} "
                                                    f"(got {dilution:g}).")
    return dilution


def _abo_rh(r: Mapping[str, Any]) -> str | None:
    abo_rh = r.get("abo_rh")
    if abo_rh is not None and (not isinstance(abo_rh, str) or not abo_rh.strip()):
        raise InputError("product.abo_rh", "Give the donor's ABO/Rh as text, e.g. \"A POS\".")
    if not abo_rh:
        return None
    abo, rh = parse_abo_rh(abo_rh, "product.abo_rh")
    return f"{abo} {rh}"


def _din(r: Mapping[str, Any]) -> tuple[str, str]:
    din, flags = din_from_scan_or_entry(
        _text(r, "product.din", "donation identification number (DIN)"), "product.din")
    return din.code, flags


def parse_product(r: Mapping[str, Any], zone: ZoneInfo | None,
                  assumed: list[str]) -> Product:
    """The ``product`` section (its keys already checked) as a :class:`Product`; every wrong
    field is reported (:class:`InvalidRequestError`).

    A collection time without an offset is in ``zone``; its field is added to ``assumed``.
    Shared by the fresh request and the cycle-2 freeze request.
    """
    errors = _Errors()
    product = _product(r, zone, assumed, errors)
    errors.check()
    assert product is not None
    return product


def _product(r: Mapping[str, Any], zone: ZoneInfo | None, assumed: list[str],
             errors: _Errors) -> Product | None:
    amount = errors.get(None, _amount, r)
    volume, net_weight = amount if amount is not None else (None, None)
    if volume is not None:
        errors.parsed["product.volume"] = volume
    if net_weight is not None:
        errors.parsed["product.net_weight"] = net_weight
    wbc = errors.get("product.wbc", _wbc, r)
    dilution = errors.get("product.sample_dilution", _sample_dilution, r)
    din = errors.get("product.din", _din, r)
    abo_rh = errors.get("product.abo_rh", _abo_rh, r)
    collected_at = errors.get("product.collected_at", _timestamp, r.get("collected_at"),
                              "product.collected_at", "collection date and time", zone, assumed)
    cd3 = errors.get("product.cd3_percent", _percent, r, "product.cd3_percent",
                     "CD3+ percentage")
    viability = errors.get("product.viability_percent", _percent, r,
                           "product.viability_percent", "viability")
    if amount is None or None in (wbc, dilution, din, collected_at, cd3, viability) \
            or (r.get("abo_rh") and abo_rh is None):
        return None
    return Product(din=din[0], din_flags=din[1], collected_at=collected_at, volume=volume,
                   net_weight=net_weight, wbc=wbc, sample_dilution=dilution, cd3_percent=cd3,
                   viability_percent=viability, abo_rh=abo_rh)


#: How far a preparation time may be from now before it is pointed out (minutes).
STALE_MINUTES = 5


def far_from_now(moment: datetime, now: datetime) -> str:
    """Words for a preparation time more than :data:`STALE_MINUTES` from ``now`` ("3 h 0 min
    before now"), or "" when it is close enough (issue 9: a stale default said OK for hours)."""
    minutes = round((moment - now).total_seconds() / 60)
    if abs(minutes) <= STALE_MINUTES:
        return ""
    hours, rest = divmod(abs(minutes), 60)
    span = f"{hours} h {rest} min" if hours else f"{rest} min"
    return f"{span} {'after' if minutes > 0 else 'before'} now"


def parse_request(data: Any, *, zone: str | ZoneInfo | None = None,
                  protocol: Any = None) -> PreparationRequest:
    """Check a request given as a JSON-shaped mapping and return it with units.

    ``zone`` is the site's IANA time zone (the lab file's ``time_zone``): a time typed without a
    UTC offset is taken as wall-clock time there. Without a zone every time needs its offset.
    With ``protocol`` (a :class:`doseprep.protocol.Protocol`), the order is also checked against
    it (the plan checks it anyway). Every wrong field is reported at once
    (:class:`InvalidRequestError`, an :class:`InputError` naming the first), with what did parse.
    """
    if not isinstance(data, Mapping):
        raise InputError("request", "The request must be a JSON object.")
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    errors = _Errors()
    errors.get(None, _check_keys, data, "")
    assumed: list[str] = []
    protocol_ref = errors.get("protocol", _protocol_ref, data)

    o = errors.get(None, _section, data, "order")
    order = None
    if o is not None:
        dose_level = errors.get("order.dose_level", _text, o, "order.dose_level",
                                "dose level (e.g. DL3)", limit=16)
        cycle = errors.get("order.cycle", _whole, o, "order.cycle", "cycle")
        infusion = errors.get("order.infusion", _whole, o, "order.infusion", "infusion number")
        if None not in (dose_level, cycle, infusion):
            order = Order(dose_level=dose_level.upper(), cycle=cycle, infusion=infusion)
            errors.parsed["order.dose_level"] = order.dose_level
            if protocol is not None:
                errors.add(*order_problems(order, protocol))
    p = errors.get(None, _section, data, "patient")
    patient = _patient(p, errors) if p is not None else None
    r = errors.get(None, _section, data, "product")
    product = _product(r, zone, assumed, errors) if r is not None else None
    prepared_at = errors.get("prepared_at", _timestamp, data.get("prepared_at"), "prepared_at",
                             "preparation date and time", zone, assumed)
    collected_at = errors.parsed.get("product.collected_at")
    if prepared_at is not None and collected_at is not None and prepared_at < collected_at:
        errors.add(InputError("prepared_at", "The preparation time is before the product was "
                                             "collected; check both dates and times."))
    birth = errors.parsed.get("patient.birth_date")
    if birth is not None and prepared_at is not None and birth > prepared_at.date():
        errors.add(InputError("patient.birth_date", "The date of birth is in the future; "
                                                    "check it."))
    confirmations = errors.get("confirmations", _confirmations, data)
    errors.check()
    assert order is not None and patient is not None and product is not None
    return PreparationRequest(protocol=protocol_ref, order=order, patient=patient,
                              product=product, prepared_at=prepared_at,
                              confirmations=confirmations, zone_assumed=tuple(assumed))


def _protocol_ref(data: Mapping[str, Any]) -> str:
    protocol = data.get("protocol", DEFAULT_PROTOCOL)
    if not isinstance(protocol, str) or not protocol.strip() or len(protocol) > 500 \
            or "\x00" in protocol:
        raise InputError("protocol", "Give the protocol id or the path of its .toml file.")
    return protocol.strip()


def order_problems(order: Order, protocol: Any) -> list[InputError]:
    """What is wrong with ``order`` in ``protocol``: an unknown dose level, a cycle the protocol
    does not have, an infusion the cycle does not have."""
    problems = []
    if protocol.dose_level(order.dose_level) is None:
        known = ", ".join(d.name for d in protocol.dose_levels)
        problems.append(InputError("order.dose_level", f"Dose level \"{order.dose_level}\" is "
                                                       f"not in protocol {protocol.id} (it has "
                                                       f"{known})."))
    infusions = protocol.infusions(order.cycle)
    if infusions is None:
        known = ", ".join(str(c) for c, _ in protocol.cycles)
        problems.append(InputError("order.cycle", f"Cycle {order.cycle} is not in protocol "
                                                  f"{protocol.id} (cycles: {known})."))
    elif not 1 <= order.infusion <= infusions:
        count = "one infusion" if infusions == 1 else f"{infusions} infusions"
        problems.append(InputError("order.infusion", f"Cycle {order.cycle} has {count}; "
                                                     f"infusion {order.infusion} is not one of "
                                                     "them."))
    return problems


def request_to_dict(request: PreparationRequest) -> dict[str, Any]:
    """The request in its JSON shape, every value as it was typed."""
    product: dict[str, Any] = {
        "din": request.product.din,
        "collected_at": request.product.collected_at.isoformat(),
    }
    if request.product.volume is not None:
        product["volume"] = request.product.volume.text
    if request.product.net_weight is not None:
        product["net_weight"] = request.product.net_weight.text
    product.update({
        "wbc": request.product.wbc.text,
        "sample_dilution": _number_out(request.product.sample_dilution),
        "cd3_percent": _number_out(request.product.cd3_percent),
        "viability_percent": _number_out(request.product.viability_percent),
    })
    if request.product.abo_rh:
        product["abo_rh"] = request.product.abo_rh
    out: dict[str, Any] = {
        "protocol": request.protocol,
        "order": {"dose_level": request.order.dose_level, "cycle": request.order.cycle,
                  "infusion": request.order.infusion},
        "patient": {"id": request.patient.id, "name": request.patient.name,
                    "birth_date": request.patient.birth_date.isoformat(),
                    "weight": request.patient.weight.text},
        "product": product,
        "prepared_at": request.prepared_at.isoformat(),
    }
    if request.confirmations:
        out["confirmations"] = dict(request.confirmations)
    return out


def _number_out(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value

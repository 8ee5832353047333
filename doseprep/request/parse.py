"""The whole request: every field checked at once, the order against the protocol, and the
request back in its JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.errors import InputError
from doseprep.request._base import (
    DEFAULT_PROTOCOL,
    MAX_PROTOCOL_REF,
    Order,
    Patient,
    PreparationRequest,
    Product,
    number_out,
)
from doseprep.request.fields import (
    _check_keys,
    _confirmations,
    _Errors,
    _section,
    _text,
    _timestamp,
    _whole,
)
from doseprep.request.sections import _patient, _product
from doseprep.units.instants import elapsed

#: How far a preparation time may be from now before it is pointed out (minutes).
STALE_MINUTES = 5


def far_from_now(moment: datetime, now: datetime) -> str:
    """Words for a preparation time more than :data:`STALE_MINUTES` from ``now`` ("3 h 0 min
    before now"), or "" when it is close enough (issue 9: a stale default said OK for hours)."""
    minutes = round(elapsed(now, moment).total_seconds() / 60)  # real minutes
    if abs(minutes) <= STALE_MINUTES:
        return ""
    hours, rest = divmod(abs(minutes), 60)
    span = f"{hours} h {rest} min" if hours else f"{rest} min"
    return f"{span} {'after' if minutes > 0 else 'before'} now"


def parse_request(data: Any, *, zone: str | ZoneInfo | None = None,
                  protocol: Any = None, keyboard: bool = False) -> PreparationRequest:
    """Check a request given as a JSON-shaped mapping and return it with units.

    ``zone`` is the site's IANA time zone (the lab file's ``time_zone``): a time typed without a
    UTC offset is taken as wall-clock time there. Without a zone every time needs its offset.
    With ``protocol`` (a :class:`doseprep.protocol.Protocol`), the order is also checked against
    it (the plan checks it anyway). ``keyboard``: the texts were typed at a keyboard (the
    window's form), so a typed DIN needs its check character (DESIGN.md, "The DIN"); a request
    file may leave it out. Every wrong field is reported at once
    (:class:`InvalidRequestError`, an :class:`InputError` naming the first), with what did parse.
    """
    if not isinstance(data, Mapping):
        raise InputError("request", "The request must be a JSON object.")
    if data.get("kind") in ("freeze", "thaw"):
        raise InputError("kind", f"This is a {data['kind']} request (cycle 2); compute it with "
                                 f"doseprep {data['kind']}.")
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    errors = _Errors()
    errors.get(None, _check_keys, data, "")
    assumed: list[str] = []
    protocol_ref = errors.get("protocol", protocol_reference, data)

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
    product = _product(r, zone, assumed, errors, keyboard) if r is not None else None
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


def protocol_reference(data: Mapping[str, Any]) -> str:
    """The request's ``protocol`` (a bundled id or the path of a .toml file; the default when
    absent), checked before anything opens it: one line of at most :data:`MAX_PROTOCOL_REF`
    characters, no part of a path longer than a file name can be (a 300-character id once
    crashed the program looking for the file)."""
    protocol = data.get("protocol", DEFAULT_PROTOCOL)
    if not isinstance(protocol, str) or not protocol.strip():
        raise InputError("protocol", "Give the protocol id or the path of its .toml file.")
    text = protocol.strip()
    if len(text) > MAX_PROTOCOL_REF or any(len(part.encode("utf-8", "surrogatepass")) > 255
                                           for part in text.replace("\\", "/").split("/")):
        raise InputError("protocol", f"The protocol is {len(text)} characters long: give a "
                                     f"protocol id (e.g. {DEFAULT_PROTOCOL}) or the path of its "
                                     f".toml file, at most {MAX_PROTOCOL_REF} characters.")
    if not text.isprintable():
        raise InputError("protocol", "The protocol holds a control character (a tab, a line "
                                     "break or an invisible code); give the protocol id or the "
                                     "path of its .toml file.")
    return text


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


def patient_to_dict(patient: Patient) -> dict[str, Any]:
    """A request's patient in its JSON shape, as typed."""
    return {"id": patient.id, "name": patient.name,
            "birth_date": patient.birth_date.isoformat(), "weight": patient.weight.text}


def product_to_dict(product: Product) -> dict[str, Any]:
    """A request's product in its JSON shape, every value as it was typed."""
    out: dict[str, Any] = {
        "din": product.din,
        "collected_at": product.collected_at.isoformat(),
    }
    if product.volume is not None:
        out["volume"] = product.volume.text
    if product.net_weight is not None:
        out["net_weight"] = product.net_weight.text
    out.update({
        "wbc": product.wbc.text,
        "sample_dilution": number_out(product.sample_dilution),
        "cd3_percent": number_out(product.cd3_percent),
        "viability_percent": number_out(product.viability_percent),
    })
    if product.abo_rh:
        out["abo_rh"] = product.abo_rh
    return out


def request_to_dict(request: PreparationRequest) -> dict[str, Any]:
    """The request in its JSON shape, every value as it was typed."""
    out: dict[str, Any] = {
        "protocol": request.protocol,
        "order": {"dose_level": request.order.dose_level, "cycle": request.order.cycle,
                  "infusion": request.order.infusion},
        "patient": patient_to_dict(request.patient),
        "product": product_to_dict(request.product),
        "prepared_at": request.prepared_at.isoformat(),
    }
    if request.confirmations:
        out["confirmations"] = dict(request.confirmations)
    return out


"""From the raw text of the form to a request, a note or an error per field, and a plan.

This is the one place the window hands the form to the domain. It holds no Qt and no arithmetic:
every value is parsed, checked and computed by ``doseprep`` (``parse_request``, ``plan``, the
ISBT 128 and unit parsers), and shown with the domain's own formatters.

The domain checks the whole request at once (the order against the protocol included) and names
every wrong field, with what it did parse of the others; each accepted field gets a note in lab
notation from that parse. A plan is returned **only** when the domain accepted the form exactly
as typed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from doseprep.errors import InputError, SettingsError
from doseprep.isbt128 import din_from_scan_or_entry, parse_abo_rh
from doseprep.plans.fresh import PreparationPlan, plan
from doseprep.protocol import LabSettings, Protocol
from doseprep.request import CONFIRMABLE, PreparationRequest, parse_request
from doseprep.units import Kind, fmt_concentration, fmt_dose, fmt_mass, fmt_percent, fmt_volume
from doseprep.units import parse_quantity as _parse_quantity
from doseprep_ui.widgets.moments import describe_date, describe_moment

log = logging.getLogger(__name__)

#: Every field of the form, in the order of the paper form (and of the tab key).
KEYS: tuple[str, ...] = (
    "patient.id", "patient.name", "patient.birth_date", "patient.weight",
    "product.din", "product.collected_at", "product.volume", "product.wbc",
    "product.sample_dilution", "product.cd3_percent", "product.viability_percent",
    "product.abo_rh",
    "protocol", "order.cycle", "order.infusion", "order.dose_level",
    "prepared_at",
)
OPTIONAL: frozenset[str] = frozenset({"product.abo_rh"})
#: Raw keys of the reasons given to confirm an implausible value (``confirmations.<field>``).
CONFIRM_KEYS: tuple[str, ...] = tuple(f"confirmations.{key}" for key in CONFIRMABLE)

#: Request fields the domain may name that are shown on another widget of the form: the
#: product amount is one field that takes a volume (mL, L) or a net weight (g).
_WIDGET_OF = {"product.net_weight": "product.volume"}

@dataclass(frozen=True)
class Evaluation:
    """What the window shows for one state of the form.

    ``notes`` hold the parsed value in lab notation for each accepted field; ``errors`` the
    domain's message for each refused one (``missing`` names the refused fields that are empty).
    ``plan`` is set only when no field was refused.
    """

    raw: Mapping[str, str]
    request_data: Mapping[str, Any]
    notes: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    plan: PreparationPlan | None = None
    protocol: Protocol | None = None

    @property
    def valid(self) -> bool:
        return self.plan is not None

    @property
    def wrong(self) -> dict[str, str]:
        """The refused fields that hold text (not merely empty), with their messages."""
        return {k: v for k, v in self.errors.items() if k not in self.missing}


def complete_timestamp(text: str) -> str:
    """A typed date and time as the request carries it. Without a UTC offset it stays without:
    the domain reads it on the site's wall clock (the lab file's ``time_zone``) and refuses a
    time a clock change skips or repeats. This computer's own zone is never put in its place — a
    workstation set to another zone would type a wrong instant into the request (issue 21)."""
    return text.strip()


def volume_is_net_weight(text: str) -> bool:
    """True when the product amount was typed as a mass (a net weight, e.g. ``218.4 g``)."""
    try:
        _parse_quantity(text, Kind.MASS, "product.net_weight")
    except InputError:
        return False
    return True


def _build(raw: Mapping[str, str]) -> dict[str, Any]:
    """The request in its JSON shape from the raw texts (the domain checks every value)."""

    def text(key: str) -> str:
        return raw.get(key, "").strip()

    product: dict[str, Any] = {
        "din": text("product.din"),
        "collected_at": complete_timestamp(text("product.collected_at")),
        "wbc": text("product.wbc"),
        "sample_dilution": text("product.sample_dilution"),
        "cd3_percent": text("product.cd3_percent"),
        "viability_percent": text("product.viability_percent"),
    }
    # A reason is taken once it is a few characters long; until then the value stays blocked.
    confirmations = {key.removeprefix("confirmations."): text(key) for key in CONFIRM_KEYS
                     if len(text(key)) >= 3}
    amount = text("product.volume")
    product["net_weight" if amount and volume_is_net_weight(amount) else "volume"] = amount
    if text("product.abo_rh"):
        product["abo_rh"] = text("product.abo_rh")
    data: dict[str, Any] = {
        "protocol": text("protocol"),
        "order": {"dose_level": text("order.dose_level"), "cycle": text("order.cycle"),
                  "infusion": text("order.infusion")},
        "patient": {"id": text("patient.id"), "name": text("patient.name"),
                    "birth_date": text("patient.birth_date"), "weight": text("patient.weight")},
        "product": product,
        "prepared_at": complete_timestamp(text("prepared_at")),
    }
    if confirmations:
        data["confirmations"] = confirmations
    return data


def _fields(request: PreparationRequest) -> dict[str, Any]:
    """A request's parsed values by field, as :class:`InvalidRequestError` gives them for a
    request that did not pass."""
    product = request.product
    out: dict[str, Any] = {
        "patient.birth_date": request.patient.birth_date, "patient.weight": request.patient.weight,
        "product.collected_at": product.collected_at, "product.wbc": product.wbc,
        "product.sample_dilution": product.sample_dilution,
        "product.cd3_percent": product.cd3_percent,
        "product.viability_percent": product.viability_percent,
        "product.din": (product.din, product.din_flags), "product.abo_rh": product.abo_rh,
        "prepared_at": request.prepared_at, "order.dose_level": request.order.dose_level,
        "order.cycle": request.order.cycle,
    }
    if product.volume is not None:
        out["product.volume"] = product.volume
    if product.net_weight is not None:
        out["product.net_weight"] = product.net_weight
    return out


def _notes(parsed: Mapping[str, Any], protocol: Protocol,
           raw: Mapping[str, str]) -> dict[str, str]:
    """The accepted value of each field in lab notation, from the domain's own parse."""
    notes: dict[str, str] = {}

    def note(key: str, text: Callable[[Any], str]) -> None:
        if parsed.get(key) is not None:
            notes[key] = text(parsed[key])

    note("patient.birth_date", describe_date)
    note("patient.weight", lambda w: fmt_mass(w.entered))
    note("product.collected_at", describe_moment)
    note("product.wbc", lambda wbc: fmt_concentration(wbc.value, digits=4))
    note("product.sample_dilution", lambda d: "undiluted sample" if d == 1
         else f"sample diluted 1 in {d:g}")
    note("product.cd3_percent", lambda p: f"{fmt_percent(p)} CD3+ of viable CD45+")
    note("product.viability_percent", lambda p: f"{fmt_percent(p)} viable")
    note("prepared_at", describe_moment)
    note("product.volume", lambda v: fmt_volume(v.value))
    note("product.net_weight", lambda w: f"net weight {w.text.strip()}; the volume is worked "
                                         "out from it in step 1")
    if "product.net_weight" in notes:
        notes["product.volume"] = notes.pop("product.net_weight")
    if parsed.get("product.din") is not None:
        code, flags = parsed["product.din"]
        din, _ = din_from_scan_or_entry(code, "product.din")
        notes["product.din"] = f"{din.eye_readable}, check character {din.check_character}"
        if raw.get("product.din", "").strip().startswith(("=", "]")):
            notes["product.din"] += f" (scanned, flags {flags})"
    if parsed.get("product.abo_rh"):
        abo, rh = parse_abo_rh(parsed["product.abo_rh"], "product.abo_rh")
        notes["product.abo_rh"] = f"group {abo}, RhD {'positive' if rh == 'POS' else 'negative'}"
    level = protocol.dose_level(parsed.get("order.dose_level") or "")
    if level is not None:
        notes["order.dose_level"] = f"{level.name}: {fmt_dose(level.dose)}"
    infusions = (protocol.infusions(parsed["order.cycle"])
                 if parsed.get("order.cycle") is not None else None)
    if infusions is not None:
        notes["order.cycle"] = (f"cycle {parsed['order.cycle']} has "
                                f"{'1 infusion' if infusions == 1 else f'{infusions} infusions'}")
    notes["protocol"] = (f"version {protocol.version}"
                         f"{'' if protocol.approved else ' — NOT APPROVED for clinical use'}")
    return notes


def evaluate(raw: Mapping[str, str], protocols: Callable[[str], Protocol],
             lab: LabSettings) -> Evaluation:
    """Check the form's raw texts with the domain and compute the plan when all are accepted.

    ``protocols`` loads a protocol by the reference in the protocol field (it may raise
    :class:`SettingsError`); ``lab`` is the lab settings in use.
    """
    raw = {key: raw.get(key, "") for key in (*KEYS, *CONFIRM_KEYS)}
    missing = frozenset(k for k in KEYS if k not in OPTIONAL and not raw[k].strip())
    data = _build(raw)
    errors: dict[str, str] = {}
    request_data = copy.deepcopy(data)
    try:
        if not raw["protocol"].strip():
            raise SettingsError("", "", "Choose the protocol of the order.")
        protocol = protocols(raw["protocol"].strip())
    except SettingsError as exc:
        errors["protocol"] = str(exc) if exc.source else exc.message
        return Evaluation(raw=raw, request_data=request_data, errors=errors,
                          missing=missing & errors.keys())

    result: PreparationPlan | None = None
    parsed: Mapping[str, Any] = {}
    try:
        request = parse_request(data, zone=lab.time_zone, protocol=protocol, keyboard=True)
        parsed = _fields(request)
        result = plan(request, protocol, lab)
    except InputError as exc:
        parsed = getattr(exc, "parsed", parsed)
        for error in getattr(exc, "errors", (exc,)):
            key = _WIDGET_OF.get(error.field, error.field)
            if key in (*KEYS, *CONFIRM_KEYS):
                errors.setdefault(key, error.message)
            else:  # the domain refused something the form has no field for: say so
                log.error("form cannot be checked: %s", error)
                errors.setdefault("protocol", f"This form cannot be checked: {error}")
    notes = _notes(parsed, protocol, raw)
    notes = {k: v for k, v in notes.items() if k not in errors and raw.get(k, "").strip()}
    return Evaluation(raw=raw, request_data=request_data, notes=notes, errors=errors,
                      missing=missing & errors.keys(), plan=None if errors else result,
                      protocol=protocol)

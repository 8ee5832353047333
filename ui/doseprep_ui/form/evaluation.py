"""From the raw text of the form to a request, a note or an error per field, and a plan.

This is the one place the window hands the form to the domain. It holds no Qt and no arithmetic:
every value is parsed, checked and computed by ``doseprep`` (``parse_request``, ``plan``, the
ISBT 128 and unit parsers), and shown with the domain's own formatters.

The domain stops at the first bad field. To mark *every* bad field at once, :func:`evaluate` asks
again: it puts a neutral stand-in value in place of each field the domain refused and calls the
domain once more, until the request passes. The stand-ins are chosen so they can never make
another field look wrong (a collection time long ago, a preparation time far ahead). A plan is
returned **only** when the domain accepted the form exactly as typed, never when a stand-in was
used, so the window can never show a plan for values the technician did not enter.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from doseprep.errors import InputError, SettingsError
from doseprep.isbt128 import din_from_scan_or_entry, parse_abo_rh
from doseprep.plan import PreparationPlan, plan
from doseprep.protocol import LabSettings, Protocol
from doseprep.request import CONFIRMABLE, PreparationRequest, parse_request
from doseprep.units import Kind, fmt_concentration, fmt_dose, fmt_mass, fmt_percent, fmt_volume
from doseprep.units import parse_quantity as _parse_quantity

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

#: Stand-ins for fields the domain refused (see the module docstring). Far-apart dates, so that
#: a stand-in never puts a real preparation time before a collection or a birth in the future.
_STAND_INS: dict[str, Any] = {
    "patient.id": "STAND-IN", "patient.name": "STAND-IN", "patient.birth_date": "1900-01-01",
    "patient.weight": "1 kg", "product.din": "G123417654321",
    "product.collected_at": "2000-01-02T00:00:00+00:00", "product.volume": "100 mL",
    "product.wbc": "1 x10^3/uL", "product.sample_dilution": "1", "product.cd3_percent": "50",
    "product.viability_percent": "50", "prepared_at": "2500-01-01T00:00:00+00:00",
}


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
    """A typed date and time in ISO form; without a UTC offset it is this computer's local time.

    ``2026-11-22 08:30`` becomes ``2026-11-22T08:30:00-08:00`` on a workstation in Pacific time.
    Text that is not a date and time is returned unchanged for the domain to refuse with its
    message; so is a time that already carries an offset.
    """
    stripped = text.strip()
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return stripped
    return moment.astimezone().isoformat()


def describe_moment(moment: datetime) -> str:
    """A date and time nobody can misread: ``Sun 22 Nov 2026, 08:30 (UTC−08:00)``."""
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}".replace("-", "−") if offset else "no time zone"
    return f"{moment.strftime('%a %d %b %Y, %H:%M')} ({zone})"


def describe_date(day: date) -> str:
    """A date with the month in letters: ``29 Feb 1980``."""
    return day.strftime("%d %b %Y")


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


def _stand_in(data: dict[str, Any], domain_field: str, protocol: Protocol) -> bool:
    """Put a neutral value in place of a refused field; False when there is none."""
    key = _WIDGET_OF.get(domain_field, domain_field)
    if key in CONFIRM_KEYS:
        data.get("confirmations", {}).pop(key.removeprefix("confirmations."), None)
        return True
    if key == "product.volume":
        data["product"].pop("net_weight", None)
    if key == "product.abo_rh":
        data["product"].pop("abo_rh", None)
        return True
    if key == "order.dose_level":
        value: Any = protocol.dose_levels[0].name
    elif key == "order.cycle":
        # Without a cycle an infusion number cannot be checked; an empty one is still missing.
        if str(data["order"].get("infusion", "")).strip():
            data["order"]["infusion"] = "1"
        value = str(protocol.cycles[0][0])
    elif key == "order.infusion":
        value = "1"
    elif key in _STAND_INS:
        value = _STAND_INS[key]
    else:
        return False
    section, _, name = key.rpartition(".")
    (data[section] if section else data)[name or key] = value
    return True


def _notes(request: PreparationRequest, protocol: Protocol,
           raw: Mapping[str, str]) -> dict[str, str]:
    """The accepted value of each field in lab notation, from the domain's own parse."""
    product = request.product
    notes = {
        "patient.birth_date": describe_date(request.patient.birth_date),
        "patient.weight": fmt_mass(request.patient.weight.entered),
        "product.collected_at": describe_moment(product.collected_at),
        "product.wbc": fmt_concentration(product.wbc.value, digits=4),
        "product.sample_dilution": ("undiluted sample" if product.sample_dilution == 1
                                    else f"sample diluted 1 in {product.sample_dilution:g}"),
        "product.cd3_percent": f"{fmt_percent(product.cd3_percent)} CD3+ of viable CD45+",
        "product.viability_percent": f"{fmt_percent(product.viability_percent)} viable",
        "prepared_at": describe_moment(request.prepared_at),
    }
    if product.volume is not None:
        notes["product.volume"] = fmt_volume(product.volume.value)
    elif product.net_weight is not None:
        notes["product.volume"] = (f"net weight {product.net_weight.text.strip()}; the volume is "
                                   "worked out from it in step 1")
    din, _ = din_from_scan_or_entry(product.din, "product.din")
    if raw.get("product.din", "").strip().startswith(("=", "]")):
        notes["product.din"] = (f"{din.eye_readable}, check character {din.check_character} "
                                f"(scanned, flags {product.din_flags})")
    else:
        notes["product.din"] = f"{din.eye_readable}, check character {din.check_character}"
    if product.abo_rh:
        abo, rh = parse_abo_rh(product.abo_rh, "product.abo_rh")
        notes["product.abo_rh"] = f"group {abo}, RhD {'positive' if rh == 'POS' else 'negative'}"
    level = protocol.dose_level(request.order.dose_level)
    if level is not None:
        notes["order.dose_level"] = f"{level.name}: {fmt_dose(level.dose)}"
    infusions = protocol.infusions(request.order.cycle)
    if infusions is not None:
        notes["order.cycle"] = (f"cycle {request.order.cycle} has "
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
    request: PreparationRequest | None = None
    for _ in range(len(KEYS) + 2):
        try:
            request = parse_request(data, zone=lab.time_zone)
            result = plan(request, protocol, lab)
            break
        except InputError as exc:
            key = _WIDGET_OF.get(exc.field, exc.field)
            if key in errors or key not in (*KEYS, *CONFIRM_KEYS) or \
                    not _stand_in(data, exc.field, protocol):
                # The domain refused something the form has no field for, or refused a
                # stand-in: say so on the protocol line rather than loop.
                log.error("form cannot be checked: %s", exc)
                errors.setdefault("protocol", f"This form cannot be checked: {exc}")
                request = result = None
                break
            errors[key] = exc.message
    notes = _notes(request, protocol, raw) if request is not None else {}
    notes = {k: v for k, v in notes.items() if k not in errors and raw.get(k, "").strip()}
    return Evaluation(raw=raw, request_data=request_data, notes=notes, errors=errors,
                      missing=missing & errors.keys(), plan=None if errors else result,
                      protocol=protocol)

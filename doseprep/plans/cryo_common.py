"""What the freeze and thaw requests share: the request must be an object, say its kind, name
a protocol, and have a patient; checked with every other field (the errors are collected)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.errors import InputError
from doseprep.request import Patient, protocol_reference
from doseprep.request.fields import _check_keys, _Errors, _section
from doseprep.request.sections import _patient


def request_header(data: Any, kind: str, zone: str | ZoneInfo | None
                   ) -> tuple[Mapping[str, Any], _Errors, ZoneInfo | None, str, Patient | None]:
    """Check the parts every cycle-2 request has; returns the data, the error collector (for the
    caller's own fields), the zone, the protocol reference and the patient (None if wrong)."""
    if not isinstance(data, Mapping):
        raise InputError("request", "The request must be a JSON object.")
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    errors = _Errors()
    errors.get(None, _check_keys, data, kind, "")
    if data.get("kind") != kind:
        errors.add(InputError("kind", f"A {kind} request says \"kind\": \"{kind}\"."))
    protocol_ref = errors.get("protocol", protocol_reference, data) or ""
    p = errors.get(None, _section, data, "patient")
    patient = _patient(p, errors) if p is not None else None
    return data, errors, zone, protocol_ref, patient

"""The preparation request: what the technician entered, checked and turned into quantities.

:func:`parse_request` takes the JSON-shaped mapping the command line reads (and the window builds)
and returns a frozen :class:`PreparationRequest`, or raises :class:`InvalidRequestError` naming
every field that is missing, malformed or out of range as a dotted path (``patient.weight``), the
first as its own ``field``. Checks that need the protocol (is this dose level in it?) are made
when the protocol is given, and by :mod:`doseprep.plans.fresh` in any case.
:func:`request_to_dict` gives back the same JSON shape with the values exactly as typed.
"""

from __future__ import annotations

from doseprep.request._base import (
    CONFIRMABLE,
    DEFAULT_PROTOCOL,
    KNOWN_KEYS,
    MAX_PROTOCOL_REF,
    MAX_SAMPLE_DILUTION,
    MAX_TEXT,
    MAX_VOLUME_ML,
    MAX_WEIGHT_KG,
    Order,
    Patient,
    PreparationRequest,
    Product,
    number_out,
)
from doseprep.request.parse import (
    STALE_MINUTES,
    far_from_now,
    order_problems,
    parse_request,
    patient_to_dict,
    product_to_dict,
    protocol_reference,
    request_to_dict,
)
from doseprep.request.sections import (
    parse_patient,
    parse_product,
)

__all__ = [
    "CONFIRMABLE",
    "DEFAULT_PROTOCOL",
    "KNOWN_KEYS",
    "MAX_PROTOCOL_REF",
    "MAX_SAMPLE_DILUTION",
    "MAX_TEXT",
    "MAX_VOLUME_ML",
    "MAX_WEIGHT_KG",
    "STALE_MINUTES",
    "Order",
    "Patient",
    "PreparationRequest",
    "Product",
    "far_from_now",
    "number_out",
    "order_problems",
    "parse_patient",
    "parse_product",
    "parse_request",
    "patient_to_dict",
    "product_to_dict",
    "protocol_reference",
    "request_to_dict",
]

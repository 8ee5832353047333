"""Protocol and lab settings: the two TOML files every calculation depends on.

The **protocol** is clinical (dose levels, cycles, tolerance, expiry); the **lab** file describes
one laboratory's equipment (syringes, smallest measurable volume, QC reserve, dilution practice).
Both are loaded, checked key by key and turned into frozen values with units. A file that cannot
be used raises :class:`SettingsError` naming the file and the key. Each loaded file carries a
SHA-256 fingerprint of its canonical content (comments and layout do not count), which the
documents print beside the version so an inspector can tell exactly which table was used.
"""

from __future__ import annotations

from doseprep.protocol._base import (
    DEFAULT_EXCEPTIONAL_RELEASE,
    DEFAULT_PROTOCOL,
    DOSE_BASES,
    EXAMPLE_FIN,
    EXAMPLE_MARK,
    EXAMPLE_PRODUCT_CODE,
    LAB_KEYS,
    MAX_LEVEL_NAME,
    NEVER_RELEASED,
    PLAUSIBLE_KEYS,
    PROTOCOL_KEYS,
    SCHEMA_VERSION,
)
from doseprep.protocol.load import (
    bundled_protocols,
    default_lab_path,
    lab_from_text,
    load_lab,
    load_protocol,
    protocol_from_text,
    protocol_path,
)
from doseprep.protocol.model import (
    Bag,
    CryoSettings,
    DoseLevel,
    LabSettings,
    PlausibleRanges,
    Protocol,
    ProtocolApproval,
    ProtocolCryo,
    Syringe,
    fingerprint,
)

__all__ = [
    "DEFAULT_EXCEPTIONAL_RELEASE",
    "DEFAULT_PROTOCOL",
    "DOSE_BASES",
    "EXAMPLE_FIN",
    "EXAMPLE_MARK",
    "EXAMPLE_PRODUCT_CODE",
    "LAB_KEYS",
    "MAX_LEVEL_NAME",
    "NEVER_RELEASED",
    "PLAUSIBLE_KEYS",
    "PROTOCOL_KEYS",
    "SCHEMA_VERSION",
    "Bag",
    "CryoSettings",
    "DoseLevel",
    "LabSettings",
    "PlausibleRanges",
    "Protocol",
    "ProtocolApproval",
    "ProtocolCryo",
    "Syringe",
    "bundled_protocols",
    "default_lab_path",
    "fingerprint",
    "lab_from_text",
    "load_lab",
    "load_protocol",
    "protocol_from_text",
    "protocol_path",
]

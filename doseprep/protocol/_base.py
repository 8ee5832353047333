"""What the other parts of the package share: constants, value types and helpers."""

from __future__ import annotations

from doseprep.resources import DEFAULT_PROTOCOL as DEFAULT_PROTOCOL

SCHEMA_VERSION = 1

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

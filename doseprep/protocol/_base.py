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


#: The bag label stock a lab file may name (``facility.label_width_mm`` / ``label_height_mm``):
#: the smallest on which the ISBT 128 barcodes keep their quiet zones in a quadrant and every
#: example label (fresh, aliquot, thawed; PDF and ZPL at 203, 300 and 600 dpi) fits whole, and
#: a largest that catches a slip (1000 for 100). A label whose values need more room than its
#: stock gives is refused when it is made (issue 21).
LABEL_MIN_WIDTH_MM = 90
LABEL_MIN_HEIGHT_MM = 100
LABEL_MAX_MM = 250


#: Every key of the lab's ``[facility]`` table (the ISBT 128 data printed on bag labels), and the
#: longest each text may be: a misspelt ``label_heigth_mm`` would otherwise fall back silently
#: to 100 mm.
FACILITY_KEYS = frozenset({
    "fin", "product_description_code", "donation_type", "division", "proper_name",
    "product_description", "storage", "investigational_statement", "label_width_mm",
    "label_height_mm",
})
FACILITY_TEXTS = {"proper_name": 40, "product_description": 120, "storage": 120,
                  "investigational_statement": 200}

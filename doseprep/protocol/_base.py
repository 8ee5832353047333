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
    # Revision 3: the dose basis and R are the protocol's; the findings the medical director may
    # release by exception
    "dose_basis", "post_thaw_recovery_percent", "exceptional_release",
})


#: What a dose level counts (DESIGN.md, Revision 3): the viable CD3+ the patient receives after
#: thawing (cells to freeze Nf = Nt ÷ R), or the viable CD3+ frozen (Nf = Nt; R only predicts).
DOSE_BASES = ("post_thaw", "pre_freeze")

#: The blocking findings a protocol may list for exceptional release when it says nothing.
DEFAULT_EXCEPTIONAL_RELEASE = ("DOSE_OUT_OF_TOLERANCE", "LOW_VIABILITY", "PRODUCT_EXPIRED")

#: Blocking findings no one may release by exception: a slip not confirmed, too little product,
#: a volume that cannot be measured, a bag that cannot hold the aliquot. A protocol listing one is
#: refused on load.
NEVER_RELEASED = frozenset({"IMPLAUSIBLE_INPUT", "INSUFFICIENT_PRODUCT", "VOLUME_TOO_SMALL",
                            "ALIQUOT_TOO_LARGE"})

#: Every blocking finding a plan can carry, so a misspelt code in ``exceptional_release`` is
#: refused rather than silently matching nothing.
BLOCKING_CODES = frozenset({"DOSE_OUT_OF_TOLERANCE", "LOW_VIABILITY", "PRODUCT_EXPIRED",
                            "DMSO_LIMIT_EXCEEDED", *NEVER_RELEASED})


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

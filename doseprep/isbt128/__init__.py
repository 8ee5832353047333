"""ISBT 128: reading and writing the codes on cell-therapy product labels.

This module turns what a technician types or a barcode scanner sends into checked values, and
checked values back into the text encoded in label barcodes: the Donation Identification Number
(DIN, Data Structure 001) with its keyboard-entry check character and flag characters, the Product
Code (003), the Expiration Date and Time (005) and the ABO/RhD Blood Group (002), following ICCBBA
ST-001 and IG-033. Every check that fails raises :class:`~doseprep.errors.InputError` naming the
form field and saying, in the lab's words, what is wrong and what to do; nothing here prints,
draws or reads a settings file.
"""

from __future__ import annotations

from doseprep.isbt128._base import (
    ABO_RH_CODES,
    ABO_RH_DATA_IDENTIFIER,
    CODE128_SYMBOLOGY_PREFIX,
    DIN_DATA_IDENTIFIER,
    EXPIRATION_DATA_IDENTIFIER,
    FIN_FIRST_CHARACTERS,
    FLAG_CHARACTERS,
    MOD37_CHARACTERS,
    NO_FLAGS,
    PRODUCT_CODE_DATA_IDENTIFIER,
    Abo,
    Rh,
)
from doseprep.isbt128.codes import (
    abo_rh_structure,
    expiration_structure,
    parse_abo_rh,
    product_code_structure,
)
from doseprep.isbt128.din import (
    Din,
    check_character,
    din_structure,
    parse_din,
    type3_flags,
)
from doseprep.isbt128.scan import (
    AboRhScan,
    DinScan,
    ExpirationScan,
    ParsedStructure,
    ProductCodeScan,
    din_from_scan_or_entry,
    parse_structure,
)

__all__ = [
    "ABO_RH_CODES",
    "ABO_RH_DATA_IDENTIFIER",
    "CODE128_SYMBOLOGY_PREFIX",
    "DIN_DATA_IDENTIFIER",
    "EXPIRATION_DATA_IDENTIFIER",
    "FIN_FIRST_CHARACTERS",
    "FLAG_CHARACTERS",
    "MOD37_CHARACTERS",
    "NO_FLAGS",
    "PRODUCT_CODE_DATA_IDENTIFIER",
    "Abo",
    "AboRhScan",
    "Din",
    "DinScan",
    "ExpirationScan",
    "ParsedStructure",
    "ProductCodeScan",
    "Rh",
    "abo_rh_structure",
    "check_character",
    "din_from_scan_or_entry",
    "din_structure",
    "expiration_structure",
    "parse_abo_rh",
    "parse_din",
    "parse_structure",
    "product_code_structure",
    "type3_flags",
]

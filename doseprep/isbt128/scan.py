"""Reading what a barcode scanner sends: which data structure it is, and its checked values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from doseprep.errors import InputError
from doseprep.isbt128._base import (
    _ABO_RH_BY_CODE,
    _DIGITS,
    _DIN_EXAMPLE,
    _UPPER,
    ABO_RH_DATA_IDENTIFIER,
    CODE128_SYMBOLOGY_PREFIX,
    DIN_DATA_IDENTIFIER,
    EXPIRATION_DATA_IDENTIFIER,
    NO_FLAGS,
    PRODUCT_CODE_DATA_IDENTIFIER,
    Abo,
    Rh,
    _quoted,
)
from doseprep.isbt128.codes import _check_product_parts
from doseprep.isbt128.din import Din, _check_flags, _din_from_code, parse_din


@dataclass(frozen=True)
class DinScan:
    """A scanned DIN barcode (Data Structure 001): the DIN and its two flag characters."""

    din: Din
    flags: str


@dataclass(frozen=True)
class ProductCodeScan:
    """A scanned Product Code barcode (Data Structure 003)."""

    description_code: str
    donation_type: str
    division: str


@dataclass(frozen=True)
class ExpirationScan:
    """A scanned Expiration Date and Time barcode (Data Structure 005), in label wall-clock time."""

    year: int
    day_of_year: int
    hour: int
    minute: int

    def to_naive_datetime(self) -> datetime:
        """The expiry as a naive datetime; its zone is the one printed beside it on the label."""
        start = datetime(self.year, 1, 1, self.hour, self.minute)
        return start + timedelta(days=self.day_of_year - 1)


@dataclass(frozen=True)
class AboRhScan:
    """A scanned ABO/RhD Blood Group barcode (Data Structure 002).

    ``phenotype`` is the ST-001 Table 6 code for the Rh, Kell or Mi(a) phenotype; ``"0"`` means the
    barcode carries no phenotype.
    """

    abo: Abo
    rh: Rh
    phenotype: str = "0"


ParsedStructure: TypeAlias = DinScan | ProductCodeScan | ExpirationScan | AboRhScan


def parse_structure(text: str, field: str = "scan") -> ParsedStructure:
    """What a barcode scanner sent: a DIN, product code, expiry or ABO/RhD blood group barcode.

    The structure is recognised by its data identifier (``=`` followed by a DIN's first character,
    ``=<``, ``&>``, ``=%``). Surrounding whitespace (a trailing CR/LF) and a leading ``]C0``
    symbology identifier are removed first. Letters in a DIN are upper-cased (a scanner with caps
    lock on sends lower case); the other structures are read exactly as scanned.
    """
    data = _scan_text(text, field)
    if data.startswith(PRODUCT_CODE_DATA_IDENTIFIER):
        return _parse_product_code(data, field)
    if data.startswith(ABO_RH_DATA_IDENTIFIER):
        return _parse_abo_rh(data, field)
    if data.startswith(EXPIRATION_DATA_IDENTIFIER):
        return _parse_expiration(data, field)
    if data.startswith(DIN_DATA_IDENTIFIER) and len(data) > 1 and data[1].isalnum():
        return _parse_din_scan(data, field)
    raise InputError(field, f"This is not an ISBT 128 DIN, product code, expiry or blood group "
                            f"barcode: {_quoted(data)}. Scan one of those barcodes on the "
                            f"product label.")


#: Longer than any ISBT 128 barcode this program reads (a scanner stuck on repeat, a paste).
_LONGEST_SCAN = 64


def _scan_text(text: str, field: str) -> str:
    data = text.strip()
    if len(data) > _LONGEST_SCAN:
        raise InputError(field, f"The scan is {len(data)} characters long, longer than any ISBT "
                                f"128 barcode on a product label ({_quoted(data)}). Clear the "
                                f"field and scan the barcode once.")
    if data[:3].upper() == CODE128_SYMBOLOGY_PREFIX:
        data = data[3:].strip()
    if not data:
        raise InputError(field, "Nothing was scanned. Scan the barcode again.")
    for character in data:
        if not ("!" <= character <= "~"):
            raise InputError(field, f"The scan {_quoted(data)} contains {_quoted(character)}, "
                                    f"which no ISBT 128 barcode contains. Scan the barcode again; "
                                    f"if this keeps happening, check the scanner's keyboard "
                                    f"language setting.")
    return data


def _parse_din_scan(data: str, field: str) -> DinScan:
    if len(data) != 16:
        raise InputError(field, f"A DIN barcode reads as 16 characters (= then the 13-character "
                                f"DIN and 2 flag characters), but this scan has {len(data)}: "
                                f"{_quoted(data)}. Scan the DIN barcode again.")
    body = data[1:].upper()
    din = _din_from_code(body[:13], field)
    flags = body[13:]
    _check_flags(din, flags, field)
    return DinScan(din, flags)


def _parse_product_code(data: str, field: str) -> ProductCodeScan:
    if len(data) != 10:
        raise InputError(field, f"A product code barcode reads as 10 characters (=< then the "
                                f"5-character product description code, the type of donation "
                                f"and the 2-character division), but this scan has {len(data)}: "
                                f"{_quoted(data)}. Scan the product code barcode again.")
    body = data[2:]
    code, kind, division = body[:5], body[5], body[6:]
    _check_product_parts(code, kind, division, field)
    return ProductCodeScan(code, kind, division)


def _parse_expiration(data: str, field: str) -> ExpirationScan:
    body = data[2:]
    if len(body) != 10 or not set(body) <= _DIGITS:
        raise InputError(field, f"An expiry barcode reads as &> followed by 10 digits (century, "
                                f"year, day of the year, hour, minute), but this scan is "
                                f"{_quoted(data)}. Scan the expiry barcode again.")
    year = 2000 + 100 * int(body[0]) + int(body[1:3])
    day, hour, minute = int(body[3:6]), int(body[6:8]), int(body[8:10])
    days_in_year = (datetime(year + 1, 1, 1) - datetime(year, 1, 1)).days
    if day == 0:
        raise InputError(field, f"The expiry barcode {_quoted(data)} gives day 000 of {year}, "
                                f"but days of the year start at 001 (1 January). Scan the expiry "
                                f"barcode again or read the expiry from the label.")
    if day > days_in_year:
        raise InputError(field, f"The expiry barcode {_quoted(data)} gives day {day:03d} of "
                                f"{year}, but {year} has only {days_in_year} days. Scan the "
                                f"expiry barcode again or read the expiry from the label.")
    if hour > 23:
        raise InputError(field, f"The expiry barcode {_quoted(data)} gives the hour {hour:02d}, "
                                f"but hours run from 00 to 23. Scan the expiry barcode again or "
                                f"read the expiry from the label.")
    if minute > 59:
        raise InputError(field, f"The expiry barcode {_quoted(data)} gives the minute "
                                f"{minute:02d}, but minutes run from 00 to 59. Scan the expiry "
                                f"barcode again or read the expiry from the label.")
    return ExpirationScan(year, day, hour, minute)


def _parse_abo_rh(data: str, field: str) -> AboRhScan:
    if len(data) != 6:
        raise InputError(field, f"A blood group barcode reads as 6 characters (=% then 4), but "
                                f"this scan has {len(data)}: {_quoted(data)}. Scan the blood "
                                f"group barcode again.")
    group, phenotype, reserved = data[2:4], data[4], data[5]
    if group not in _ABO_RH_BY_CODE:
        raise InputError(field, f"This blood group barcode ({_quoted(data)}) carries the code "
                                f"{_quoted(group)}, which is not one of the plain ABO/RhD groups "
                                f"this program reads (O, A, B or AB, RhD positive or negative). "
                                f"Read the blood group from the label text.")
    if phenotype not in _UPPER | _DIGITS:
        raise InputError(field, f"Character 5 of the blood group barcode {_quoted(data)} is "
                                f"{_quoted(phenotype)}, but it must be a capital letter or a "
                                f"digit. Scan the blood group barcode again.")
    if reserved != "0":
        raise InputError(field, f"The blood group barcode {_quoted(data)} must end in 0, not "
                                f"{_quoted(reserved)}. Scan the blood group barcode again.")
    abo, rh = _ABO_RH_BY_CODE[group]
    return AboRhScan(abo, rh, phenotype)


_STRUCTURE_NAMES: dict[type, str] = {
    DinScan: "DIN",
    ProductCodeScan: "product code",
    ExpirationScan: "expiry date and time",
    AboRhScan: "ABO/RhD blood group",
}


def din_from_scan_or_entry(text: str, field: str = "product.din", *,
                           keyboard: bool = False) -> tuple[Din, str]:
    """The DIN and flag characters from what arrived in a DIN field.

    Accepts a scanned DIN barcode (``=G12341765432100``, with or without a ``]C0`` prefix and a
    trailing CR/LF, as a keyboard-wedge scanner types it: the barcode carries its own check), or
    a typed DIN with its check character — or without it, unless ``keyboard`` (typed at a
    keyboard: the check character is required, see :func:`parse_din`). Typed DINs have flags
    ``"00"``. Any other barcode scanned into the field raises :class:`InputError` saying which
    barcode it was.
    """
    stripped = text.strip()
    if stripped[:3].upper() == CODE128_SYMBOLOGY_PREFIX or stripped[:1] in ("=", "&"):
        parsed = parse_structure(text, field)
        if isinstance(parsed, DinScan):
            return parsed.din, parsed.flags
        name = _STRUCTURE_NAMES[type(parsed)]
        raise InputError(field, f"That was the {name} barcode, but this field needs the DIN. "
                                f"Scan the barcode above the DIN text (e.g. {_DIN_EXAMPLE}) or "
                                f"type the DIN and its check character.")
    return parse_din(text, field, keyboard=keyboard), NO_FLAGS

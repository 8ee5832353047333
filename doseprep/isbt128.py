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

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeAlias, cast

from doseprep.errors import InputError

Abo: TypeAlias = Literal["O", "A", "B", "AB"]
Rh: TypeAlias = Literal["POS", "NEG"]

#: ISO/IEC 7064 MOD 37-2 character set; a character's index is its value.
MOD37_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
#: Characters a DIN may start with: a capital letter except O, or a digit except 0.
FIN_FIRST_CHARACTERS = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"
#: Characters allowed in the two flag characters (ST-001 Data Structure 001).
FLAG_CHARACTERS = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
#: Flag characters when no flag is used.
NO_FLAGS = "00"

DIN_DATA_IDENTIFIER = "="
PRODUCT_CODE_DATA_IDENTIFIER = "=<"
EXPIRATION_DATA_IDENTIFIER = "&>"
ABO_RH_DATA_IDENTIFIER = "=%"
#: AIM symbology identifier some scanners put before a Code 128 read.
CODE128_SYMBOLOGY_PREFIX = "]C0"

_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")

#: ABO/RhD group codes of Data Structure 002 (ST-001 Table 4, "intended use not specified"). The
#: other codes (directed, autologous, pooled, Bombay, special messages) are refused when scanned.
ABO_RH_CODES: dict[tuple[Abo, Rh], str] = {
    ("O", "NEG"): "95",
    ("O", "POS"): "51",
    ("A", "NEG"): "06",
    ("A", "POS"): "62",
    ("B", "NEG"): "17",
    ("B", "POS"): "73",
    ("AB", "NEG"): "28",
    ("AB", "POS"): "84",
}
_ABO_RH_BY_CODE: dict[str, tuple[Abo, Rh]] = {code: key for key, code in ABO_RH_CODES.items()}

_RH_WORDS: dict[str, Rh] = {
    "+": "POS", "POS": "POS", "POSITIVE": "POS",
    "-": "NEG", "NEG": "NEG", "NEGATIVE": "NEG",
}

_DIN_EXAMPLE = "G1234 17 654321"


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Din:
    """A 13-character Donation Identification Number: facility number, year, sequence number.

    The facility number (FIN) is a capital letter other than O, or a digit 1–9, then four digits.
    (ST-001 reserves letters for FIN positions 2–3 for future use; none are issued, so they are
    refused here.) The year is two digits and the sequence number six.

    Build one with :func:`parse_din` (typed text) or :func:`din_from_scan_or_entry`; constructing it
    directly checks the parts too (lower-case letters are accepted and stored in upper case).
    """

    fin: str
    year: str
    sequence: str

    def __post_init__(self) -> None:
        field = "product.din"
        for name, value, length, noun in (
            ("fin", self.fin, 5, "facility number (FIN)"),
            ("year", self.year, 2, "year"),
            ("sequence", self.sequence, 6, "sequence number"),
        ):
            if len(value) != length or not value.isascii():
                raise InputError(field, f"The {noun} of a DIN has {length} characters, but "
                                        f"{_quoted(value)} has {len(value)}. Check the DIN.")
            object.__setattr__(self, name, value.upper())
        _check_din_code(self.code, field)

    @property
    def code(self) -> str:
        """The 13 characters, e.g. ``G123417654321``."""
        return self.fin + self.year + self.sequence

    @property
    def check_character(self) -> str:
        """The keyboard-entry check character that labels print boxed after the DIN."""
        return _mod37_2(self.code)

    @property
    def eye_readable(self) -> str:
        """The DIN as printed under its barcode, ``G1234 17 654321`` (check character apart)."""
        return f"{self.fin} {self.year} {self.sequence}"

    @property
    def keyboard_entry(self) -> str:
        """The 14 characters a person types: the DIN followed by its check character."""
        return self.code + self.check_character

    def __str__(self) -> str:
        return self.code


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

_STRUCTURE_NAMES: dict[type, str] = {
    DinScan: "DIN",
    ProductCodeScan: "product code",
    ExpirationScan: "expiry date and time",
    AboRhScan: "ABO/RhD blood group",
}


# --------------------------------------------------------------------------------------------
# Donation Identification Number


def check_character(din13: str, field: str = "product.din") -> str:
    """The keyboard-entry check character (ISO/IEC 7064 MOD 37-2) of a 13-character DIN.

    MOD 37-2 pure system over the 13 DIN characters only, never the flags. Each character is worth
    0–9 (digits), 10–35 (A–Z) or 36 (``*``); the rightmost character is weighted 2¹, the next 2²,
    and so on; the check value is ``(38 − sum mod 37) mod 37`` and the check character is the one
    worth that value. Weighting the rightmost character 2¹ (not 2⁰) makes this equal to the
    standard's recursive form ``p = 2·(p + value) mod 37``, and it reproduces the ST-001 examples:
    A9999 21 123456 → 3, W0000 09 123456 → G, A9998 18 123456 → N.

    Spaces are ignored and letters may be lower case; anything that is not a 13-character DIN
    raises :class:`InputError` on ``field``.
    """
    text = _typed_din_text(din13, field)
    if len(text) != 13:
        raise InputError(field, f"The check character is worked out from the 13 characters of the "
                                f"DIN, but {_quoted(din13)} has {len(text)}. Enter the 13 "
                                f"characters printed under the DIN barcode, e.g. {_DIN_EXAMPLE}.")
    _check_din_code(text, field)
    return _mod37_2(text)


def type3_flags(din: Din) -> str:
    """Type 3 flag characters for ``din``: 60 + its MOD 37-2 check value, as two digits (60–96).

    ST-001 Table 3: flags 60–96 carry the check value of the 13 DIN characters, e.g. ``"70"`` for
    a DIN whose check character is ``A`` (value 10). Labels do not print type 3 flags; they exist
    so that software reading the barcode can check it, and :func:`parse_structure` refuses a DIN
    barcode whose flags are in 60–96 but do not match its DIN.
    """
    return f"{60 + MOD37_CHARACTERS.index(din.check_character):02d}"


def parse_din(text: str, field: str = "product.din") -> Din:
    """A typed DIN: 13 characters, or 14 with the boxed keyboard-entry check character last.

    Surrounding and internal spaces are ignored (``"g1234 17 654321 a"`` is fine) and letters are
    upper-cased. A 14th character must be the DIN's check character. Scanned barcode text (which
    starts with ``=``) is refused here; a DIN field should call :func:`din_from_scan_or_entry`.
    """
    text13 = _typed_din_text(text, field)
    if len(text13) not in (13, 14):
        raise InputError(field, _din_length_message(text, len(text13)))
    din = _din_from_code(text13[:13], field)
    if len(text13) == 14:
        given, needed = text13[13], din.check_character
        if given != needed:
            raise InputError(field, f"The check character is '{given}' but DIN {din.code} needs "
                                    f"'{needed}'. Re-scan or re-type the DIN.")
    return din


def din_structure(din: Din, flags: str = NO_FLAGS, field: str = "product.din") -> str:
    """The text of a DIN barcode (Data Structure 001): ``=``, the 13 DIN characters, 2 flags.

    ``flags`` is ``"00"`` when no flag is used; see :func:`type3_flags` for check-value flags.
    """
    flags = flags.strip().upper()
    _check_flags(din, flags, field)
    return DIN_DATA_IDENTIFIER + din.code + flags


def din_from_scan_or_entry(text: str, field: str = "product.din") -> tuple[Din, str]:
    """The DIN and flag characters from what arrived in a DIN field.

    Accepts a scanned DIN barcode (``=G12341765432100``, with or without a ``]C0`` prefix and a
    trailing CR/LF, as a keyboard-wedge scanner types it), a typed 13-character DIN, or a typed DIN
    with its check character. Typed DINs have flags ``"00"``. Any other barcode scanned into the
    field raises :class:`InputError` saying which barcode it was.
    """
    stripped = text.strip()
    if stripped[:3].upper() == CODE128_SYMBOLOGY_PREFIX or stripped[:1] in ("=", "&"):
        parsed = parse_structure(text, field)
        if isinstance(parsed, DinScan):
            return parsed.din, parsed.flags
        name = _STRUCTURE_NAMES[type(parsed)]
        raise InputError(field, f"That was the {name} barcode, but this field needs the DIN. "
                                f"Scan the barcode above the DIN text (e.g. {_DIN_EXAMPLE}) or "
                                f"type the DIN.")
    return parse_din(text, field), NO_FLAGS


# --------------------------------------------------------------------------------------------
# Other data structures


def product_code_structure(description_code: str, donation_type: str, division: str = "00",
                           field: str = "product.product_code") -> str:
    """The text of a Product Code barcode (Data Structure 003): ``=<S1234V00``.

    ``description_code`` is the 5-character product description code (``S…`` cellular therapy,
    ``Y…`` clinical trial, ``E``/``F…`` blood components); it is upper-cased. ``donation_type`` is
    the one-character type of donation (``V`` volunteer allogeneic, ``A`` autologous eligible for
    crossover, ``1`` autologous only, ``D`` volunteer directed, ...), kept as given because case
    matters (``R`` volunteer research, ``r`` paid research). ``division`` is ``"00"`` unless the
    product was divided.

    The description code is a capital letter and four capital letters or digits (clinical-trial
    codes run ``YA000``–``YZ999``); the division is a capital letter or digit followed by a small
    letter or digit. For codes starting with M, N, R, T, V or W (tissues, organs, milk, ...)
    ST-001 uses the last three characters as one three-digit division code; they are still read
    here as type + division, so callers handling those products must join them.
    """
    code = description_code.strip().upper()
    kind = donation_type.strip()
    div = division.strip()
    _check_product_parts(code, kind, div, field)
    return PRODUCT_CODE_DATA_IDENTIFIER + code + kind + div


def expiration_structure(dt: datetime, field: str = "product.expiry") -> str:
    """The text of an Expiration Date and Time barcode (Data Structure 005): ``&>cyyjjjhhmm``.

    ``dt`` must be time-zone aware; the barcode holds its wall-clock time in its own zone, e.g.
    2026-11-23 14:00-08:00 → ``&>0263271400``. The layout is ``c yy jjj hh mm``: century digit
    ``c = year // 100 − 20`` (0 for 2000–2099), two-digit year, day of the year 001–366, hour
    00–23 and minute. Seconds are dropped, which moves the encoded expiry earlier, never later.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InputError(field, f"The expiry {dt:%Y-%m-%d %H:%M} has no time zone. Give the "
                                f"expiry with the time zone printed on the label.")
    if not 2000 <= dt.year <= 2999:
        raise InputError(field, f"The expiry year {dt.year} cannot be put in an ISBT 128 expiry "
                                f"barcode, which holds the years 2000 to 2999. Check the expiry "
                                f"date.")
    century = dt.year // 100 - 20
    day = dt.timetuple().tm_yday
    return (f"{EXPIRATION_DATA_IDENTIFIER}{century}{dt.year % 100:02d}{day:03d}"
            f"{dt.hour:02d}{dt.minute:02d}")


def parse_abo_rh(text: str, field: str = "product.abo_rh") -> tuple[Abo, Rh]:
    """The ABO group and RhD type from one string such as ``"A POS"``, ``"O-"`` or ``"AB Rh+"``."""
    squeezed = " ".join(text.split()).upper()
    if not squeezed:
        raise InputError(field, "Enter the ABO group and RhD type, e.g. A POS or O NEG.")
    match = re.fullmatch(r"(AB|A|B|O)\s*(.*)", squeezed)
    if match is None:
        hint = " (the group is the letter O, not zero)" if squeezed.startswith("0") else ""
        raise InputError(field, f"{_quoted(text)} is not an ABO group and RhD type{hint}. Enter "
                                f"O, A, B or AB followed by POS or NEG, e.g. A POS.")
    if not match.group(2):
        raise InputError(field, f"{_quoted(text.strip())} gives the ABO group but not the RhD "
                                f"type. Add POS or NEG, e.g. {match.group(1)} POS.")
    return cast(Abo, match.group(1)), _rh(match.group(2), field)


def abo_rh_structure(abo: str, rh: str, field: str = "product.abo_rh") -> str:
    """The text of an ABO/RhD Blood Group barcode (Data Structure 002): ``=%6200`` for A POS.

    ``abo`` is O, A, B or AB; ``rh`` is POS/NEG, +/-, positive/negative, optionally after "Rh" or
    "RhD" (any case, spaces ignored). The barcode holds the group code from :data:`ABO_RH_CODES`,
    then ``0`` (no Rh/Kell/Mi(a) phenotype given) and the reserved ``0``.
    """
    return ABO_RH_DATA_IDENTIFIER + ABO_RH_CODES[(_abo(abo, field), _rh(rh, field))] + "00"


# --------------------------------------------------------------------------------------------
# Scans


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


def _scan_text(text: str, field: str) -> str:
    data = text.strip()
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


# --------------------------------------------------------------------------------------------
# Checks shared by the functions above


def _mod37_2(code: str) -> str:
    total = sum(MOD37_CHARACTERS.index(c) * 2 ** n for n, c in enumerate(reversed(code), start=1))
    return MOD37_CHARACTERS[(38 - total % 37) % 37]


def _typed_din_text(text: str, field: str) -> str:
    """Typed DIN text without spaces, in upper case, holding only letters, digits and ``*``."""
    squeezed = "".join(text.split())
    if not squeezed:
        raise InputError(field, f"Enter the DIN: the 13 characters printed under the DIN "
                                f"barcode, e.g. {_DIN_EXAMPLE}, optionally followed by the boxed "
                                f"check character.")
    if squeezed[0] in "=&]":
        raise InputError(field, f"{_quoted(squeezed)} is the text of a scanned barcode, not a "
                                f"typed DIN. Scan the DIN barcode into the DIN field, or type the "
                                f"13 characters printed under it, e.g. {_DIN_EXAMPLE}.")
    for character in squeezed:
        if not (character.isascii() and (character.isalnum() or character == "*")):
            raise InputError(field, f"The DIN {_quoted(text.strip())} contains "
                                    f"{_quoted(character)}, which is not part of any DIN. A DIN "
                                    f"is letters and digits only, e.g. {_DIN_EXAMPLE}.")
    return squeezed.upper()


def _din_length_message(text: str, length: int) -> str:
    message = (f"The DIN {_quoted(text.strip())} has {length} characters, but a DIN has 13 (14 "
               f"with the boxed check character at the end). Check for missing or extra "
               f"characters.")
    if length in (15, 16):
        message += (" If these are the characters of a DIN barcode with its flag characters, "
                    "scan the barcode instead.")
    return message


def _check_din_code(code: str, field: str) -> None:
    """Refuse a 13-character upper-case string that is not a DIN, naming the first bad part."""
    first = code[0]
    if first == "O":
        raise InputError(field, f"DIN {code} starts with the letter O, but no DIN starts with O "
                                f"(so that it cannot be mistaken for zero). Check the label and "
                                f"re-scan or re-type the DIN.")
    if first == "0":
        raise InputError(field, f"DIN {code} starts with 0 (zero), but a DIN starts with a letter "
                                f"other than O or a digit 1–9. Check the label and re-scan or "
                                f"re-type the DIN.")
    if first not in FIN_FIRST_CHARACTERS:
        raise InputError(field, f"DIN {code} starts with {_quoted(first)}, but a DIN starts with "
                                f"a letter other than O or a digit 1–9. Check the label and "
                                f"re-scan or re-type the DIN.")
    for position, character in enumerate(code[1:], start=2):
        if character not in _DIGITS:
            if position <= 5:
                part = "characters 2–5 are the rest of the facility number"
            elif position <= 7:
                part = "characters 6–7 are the year"
            else:
                part = "characters 8–13 are the sequence number"
            raise InputError(field, f"Character {position} of DIN {code} is "
                                    f"{_quoted(character)}, but it must be a digit: {part}. "
                                    f"Check the label and re-scan or re-type the DIN.")


def _din_from_code(code: str, field: str) -> Din:
    _check_din_code(code, field)
    return Din(code[:5], code[5:7], code[7:])


def _check_flags(din: Din, flags: str, field: str) -> None:
    if len(flags) != 2 or any(c not in FLAG_CHARACTERS for c in flags):
        raise InputError(field, f"The DIN flag characters {_quoted(flags)} cannot be used: flags "
                                f"are 2 characters, digits or capital letters other than I, O, Q "
                                f"and Z ('00' when no flag is used).")
    if flags.isdigit() and 60 <= int(flags) <= 96:
        needed = type3_flags(din)
        if flags != needed:
            raise InputError(field, f"The flag characters {flags} are a check value (60–96), but "
                                    f"DIN {din.code} needs {needed}. The barcode was misread or "
                                    f"is damaged: scan the DIN barcode again.")


def _check_product_parts(code: str, kind: str, division: str, field: str) -> None:
    if len(code) != 5:
        raise InputError(field, f"The product description code {_quoted(code)} has {len(code)} "
                                f"characters, but it has 5: a capital letter and 4 letters or "
                                f"digits, e.g. S1234. Check the product code on the label.")
    if code[0] not in _UPPER:
        raise InputError(field, f"The product description code {_quoted(code)} must start with "
                                f"a capital letter (S for cellular therapy, Y for clinical "
                                f"trials), not {_quoted(code[0])}. Check the product code on the "
                                f"label.")
    for position, character in enumerate(code[1:], start=2):
        if character not in _UPPER | _DIGITS:
            raise InputError(field, f"Character {position} of the product description code "
                                    f"{_quoted(code)} is {_quoted(character)}, but it must be a "
                                    f"capital letter or a digit. Check the product code on the "
                                    f"label.")
    if len(kind) != 1 or kind not in _UPPER | _LOWER | _DIGITS:
        raise InputError(field, f"The type of donation {_quoted(kind)} must be one letter or "
                                f"digit (e.g. V for volunteer, A for autologous). Check the "
                                f"product code on the label.")
    if len(division) != 2 or division[0] not in _UPPER | _DIGITS \
            or division[1] not in _LOWER | _DIGITS:
        raise InputError(field, f"The division {_quoted(division)} must be 2 characters: a "
                                f"capital letter or digit, then a small letter or digit (00 when "
                                f"the product was not divided). Check the product code on the "
                                f"label.")


def _abo(text: str, field: str) -> Abo:
    group = "".join(text.split()).upper()
    if group in ("O", "A", "B", "AB"):
        return cast(Abo, group)
    if not group:
        raise InputError(field, "Enter the ABO group: O, A, B or AB.")
    if group == "0":
        raise InputError(field, "The ABO group was typed as 0 (zero); type the letter O.")
    raise InputError(field, f"The ABO group {_quoted(text.strip())} is not O, A, B or AB. Enter "
                            f"the group as printed on the label.")


def _rh(text: str, field: str) -> Rh:
    word = "".join(text.split()).upper().replace("−", "-")
    for prefix in ("RHD", "RH"):
        if word.startswith(prefix):
            word = word[len(prefix):]
            break
    if word in _RH_WORDS:
        return _RH_WORDS[word]
    if not text.strip():
        raise InputError(field, "Enter the RhD type: POS or NEG.")
    raise InputError(field, f"The RhD type {_quoted(text.strip())} is not positive or negative. "
                            f"Enter POS or NEG (or + or -).")


def _quoted(text: str) -> str:
    shown = "".join(c if c.isprintable() else "?" for c in text)
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return f"'{shown}'"

"""The Product Code (003), the Expiration Date and Time (005) and the ABO/RhD group (002), as
label text."""

from __future__ import annotations

import re
from datetime import datetime
from typing import cast

from doseprep.errors import InputError
from doseprep.isbt128._base import (
    _DIGITS,
    _LOWER,
    _RH_WORDS,
    _UPPER,
    ABO_RH_CODES,
    ABO_RH_DATA_IDENTIFIER,
    EXPIRATION_DATA_IDENTIFIER,
    PRODUCT_CODE_DATA_IDENTIFIER,
    Abo,
    Rh,
    _quoted,
)


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

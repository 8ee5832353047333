"""The Donation Identification Number (Data Structure 001): its check character, its flags, and
a DIN typed or scanned."""

from __future__ import annotations

from dataclasses import dataclass

from doseprep.errors import InputError
from doseprep.isbt128._base import (
    _DIGITS,
    _DIN_EXAMPLE,
    DIN_DATA_IDENTIFIER,
    FIN_FIRST_CHARACTERS,
    FLAG_CHARACTERS,
    MOD37_CHARACTERS,
    NO_FLAGS,
    _quoted,
)


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

    @property
    def typed_form(self) -> str:
        """The DIN as a keyboard field shows it, ``G1234 17 654321 A``: the eye-readable DIN and
        its check character (a field must show a DIN the way a person would type it)."""
        return f"{self.eye_readable} {self.check_character}"

    def __str__(self) -> str:
        return self.code


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


def parse_din(text: str, field: str = "product.din", *, keyboard: bool = False) -> Din:
    """A typed DIN: 13 characters, or 14 with the boxed keyboard-entry check character last.

    Surrounding and internal spaces are ignored (``"g1234 17 654321 a"`` is fine) and letters are
    upper-cased. A 14th character must be the DIN's check character. With ``keyboard`` (the DIN
    was typed at a keyboard: a form field, a re-entry, a command-line option) the check character
    is required: it is what catches a mistyped digit (DESIGN.md, "The DIN"); a request file may
    leave it out. A wrong or missing one never says which character was expected — that would
    let a mistyped DIN through by copying it. Scanned barcode text (which starts with ``=``) is
    refused here; a DIN field should call :func:`din_from_scan_or_entry`.
    """
    text13 = _typed_din_text(text, field)
    if len(text13) not in (13, 14):
        raise InputError(field, _din_length_message(text, len(text13)))
    din = _din_from_code(text13[:13], field)
    if len(text13) == 14:
        given = text13[13]
        if given != din.check_character:
            raise InputError(field, f"The check character '{given}' does not match the DIN "
                                    f"{din.eye_readable}: a character of the DIN or the check "
                                    f"character is mistyped. {_TYPE_THE_BOX}")
    elif keyboard:
        raise InputError(field, f"The DIN {din.eye_readable} was typed without its check "
                                f"character, which catches a mistyped DIN. {_TYPE_THE_BOX}")
    return din


_TYPE_THE_BOX = ("Type the DIN again from the label, then the boxed character printed after the "
                 "DIN, or scan the DIN barcode.")


def din_structure(din: Din, flags: str = NO_FLAGS, field: str = "product.din") -> str:
    """The text of a DIN barcode (Data Structure 001): ``=``, the 13 DIN characters, 2 flags.

    ``flags`` is ``"00"`` when no flag is used; see :func:`type3_flags` for check-value flags.
    """
    flags = flags.strip().upper()
    _check_flags(din, flags, field)
    return DIN_DATA_IDENTIFIER + din.code + flags


def _mod37_2(code: str) -> str:
    total = sum(MOD37_CHARACTERS.index(c) * 2 ** n for n, c in enumerate(reversed(code), start=1))
    return MOD37_CHARACTERS[(38 - total % 37) % 37]


def _typed_din_text(text: str, field: str) -> str:
    """Typed DIN text without spaces, in upper case, holding only letters, digits and ``*``."""
    if len(text) > 100:
        raise InputError(field, f"The DIN {_quoted(text.strip())} is {len(text)} characters "
                                f"long; a DIN has 13 and its check character. Clear the field "
                                f"and type or scan it again.")
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

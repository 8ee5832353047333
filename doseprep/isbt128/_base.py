"""What the other parts of the package share: constants, value types and helpers."""

from __future__ import annotations

from typing import Literal, TypeAlias

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




def _quoted(text: str) -> str:
    shown = "".join(c if c.isprintable() else "?" for c in text)
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return f"'{shown}'"

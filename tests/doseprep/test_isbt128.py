"""ISBT 128 codes: check characters, DIN entry, barcode text built and read back, and the errors."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseprep.errors import InputError
from doseprep.isbt128 import (
    ABO_RH_CODES,
    AboRhScan,
    Din,
    DinScan,
    ExpirationScan,
    ProductCodeScan,
    abo_rh_structure,
    check_character,
    din_from_scan_or_entry,
    din_structure,
    expiration_structure,
    parse_abo_rh,
    parse_din,
    parse_structure,
    product_code_structure,
    type3_flags,
)

MOD37 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
FIN_FIRST = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"
PST = timezone(timedelta(hours=-8))

# Published examples (ST-001, IG-033 and the brief for this module).
CHECK_VECTORS = [
    ("G123498654321", "H"),
    ("A999818123456", "N"),
    ("A999921123456", "3"),
    ("W000009123456", "G"),
    ("G123417654321", "A"),
]


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


dins = st.builds(
    lambda first, rest, year, sequence: Din(first + rest, year, sequence),
    st.sampled_from(FIN_FIRST), _digits(4), _digits(2), _digits(6),
)


def _iso7064_residue(text: str) -> int:
    """ISO/IEC 7064 pure-system check: data plus check character, check weighted 2⁰, ≡ 1 mod 37."""
    return sum(MOD37.index(c) * 2 ** n for n, c in enumerate(reversed(text))) % 37


def _recursive_check(text: str) -> str:
    """The standard's recursive form of MOD 37-2, written independently of the module."""
    p = 0
    for c in text:
        p = (p + MOD37.index(c)) * 2 % 37
    return MOD37[(38 - p) % 37]


def _error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    assert "invalid" not in info.value.message.lower()
    return info.value


# --------------------------------------------------------------------------------------------
# Check character


@pytest.mark.parametrize(("din13", "expected"), CHECK_VECTORS)
def test_check_character_known_vectors(din13: str, expected: str) -> None:
    assert check_character(din13) == expected
    assert Din(din13[:5], din13[5:7], din13[7:]).check_character == expected


def test_check_character_can_be_star_and_zero() -> None:
    # Found by search with the independent recursive form; '*' is value 36, '0' value 0.
    assert _recursive_check("A999921000019") == "*"
    assert check_character("A999921000019") == "*"
    assert check_character("A999921000189") == "0"


@given(dins)
def test_check_character_satisfies_iso7064(din: Din) -> None:
    assert _iso7064_residue(din.code + din.check_character) == 1
    assert din.check_character == _recursive_check(din.code)


@given(dins, st.integers(min_value=0, max_value=12), st.sampled_from(string.digits))
def test_check_character_catches_any_single_substitution(din: Din, position: int,
                                                         replacement: str) -> None:
    changed = din.code[:position] + replacement + din.code[position + 1:]
    if changed != din.code and changed[0] in FIN_FIRST:
        assert check_character(changed) != din.check_character


def test_check_character_ignores_spaces_and_case() -> None:
    assert check_character(" g1234 17 654321 ") == "A"


def test_check_character_needs_thirteen_characters() -> None:
    error = _error(check_character, "G12341765432")
    assert error.field == "product.din"
    assert "13" in error.message and "12" in error.message


def test_type3_flags_are_sixty_plus_check_value() -> None:
    assert type3_flags(parse_din("G123417654321")) == "70"  # A = 10
    assert type3_flags(parse_din("A999921123456")) == "63"  # 3
    assert type3_flags(parse_din("G123498654321")) == "77"  # H = 17
    assert type3_flags(parse_din("A999921000019")) == "96"  # * = 36
    assert type3_flags(parse_din("A999921000189")) == "60"  # 0


# --------------------------------------------------------------------------------------------
# The Din value and typed entry


def test_din_parts_and_formats() -> None:
    din = parse_din("G123417654321")
    assert (din.fin, din.year, din.sequence) == ("G1234", "17", "654321")
    assert din.code == "G123417654321"
    assert str(din) == "G123417654321"
    assert din.eye_readable == "G1234 17 654321"
    assert din.check_character == "A"
    assert din.keyboard_entry == "G123417654321A"


@pytest.mark.parametrize("typed", [
    "G123417654321",
    "G123417654321A",
    "g123417654321a",
    "G1234 17 654321 A",
    "  G1234 17 654321\t",
    "G1234 17 654321 a\r\n",
])
def test_parse_din_accepts_what_people_type(typed: str) -> None:
    assert parse_din(typed) == Din("G1234", "17", "654321")


@given(dins)
def test_parse_din_round_trips(din: Din) -> None:
    assert parse_din(din.code) == din
    assert parse_din(din.keyboard_entry) == din
    assert parse_din(f"{din.eye_readable} {din.check_character}".lower()) == din


@given(dins, st.sampled_from(MOD37))
def test_parse_din_refuses_every_wrong_check_character(din: Din, typed: str) -> None:
    if typed == din.check_character:
        assert parse_din(din.code + typed) == din
    else:
        error = _error(parse_din, din.code + typed)
        assert f"'{typed}'" in error.message
        # Never the character it should be: copying it would let a mistyped DIN through.
        assert f"'{din.check_character}'" not in error.message


def test_wrong_check_character_is_named_and_the_right_one_is_not_given() -> None:
    error = _error(parse_din, "G123417654321B", field="form.din")
    assert error.field == "form.din"
    assert error.message == (
        "The check character 'B' does not match the DIN G1234 17 654321: a character of the DIN "
        "or the check character is mistyped. Type the DIN again from the label, then the boxed "
        "character printed after the DIN, or scan the DIN barcode.")


# The red team's case (issue 21): the last digit of G123417654321 mistyped as 2. Typed at a
# keyboard without its check character it was accepted as another valid DIN; it is refused now,
# and with the label's check character (A) the slip shows.
@pytest.mark.parametrize(("typed", "words"), [
    ("G123417654322", "typed without its check character"),
    ("G1234 17 654322", "typed without its check character"),
    ("G123417654322A", "The check character 'A' does not match"),
    ("G123417654321", "typed without its check character"),
])
def test_a_keyboard_din_needs_its_check_character(typed: str, words: str) -> None:
    for read in (parse_din, din_from_scan_or_entry):
        error = _error(read, typed, field="reentry.product.din", keyboard=True)
        assert error.field == "reentry.product.din"
        assert words in error.message
        assert "boxed character printed after the DIN" in error.message


def test_a_keyboard_din_with_its_check_character_or_a_scan_is_taken() -> None:
    din = Din("G1234", "17", "654321")
    assert parse_din("G1234 17 654321 a", keyboard=True) == din
    assert din_from_scan_or_entry("G123417654321A", keyboard=True) == (din, "00")
    # A scanned DIN carries the barcode's own check: no check character is typed.
    assert din_from_scan_or_entry("=G12341765432100\r\n", keyboard=True) == (din, "00")
    assert din.typed_form == "G1234 17 654321 A"


@given(dins)
def test_every_keyboard_din_without_its_check_character_is_refused(din: Din) -> None:
    assert parse_din(din.code) == din  # a request file may leave it out
    assert _error(parse_din, din.code, keyboard=True).field == "product.din"
    assert parse_din(din.keyboard_entry, keyboard=True) == din


@pytest.mark.parametrize(("typed", "words"), [
    ("", ["Enter the DIN"]),
    ("   ", ["Enter the DIN"]),
    ("G12341765432", ["12 characters", "13"]),
    ("G1234176543210AB", ["16 characters", "scan"]),
    ("O123417654321", ["letter O"]),
    ("0123417654321", ["0 (zero)"]),
    ("*123417654321", ["'*'", "starts with"]),
    ("G12A417654321", ["Character 4", "'A'", "facility number"]),
    ("G12341X654321", ["Character 7", "'X'", "year"]),
    ("G1234176543Z1", ["Character 12", "'Z'", "sequence number"]),
    ("G1234-17-654321", ["'-'"]),
    ("G1234 17 65432é", ["'é'"]),
    ("=G12341765432100", ["scanned barcode"]),
])
def test_parse_din_errors_name_the_problem(typed: str, words: list[str]) -> None:
    error = _error(parse_din, typed)
    assert error.field == "product.din"
    for word in words:
        assert word in error.message


def test_parse_din_reports_the_field_it_is_given() -> None:
    assert _error(parse_din, "", field="batch.din").field == "batch.din"
    assert _error(parse_din, "O123417654321", field="batch.din").field == "batch.din"


def test_din_constructor_checks_parts() -> None:
    assert Din("g1234", "17", "654321").fin == "G1234"
    assert "5 characters" in _error(Din, "G123", "17", "654321").message
    assert "letter O" in _error(Din, "O1234", "17", "654321").message
    assert "Character 9" in _error(Din, "G1234", "17", "6X4321").message


# --------------------------------------------------------------------------------------------
# DIN barcode


def test_din_structure_default_and_type3_flags() -> None:
    din = parse_din("G123417654321")
    assert din_structure(din) == "=G12341765432100"
    assert din_structure(din, type3_flags(din)) == "=G12341765432170"
    assert din_structure(din, "07") == "=G12341765432107"
    assert din_structure(din, "a1") == "=G123417654321A1"


@given(dins, st.sampled_from(["00", "01", "19", "59", "97", "A1", "Y9", "type3"]))
def test_din_structure_round_trips(din: Din, flags: str) -> None:
    flags = type3_flags(din) if flags == "type3" else flags
    assert parse_structure(din_structure(din, flags)) == DinScan(din, flags)
    assert din_from_scan_or_entry(din_structure(din, flags)) == (din, flags)


@pytest.mark.parametrize("flags", ["0", "000", "I0", "0O", "Q1", "Z1", "!1", "-1"])
def test_din_structure_refuses_unusable_flags(flags: str) -> None:
    error = _error(din_structure, parse_din("G123417654321"), flags)
    assert error.field == "product.din"
    assert "flag characters" in error.message


def test_din_structure_refuses_type3_flags_of_another_din() -> None:
    error = _error(din_structure, parse_din("G123417654321"), "71")
    assert "71" in error.message and "70" in error.message


def test_scanned_din_with_wrong_type3_flags_is_a_misread() -> None:
    error = _error(parse_structure, "=G12341765432171")
    assert error.field == "scan"
    assert "needs 70" in error.message


@pytest.mark.parametrize("scanned", [
    "=G12341765432100",
    "=G12341765432100\r\n",
    "=G12341765432100\n",
    "]C0=G12341765432100",
    "]C0=G12341765432100\r\n",
    "]c0=g12341765432100\r",
])
def test_scanner_prefixes_and_line_ends_are_removed(scanned: str) -> None:
    assert parse_structure(scanned) == DinScan(Din("G1234", "17", "654321"), "00")
    assert din_from_scan_or_entry(scanned) == (Din("G1234", "17", "654321"), "00")


@pytest.mark.parametrize(("scanned", "words"), [
    ("=G1234176543210", ["16 characters", "15"]),
    ("=G1234176543210012", ["16 characters", "18"]),
    ("=O12341765432100", ["letter O"]),
    ("=G12A41765432100", ["Character 4", "'A'"]),
    ("=G1234176543210\t0", ["'?'"]),
])
def test_din_scan_errors(scanned: str, words: list[str]) -> None:
    error = _error(parse_structure, scanned)
    assert error.field == "scan"
    for word in words:
        assert word in error.message


# --------------------------------------------------------------------------------------------
# A DIN field: scan or typing


def test_din_field_takes_typed_dins_with_default_flags() -> None:
    din = Din("G1234", "17", "654321")
    assert din_from_scan_or_entry("G123417654321") == (din, "00")
    assert din_from_scan_or_entry("G1234 17 654321 A") == (din, "00")
    assert din_from_scan_or_entry("]C0=G12341765432170\r\n") == (din, "70")


@pytest.mark.parametrize(("scanned", "name"), [
    ("=<S1234V00", "product code"),
    ("&>0263271400", "expiry"),
    ("=%6200", "blood group"),
])
def test_din_field_names_the_wrong_barcode(scanned: str, name: str) -> None:
    error = _error(din_from_scan_or_entry, scanned + "\r\n", field="product.din")
    assert error.field == "product.din"
    assert name in error.message
    assert "DIN" in error.message


def test_din_field_errors_use_its_field() -> None:
    assert _error(din_from_scan_or_entry, "G123417654321B").field == "product.din"
    assert _error(din_from_scan_or_entry, "=G1234", field="x.din").field == "x.din"
    assert "'B' does not match" in _error(din_from_scan_or_entry, "G123417654321B").message


# --------------------------------------------------------------------------------------------
# Product code


def test_product_code_structure_example() -> None:
    assert product_code_structure("S1234", "V") == "=<S1234V00"
    assert product_code_structure(" s1234 ", "V", "A0") == "=<S1234VA0"
    assert parse_structure("=<S1234V00") == ProductCodeScan("S1234", "V", "00")


def test_product_code_keeps_case_of_donation_type_and_division() -> None:
    # 'R' is volunteer research, 'r' paid research; 'Aa' is a sub-division of division A.
    assert product_code_structure("E0001", "r", "Aa") == "=<E0001rAa"
    assert parse_structure("=<E0001rAa") == ProductCodeScan("E0001", "r", "Aa")
    assert parse_structure("=<E0001RAa") == ProductCodeScan("E0001", "R", "Aa")


def test_clinical_trial_codes_have_a_letter_in_second_place() -> None:
    assert product_code_structure("YA123", "V") == "=<YA123V00"
    assert parse_structure("=<YA123V00") == ProductCodeScan("YA123", "V", "00")


product_parts = st.tuples(
    st.sampled_from(string.ascii_uppercase),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=4, max_size=4),
    st.sampled_from(string.ascii_letters + string.digits),
    st.sampled_from(string.ascii_uppercase + string.digits),
    st.sampled_from(string.ascii_lowercase + string.digits),
)


@given(product_parts)
def test_product_code_round_trips(parts: tuple[str, str, str, str, str]) -> None:
    letter, rest, kind, d, s = parts
    text = product_code_structure(letter + rest, kind, d + s)
    assert parse_structure(text) == ProductCodeScan(letter + rest, kind, d + s)


@pytest.mark.parametrize(("args", "words"), [
    (("S123", "V"), ["'S123'", "4 characters", "5"]),
    (("11234", "V"), ["start with a capital letter", "'1'"]),
    (("S12-4", "V"), ["Character 4", "'-'"]),
    (("S1234", "VV"), ["type of donation", "'VV'"]),
    (("S1234", ""), ["type of donation"]),
    (("S1234", "#"), ["type of donation", "'#'"]),
    (("S1234", "V", "aA"), ["division", "'aA'"]),
    (("S1234", "V", "0"), ["division", "'0'"]),
    (("S1234", "V", "AB"), ["division", "'AB'"]),
])
def test_product_code_errors(args: tuple[str, ...], words: list[str]) -> None:
    error = _error(product_code_structure, *args)
    assert error.field == "product.product_code"
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(("scanned", "words"), [
    ("=<S1234V0", ["10 characters", "9"]),
    ("=<s1234V00", ["capital letter", "'s'"]),
    ("=<S1234V0A", ["division", "'0A'"]),
])
def test_product_code_scan_errors(scanned: str, words: list[str]) -> None:
    error = _error(parse_structure, scanned, field="scan.product")
    assert error.field == "scan.product"
    for word in words:
        assert word in error.message


# --------------------------------------------------------------------------------------------
# Expiration date and time


def test_expiration_example_from_label() -> None:
    expiry = datetime(2026, 11, 23, 14, 0, tzinfo=PST)
    assert expiration_structure(expiry) == "&>0263271400"
    scan = parse_structure("&>0263271400")
    assert scan == ExpirationScan(2026, 327, 14, 0)
    assert isinstance(scan, ExpirationScan)
    assert scan.to_naive_datetime() == datetime(2026, 11, 23, 14, 0)


def test_expiration_uses_the_wall_clock_of_its_own_zone() -> None:
    same_instant_utc = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert expiration_structure(same_instant_utc) == "&>0263272200"


def test_expiration_leap_year_day_366() -> None:
    expiry = datetime(2028, 12, 31, 23, 59, tzinfo=UTC)
    assert expiration_structure(expiry) == "&>0283662359"
    scan = parse_structure("&>0283662359")
    assert scan == ExpirationScan(2028, 366, 23, 59)
    assert isinstance(scan, ExpirationScan)
    assert scan.to_naive_datetime() == datetime(2028, 12, 31, 23, 59)


def test_expiration_first_day_and_midnight() -> None:
    assert expiration_structure(datetime(2030, 1, 1, 0, 0, tzinfo=PST)) == "&>0300010000"


def test_expiration_drops_seconds_so_expiry_is_never_later() -> None:
    expiry = datetime(2026, 11, 23, 14, 0, 59, 999999, tzinfo=PST)
    assert expiration_structure(expiry) == "&>0263271400"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59),
                    timezones=st.sampled_from([UTC, PST,
                                               timezone(timedelta(hours=5, minutes=30))])))
def test_expiration_round_trips(expiry: datetime) -> None:
    scan = parse_structure(expiration_structure(expiry))
    assert isinstance(scan, ExpirationScan)
    assert scan.to_naive_datetime() == expiry.replace(tzinfo=None, second=0, microsecond=0)
    assert scan.year == expiry.year


def test_expiration_needs_a_time_zone() -> None:
    error = _error(expiration_structure, datetime(2026, 11, 23, 14, 0))
    assert error.field == "product.expiry"
    assert "time zone" in error.message


def test_expiration_year_must_fit() -> None:
    error = _error(expiration_structure, datetime(1999, 12, 31, tzinfo=UTC),
                   field="label.expiry")
    assert error.field == "label.expiry"
    assert "1999" in error.message


@pytest.mark.parametrize(("scanned", "words"), [
    ("&>0260001400", ["day 000", "001"]),
    ("&>0263661400", ["day 366", "2026", "365 days"]),
    ("&>0283671400", ["day 367", "2028", "366 days"]),
    ("&>0263272400", ["hour 24", "00 to 23"]),
    ("&>0263271460", ["minute 60", "00 to 59"]),
    ("&>026327140", ["10 digits"]),
    ("&>02632714A0", ["10 digits"]),
])
def test_expiration_scan_errors(scanned: str, words: list[str]) -> None:
    error = _error(parse_structure, scanned)
    assert error.field == "scan"
    for word in words:
        assert word in error.message


# --------------------------------------------------------------------------------------------
# ABO/RhD


@pytest.mark.parametrize(("abo", "rh", "code"), [
    ("O", "NEG", "95"), ("O", "POS", "51"),
    ("A", "NEG", "06"), ("A", "POS", "62"),
    ("B", "NEG", "17"), ("B", "POS", "73"),
    ("AB", "NEG", "28"), ("AB", "POS", "84"),
])
def test_abo_rh_codes(abo: str, rh: str, code: str) -> None:
    assert abo_rh_structure(abo, rh) == f"=%{code}00"
    assert parse_structure(f"=%{code}00") == AboRhScan(abo, rh, "0")  # type: ignore[arg-type]


def test_abo_rh_table_is_complete_and_unambiguous() -> None:
    assert len(ABO_RH_CODES) == 8
    assert len(set(ABO_RH_CODES.values())) == 8


@pytest.mark.parametrize("rh", ["POS", "pos", "+", "positive", "Positive", "Rh+", "RhD pos",
                                "rhd positive"])
def test_rh_positive_spellings(rh: str) -> None:
    assert abo_rh_structure("a", rh) == "=%6200"


@pytest.mark.parametrize("rh", ["NEG", "neg", "-", "−", "negative", "Rh-", "RhD neg"])
def test_rh_negative_spellings(rh: str) -> None:
    assert abo_rh_structure(" ab ", rh) == "=%2800"


@pytest.mark.parametrize(("text", "expected"), [
    ("A POS", ("A", "POS")), ("O-", ("O", "NEG")), ("ab rh+", ("AB", "POS")),
    ("B negative", ("B", "NEG")), ("  O  RhD  positive ", ("O", "POS")),
])
def test_parse_abo_rh(text: str, expected: tuple[str, str]) -> None:
    assert parse_abo_rh(text) == expected


@pytest.mark.parametrize(("args", "words"), [
    (("C", "POS"), ["'C'", "O, A, B or AB"]),
    (("0", "POS"), ["zero", "letter O"]),
    (("", "POS"), ["Enter the ABO group"]),
    (("A", "maybe"), ["'maybe'", "POS or NEG"]),
    (("A", ""), ["Enter the RhD type"]),
])
def test_abo_rh_errors(args: tuple[str, str], words: list[str]) -> None:
    error = _error(abo_rh_structure, *args)
    assert error.field == "product.abo_rh"
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(("text", "words"), [
    ("", ["Enter the ABO group"]),
    ("AB", ["RhD"]),
    ("0 POS", ["letter O"]),
    ("A weak", ["'WEAK'"]),
])
def test_parse_abo_rh_errors(text: str, words: list[str]) -> None:
    error = _error(parse_abo_rh, text)
    assert error.field == "product.abo_rh"
    for word in words:
        assert word in error.message


def test_abo_scan_keeps_phenotype_code() -> None:
    assert parse_structure("=%51E0") == AboRhScan("O", "POS", "E")


@pytest.mark.parametrize(("scanned", "words"), [
    ("=%55", ["6 characters", "4"]),
    ("=%5500", ["'55'", "label text"]),  # group O, RhD not specified: not handled here
    ("=%9100", ["'91'"]),  # O RhD negative, directed donation
    ("=%Md00", ["'Md'"]),  # special message: discard
    ("=%51a0", ["Character 5", "'a'"]),
    ("=%5101", ["end in 0", "'1'"]),
])
def test_abo_scan_errors(scanned: str, words: list[str]) -> None:
    error = _error(parse_structure, scanned)
    assert error.field == "scan"
    for word in words:
        assert word in error.message


# --------------------------------------------------------------------------------------------
# Scans in general


@pytest.mark.parametrize("scanned", [
    "hello",
    "&(12345",
    "=>026327",
    "=",
    "12345",
    "]C0",
])
def test_unknown_scans_say_what_was_expected(scanned: str) -> None:
    error = _error(parse_structure, scanned, field="scan.label")
    assert error.field == "scan.label"
    assert ("not an ISBT 128 DIN, product code, expiry or blood group barcode" in error.message
            or "Nothing was scanned" in error.message)


def test_empty_scan() -> None:
    error = _error(parse_structure, "\r\n")
    assert error.field == "scan"
    assert "Nothing was scanned" in error.message


def test_unknown_scan_shows_what_was_read() -> None:
    assert "'&(12345'" in _error(parse_structure, "]C0&(12345\r\n").message


def test_non_ascii_in_a_scan_points_at_the_scanner() -> None:
    error = _error(parse_structure, "=G1234176543210ß")
    assert "'ß'" in error.message
    assert "keyboard language" in error.message

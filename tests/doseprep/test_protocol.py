"""Loading and checking the protocol and lab settings files."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseprep.errors import SettingsError
from doseprep.protocol import default_lab_path, load_lab, load_protocol, protocol_path
from doseprep.resources import resource_path

BUNDLED = resource_path("protocols", "hmct-blinatumomab.toml")


def test_bundled_protocol_has_the_design_defaults() -> None:
    p = load_protocol("hmct-blinatumomab")
    assert [(d.name, d.dose.magnitude) for d in p.dose_levels] == [
        ("DL1", 1e5), ("DL2", 5e5), ("DL3", 1e6), ("DL4", 5e6), ("DL5", 1e7)]
    assert p.cycles == ((1, 1), (2, 2))
    assert p.tolerance_percent == 10
    assert p.final_volume.magnitude == 50
    assert p.min_viability_percent == 70
    assert p.max_product_age.total_seconds() == 72 * 3600
    assert p.infusion_expiry.total_seconds() == 4 * 3600
    assert p.max_volume_per_kg.magnitude == 10
    assert p.approved is False and p.author_approved is False
    assert len(p.fingerprint) == 64


def test_bundled_lab_has_the_design_defaults() -> None:
    lab = load_lab()
    assert [(s.capacity.magnitude, s.graduation.magnitude) for s in lab.syringes] == [
        (1, 0.01), (3, 0.1), (5, 0.2), (10, 0.2), (20, 1), (30, 1), (60, 1)]
    assert lab.min_measurable.magnitude == 0.5
    assert lab.qc_reserve.magnitude == 2
    assert lab.specific_gravity.magnitude == 1.03
    assert lab.dilution_factors == (10, 100)
    assert lab.dilution_aliquot.magnitude == 1.0


def test_fingerprint_ignores_comments_but_not_values(tmp_path: Path) -> None:
    original = BUNDLED.read_text(encoding="utf-8")
    commented = tmp_path / "commented.toml"
    commented.write_text("# a new comment\n\n" + original, encoding="utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(original.replace("DL3 = 1.0e6", "DL3 = 2.0e6"), encoding="utf-8")
    base = load_protocol(BUNDLED).fingerprint
    assert load_protocol(commented).fingerprint == base
    assert load_protocol(changed).fingerprint != base


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(BUNDLED.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ("tolerance_percent = 10", "tolerance_percent = -5", "tolerance_percent", "at least 0"),
    ("tolerance_percent = 10", "", "tolerance_percent", "missing"),
    ("DL2 = 5.0e5", 'DL2 = "lots"', "dose_levels.DL2", "must be a number"),
    ("DL2 = 5.0e5", "DL2 = 0", "dose_levels.DL2", "greater than 0"),
    ("\napproved = false", '\napproved = "no"', "approved", "true or false"),
    ("\n1 = 1", "\n1 = 0", "cycles.1", "number of infusions"),
    ("schema_version = 1", "schema_version = 7", "schema_version", "newer doseprep"),
    ("final_volume_mL = 50", "final_volume_mL = inf", "final_volume_mL", "finite"),
])
def test_bad_protocol_names_file_and_key(tmp_path: Path, old: str, new: str, key: str,
                                         words: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(SettingsError) as info:
        load_protocol(path)
    assert info.value.source == str(path)
    assert info.value.key == key
    assert words in info.value.message
    assert str(path) in str(info.value) and key in str(info.value)


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = _broken(tmp_path, "[cycles]", "[cycles")
    with pytest.raises(SettingsError) as info:
        load_protocol(path)
    assert "not valid TOML" in info.value.message and info.value.source == str(path)


def test_unknown_protocol_id_lists_the_bundled_ones() -> None:
    with pytest.raises(SettingsError) as info:
        protocol_path("no-such-protocol")
    assert "hmct-blinatumomab" in info.value.message


def test_missing_protocol_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="file not found"):
        load_protocol(tmp_path / "nothing.toml")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("dilution_factors = [10, 100]", "dilution_factors = [100, 10]", "dilution_factors"),
    ("dilution_factors = [10, 100]", "dilution_factors = [1]", "dilution_factors"),
    ("3 = 0.1", "3 = -0.1", "syringes.3"),
    ("3 = 0.1", "3 = 5", "syringes.3"),
    ("qc_reserve_mL = 2", "qc_reserve_mL = -2", "qc_reserve_mL"),
    ("min_measurable_mL = 0.5", "", "min_measurable_mL"),
    ('fin = "G1234"', 'fin = "O1234"', "facility.fin"),
    ('product_description_code = "S1234"', 'product_description_code = "S12"',
     "facility.product_description_code"),
])
def test_bad_lab_settings_name_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(default_lab_path().read_text(encoding="utf-8").replace(old, new, 1),
                    encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_lab(path)
    assert (info.value.source, info.value.key) == (str(path), key)

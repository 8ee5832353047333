"""Lab and protocol files are checked when loaded: a careless settings author gets an error naming
the file and the key, never a plan that silently uses the wrong value (issue 8, item 6).

Each case below once gave a wrong plan or an internal error (exit 70): two dose levels differing
only in case (the first silently won), a dilution aliquot below the smallest measurable volume
("dilute 0.1 mL + 0.9 mL … draw 4.80 mL of the dilution"), a syringe called "nan",
``infusion_expiry_hours = 1e9``, a misspelt key falling back to its default.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.errors import InputError, SettingsError
from doseprep.plans.fresh import plan
from doseprep.protocol import (
    LAB_KEYS,
    PROTOCOL_KEYS,
    default_lab_path,
    load_lab,
    load_protocol,
    protocol_path,
)
from doseprep.request import parse_request
from tests.conftest import load_case

LAB_TEXT = default_lab_path().read_text(encoding="utf-8")
PROTOCOL_TEXT = protocol_path("hmct-blinatumomab").read_text(encoding="utf-8")
REQUEST = load_case("v01-basic-dl3")["request"]


def edited(tmp_path: Path, text: str, old: str, new: str, name: str = "settings.toml") -> Path:
    assert re.search(old, text, flags=re.M), old
    path = tmp_path / name
    path.write_text(re.sub(old, new, text, count=1, flags=re.M), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    (r"^DL3 = 1.0e6$", "DL3 = 1.0e6\ndl3 = 1.0e5", "dose_levels.dl3", "same dose level"),
    (r"^infusion_expiry_hours = 4", "infusion_expiry_hours = 1e9", "infusion_expiry_hours",
     "at most 72"),
    (r"^max_product_age_hours = 72", "max_product_age_hours = 1e300", "max_product_age_hours",
     "at most"),
    (r"^tolerance_percent = 10", "tolerance_percent = nan", "tolerance_percent", "finite"),
    (r"^tolerance_percent = 10", "tolerance_percent = 10\ntolerence_percent = 5",
     "tolerence_percent", "Did you mean tolerance_percent"),
    (r"^DL1 = 1.0e5$", "DL1 = 1e300", "dose_levels.DL1", "at most"),
    (r"^1 = 1$", "1 = 1\n999 = 1", "cycles.999", "1 to 100"),
])
def test_bad_protocol_values_name_the_key(tmp_path: Path, old: str, new: str, key: str,
                                          words: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_protocol(edited(tmp_path, PROTOCOL_TEXT, old, new))
    assert info.value.key == key and words in info.value.message, info.value


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    (r"^dilution_aliquot_mL = 1.0", "dilution_aliquot_mL = 0.1", "dilution_aliquot_mL",
     "at least min_measurable_mL"),
    (r"^1 = 0.01$", "nan = 0.01", "syringes.nan", "above 0"),
    (r"^1 = 0.01$", "inf = 0.01", "syringes.inf", "above 0"),
    (r"^3 = 0.1$", "3 = 0.07", "syringes.3", "whole steps"),
    (r"^qc_reserve_mL = 2", "qc_reserv_mL = 2", "qc_reserv_mL", "Did you mean qc_reserve_mL"),
    (r'^time_zone = .*$', 'time_zone = "Pacific Time"', "time_zone", "IANA"),
    (r'^time_zone = .*$', "", "time_zone", "missing"),
    (r"^specific_gravity = 1.03", "specific_gravity = 10.3", "specific_gravity", "at most 2"),
    (r"^dilution_factors = \[10, 100\]", "dilution_factors = [10, 1e9]", "dilution_factors",
     "whole numbers"),
    (r"^cd3_percent_min = 5", "cd3_percent_min = 500", "plausible.cd3_percent_min", "at most"),
    (r"^wbc_per_mL_max = 1e9", "wbc_per_mL_max = 1e5", "plausible.wbc_per_mL_max",
     "above plausible.wbc_per_mL_min"),
    (r"^weight_kg_min = 1", "weight_kg_mn = 1", "plausible.weight_kg_mn",
     "Did you mean weight_kg_min"),
])
def test_bad_lab_values_name_the_key(tmp_path: Path, old: str, new: str, key: str,
                                     words: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_lab(edited(tmp_path, LAB_TEXT, old, new))
    assert info.value.key == key and words in info.value.message, info.value


def test_the_bundled_files_carry_the_zone_and_the_plausible_ranges() -> None:
    lab = load_lab()
    assert lab.time_zone == "America/Los_Angeles"
    assert (lab.plausible.cd3_percent_min, lab.plausible.wbc_per_ml_min,
            lab.plausible.wbc_per_ml_max, lab.plausible.weight_kg_min) == (5, 1e6, 1e9, 1)


@pytest.mark.parametrize(("which", "old", "new"), [
    ("lab", r"^dilution_aliquot_mL = 1.0", "dilution_aliquot_mL = 0.1"),
    ("lab", r"^1 = 0.01$", "nan = 0.01"),
    ("protocol", r"^infusion_expiry_hours = 4", "infusion_expiry_hours = 1e9"),
    ("protocol", r"^DL3 = 1.0e6$", "DL3 = 1.0e6\ndl3 = 1.0e5"),
])
def test_the_command_exits_2_naming_the_setting(tmp_path: Path, which: str, old: str,
                                                new: str) -> None:
    text = LAB_TEXT if which == "lab" else PROTOCOL_TEXT
    settings_file = edited(tmp_path, text, old, new, f"{which}.toml")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", "plan", str(request), "--json",
                           f"--{which}", str(settings_file)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert str(settings_file) in done.stderr and "Traceback" not in done.stderr


# --- random values for every key -----------------------------------------------------------------

VALUES = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30), st.floats(), st.booleans(),
    st.text(max_size=20), st.lists(st.integers(-5, 200), max_size=4),
    st.dictionaries(st.sampled_from(["1", "3", "nan", "DL1", "x", "0"]),
                    st.one_of(st.floats(), st.integers(-5, 100), st.text(max_size=3)),
                    max_size=3),
)
LAB_DATA = tomllib.loads(LAB_TEXT)
PROTOCOL_DATA = tomllib.loads(PROTOCOL_TEXT)


def _plan_or_input_error(lab_data: dict, protocol_data: dict, tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    protocol_file = tmp_path / "protocol.toml"
    lab_file.write_text(tomli_w.dumps(lab_data), encoding="utf-8")
    protocol_file.write_text(tomli_w.dumps(protocol_data), encoding="utf-8")
    try:
        lab = load_lab(lab_file)
        protocol = load_protocol(protocol_file)
        request = parse_request(REQUEST, zone=lab.time_zone)
        result = plan(request, protocol, lab)
    except (SettingsError, InputError):
        return
    assert result.status in ("ok", "warning", "blocked")


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(LAB_KEYS - {"cryo", "schema_version"})), value=VALUES)
def test_random_lab_values_load_or_are_refused(tmp_path: Path, key: str, value) -> None:
    data = dict(LAB_DATA)
    data[key] = value
    _plan_or_input_error(data, PROTOCOL_DATA, tmp_path)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(PROTOCOL_KEYS - {"schema_version"})), value=VALUES)
def test_random_protocol_values_load_or_are_refused(tmp_path: Path, key: str, value) -> None:
    data = dict(PROTOCOL_DATA)
    data[key] = value
    _plan_or_input_error(LAB_DATA, data, tmp_path)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["syringes", "plausible", "facility"]),
       inner=st.sampled_from(["1", "3", "60", "cd3_percent_min", "wbc_per_mL_min",
                              "weight_kg_min", "fin"]), value=VALUES)
def test_random_values_inside_lab_tables_load_or_are_refused(tmp_path: Path, key: str,
                                                             inner: str, value) -> None:
    data = json.loads(json.dumps(LAB_DATA))
    data[key][inner] = value
    _plan_or_input_error(data, PROTOCOL_DATA, tmp_path)

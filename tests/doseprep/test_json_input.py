"""Every JSON document doseprep reads goes through one reader (doseprep/jsonread.py), so that
nothing typed in it is silently dropped or rounded (issue 21, DESIGN.md "Revision 3", "Exact
input").

The red team's case: ``"sample_dilution": 10, "sample_dilution": 1`` in one object was accepted,
the last winning (a 10× dose).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from doseprep import drafts
from doseprep.errors import InputError
from doseprep.jsonread import JsonInputError, load_json, load_stored
from tests.conftest import ROOT, load_case
from tests.doseprep.inprocess import run_main

FRESH = load_case("v01-basic-dl3")["request"]
CRYO = Path(__file__).parents[1] / "reference_cases" / "cryo"
FREEZE = json.loads((CRYO / "c01-freeze-two-aliquots-dl3-dl4.json").read_text("utf-8"))["request"]
THAW = json.loads((CRYO / "c03-thaw-b0-with-post-thaw-count.json").read_text("utf-8"))["request"]
COMMANDS = {"plan": FRESH, "freeze": FREEZE, "thaw": THAW}


def write(tmp_path: Path, text: str, name: str = "request.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(*args: str, field: str) -> str:
    """Run the command; it must exit 2 naming ``field`` (and with --json say so), no traceback."""
    done = run_main(*args)
    assert done.code == 2, (done.code, done.err)
    assert "Traceback" not in done.err and "internal error" not in done.err
    assert done.err.startswith(f"doseprep: {field}: "), done.err
    if "--json" in args:
        assert json.loads(done.out)["error"]["field"] == field
    return done.err


# --- repeated keys ------------------------------------------------------------------------------

def with_repeated_key(request: dict, section: str, key: str, first) -> str:
    """The request as JSON text with ``key`` of ``section`` given twice: ``first``, then the
    request's own value (the one a plain JSON reader would keep)."""
    text = json.dumps(request)
    own = json.dumps(request[section][key])
    needle = f'"{key}": {own}'
    assert text.count(needle) == 1
    return text.replace(needle, f'"{key}": {json.dumps(first)}, {needle}')


@pytest.mark.parametrize(("command", "section", "key"), [
    ("plan", "product", "sample_dilution"),
    ("plan", "patient", "weight"),
    ("freeze", "product", "cd3_percent"),
    ("thaw", "aliquot", "final_dmso_percent"),
    ("thaw", "post_thaw", "sample_volume"),
])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_key_given_twice_is_refused_by_its_path(tmp_path: Path, command: str, section: str,
                                                  key: str, as_json: bool) -> None:
    request = COMMANDS[command]
    path = write(tmp_path, with_repeated_key(request, section, key, 10))
    err = refused(command, str(path), *(["--json"] if as_json else []), field=f"{section}.{key}")
    assert f'The key "{key}" appears twice in this object; keep one.' in err


def test_the_red_teams_tenfold_dilution_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_repeated_key(FRESH, "product", "sample_dilution", 10))
    assert '"sample_dilution": 10, "sample_dilution": 1' in path.read_text()
    refused("plan", str(path), field="product.sample_dilution")


def test_a_repeated_key_in_a_list_or_at_the_top_is_named_by_its_path() -> None:
    text = json.dumps(FREEZE).replace('"infusion": 2', '"infusion": 2, "infusion": 1')
    with pytest.raises(InputError) as info:
        load_json(text)
    assert info.value.field == "aliquots[1].infusion"
    with pytest.raises(InputError) as info:
        load_json('{"kind": "thaw", "kind": "freeze"}')
    assert info.value.field == "kind"
    with pytest.raises(InputError) as info:
        load_json('{"product": {"din": "=G12341765432100", "din": "x"}}', prefix="reentry.")
    assert info.value.field == "reentry.product.din"


def test_the_reader_is_exact_and_refuses_nothing_else() -> None:
    data = load_json('{"a": 4.99999999999999999999, "b": 1e400, "c": NaN, "d": 7, "e": "x"}')
    assert data == {"a": Decimal("4.99999999999999999999"), "b": Decimal("1e400"),
                    "c": data["c"], "d": 7, "e": "x"}
    assert data["c"].is_nan()
    assert isinstance(load_json("[" + "9" * 5000 + "]")[0], Decimal)  # int() would refuse it
    stored = load_stored('{"a": 0.1}')
    assert stored == {"a": 0.1} and isinstance(stored["a"], float)
    with pytest.raises(JsonInputError) as info:
        load_stored('{"a": 1, "a": 1}')
    assert isinstance(info.value, ValueError)  # what the integrity checks catch


@pytest.mark.parametrize(("token", "field"), [
    ("NaN", "product.cd3_percent"), ("Infinity", "product.cd3_percent"),
    ("-Infinity", "product.cd3_percent"), ("1e999", "product.cd3_percent"),
    ("9" * 5000, "product.cd3_percent"),
])
def test_numbers_json_should_not_hold_name_their_field(tmp_path: Path, token: str,
                                                       field: str) -> None:
    text = json.dumps(FRESH).replace('"cd3_percent": 40', f'"cd3_percent": {token}')
    refused("plan", str(write(tmp_path, text)), field=field)


def test_a_json_number_just_below_the_plausible_floor_blocks(tmp_path: Path) -> None:
    text = json.dumps(FRESH).replace('"cd3_percent": 40', '"cd3_percent": 4.99999999999999999999')
    done = run_main("plan", str(write(tmp_path, text)), "--json")
    assert done.code == 0, done.err
    plan = json.loads(done.out)
    assert plan["status"] == "blocked"
    assert "IMPLAUSIBLE_INPUT" in [f["code"] for f in plan["findings"]]


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize(("old", "new", "field"), [
    ('"DOE, JANE"', '"DOE, \\ud800JANE"', "patient.name"),
    ('"hmct-blinatumomab"', '"' + "a" * 100 + '\\udfff"', "protocol"),
    ('"weight": "70 kg"', '"weight": "70 kg", "\\udc00": 1', "patient.\\udc00"),
])
def test_text_that_is_not_text_is_refused_by_its_path(tmp_path: Path, old: str, new: str,
                                                      field: str, as_json: bool) -> None:
    """An unpaired surrogate (JSON's \\ud800 escape) can be neither printed nor hashed: it
    crashed the report, the worksheet's content hash and the protocol check with exit 70."""
    text = json.dumps(FRESH).replace(old, new)
    assert text != json.dumps(FRESH)
    for command in ("plan", "worksheet"):
        args = (command, str(write(tmp_path, text)), *(["-o", str(tmp_path / "w.pdf")]
                                                          if command == "worksheet" else []))
        err = refused(*args, *(["--json"] if as_json and command == "plan" else []),
                      field=field)
        assert "not text" in err


@pytest.mark.parametrize(("text", "words"), [
    ("{not json", "is not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("", "is not valid JSON"),
])
def test_unreadable_documents_are_one_line_naming_the_file(tmp_path: Path, text: str,
                                                          words: str) -> None:
    path = write(tmp_path, text)
    assert words in refused("plan", str(path), field="request")


def test_a_draft_with_a_repeated_key_is_set_aside_not_half_read(tmp_path: Path) -> None:
    drafts.save({"patient.weight": "70 kg"}, name="form")
    path = drafts.draft_path("form")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"patient.weight": "70 kg"',
                                 '"patient.weight": "7 kg", "patient.weight": "70 kg"'),
                    encoding="utf-8")
    assert drafts.load("form") is None
    assert list(path.parent.glob("form.unreadable-*.json"))


def test_every_json_read_goes_through_the_one_reader() -> None:
    """No module of the program reads JSON any other way (json.loads keeps the last of two
    equal keys and reads decimals through floats)."""
    offenders = []
    for folder in (ROOT / "doseprep", ROOT / "ui"):
        for path in folder.rglob("*.py"):
            if path.name == "jsonread.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"\bjson\.loads?\(|\bfrom json import .*\bloads?\b", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

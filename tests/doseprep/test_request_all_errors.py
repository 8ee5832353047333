"""A request is checked whole (issue 11): every wrong field is named at once, in the order of the
request, with what did parse — for the command line, which prints a line per field, and for the
window, which marks each field and notes the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doseprep.cli import main
from doseprep.errors import InputError, InvalidRequestError
from doseprep.protocol import load_protocol
from doseprep.request import parse_request


def broken(base_request: dict) -> dict:
    request = json.loads(json.dumps(base_request))
    request["order"]["dose_level"] = "DL9"
    request["patient"]["weight"] = "70 kgg"
    request["product"]["cd3_percent"] = 140
    request["product"]["din"] = "G12341765432"  # a digit short
    return request


def test_every_wrong_field_is_named_with_what_did_parse(base_request: dict) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(broken(base_request), protocol=load_protocol("hmct-blinatumomab"))
    fields = [e.field for e in info.value.errors]
    assert fields == ["order.dose_level", "patient.weight", "product.din",
                      "product.cd3_percent"]
    assert isinstance(info.value, InputError) and info.value.field == "order.dose_level"
    parsed = info.value.parsed
    assert parsed["patient.birth_date"].isoformat() == base_request["patient"]["birth_date"]
    assert parsed["product.viability_percent"] == 98
    assert "patient.weight" not in parsed and "product.cd3_percent" not in parsed


def test_without_the_protocol_the_order_is_left_to_the_plan(base_request: dict) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(broken(base_request))
    assert "order.dose_level" not in [e.field for e in info.value.errors]


def test_one_wrong_field_is_still_one_error(base_request: dict) -> None:
    request = json.loads(json.dumps(base_request))
    request["product"]["wbc"] = "lots"
    with pytest.raises(InputError) as info:
        parse_request(request)
    assert info.value.field == "product.wbc"
    assert [e.field for e in info.value.errors] == ["product.wbc"]


def test_the_command_line_prints_a_line_per_field(base_request: dict, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(broken(base_request)), encoding="utf-8")
    fields = ["order.dose_level", "patient.weight", "product.din", "product.cd3_percent"]
    assert main(["plan", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == fields
    # With --json every error is in the JSON; standard error keeps one line naming the others.
    assert main(["plan", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["error"]["field"] == "order.dose_level"
    assert [e["field"] for e in out["errors"]] == fields
    assert len(captured.err.splitlines()) == 1
    assert "also wrong: patient.weight, product.din, product.cd3_percent" in captured.err

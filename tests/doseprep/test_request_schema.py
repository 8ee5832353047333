"""The published request schema (docs/request.schema.json) and the parser agree.

The schema is what a lab's other systems read to produce requests; the parser is what doseprep
enforces. Both list the same keys, the same required keys and the same confirmable fields, every
reference request validates, and a misspelt key fails both.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from doseprep.errors import InputError
from doseprep.request import CONFIRMABLE, KNOWN_KEYS, parse_request
from tests.conftest import load_case, reference_cases

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "request.schema.json")
                    .read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_and_the_parser_know_the_same_keys() -> None:
    assert set(SCHEMA["properties"]) == set(KNOWN_KEYS[""])
    for section in ("order", "patient", "product"):
        assert set(SCHEMA["properties"][section]["properties"]) == set(KNOWN_KEYS[section])
        assert SCHEMA["properties"][section]["additionalProperties"] is False
    assert set(SCHEMA["properties"]["confirmations"]["properties"]) == set(CONFIRMABLE)


@pytest.mark.parametrize("path", reference_cases(), ids=lambda p: p.stem)
def test_every_reference_request_validates(path: Path) -> None:
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8"))["request"], SCHEMA)


def test_the_bundled_example_validates() -> None:
    example = Path(__file__).parents[2] / "resources" / "examples" / "request-dl3.json"
    jsonschema.validate(json.loads(example.read_text(encoding="utf-8")), SCHEMA)


@pytest.mark.parametrize(("section", "key"), [("product", "sample_dillution"),
                                              ("patient", "weigth"), ("", "prepared")])
def test_a_misspelt_key_fails_the_schema_and_the_parser(section: str, key: str) -> None:
    data = copy.deepcopy(load_case("v01-basic-dl3")["request"])
    (data[section] if section else data)[key] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(InputError):
        parse_request(data)


def test_a_request_without_sample_dilution_fails_both() -> None:
    data = copy.deepcopy(load_case("v01-basic-dl3")["request"])
    del data["product"]["sample_dilution"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(InputError):
        parse_request(data)

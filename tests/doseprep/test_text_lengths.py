"""Every text field is length-checked before it is used (issue 21, DESIGN.md "Revision 3",
"Exact input"): too long, or holding what no such field holds, is an input error naming the field,
exit 2 — never a crash.

The red team's case: a 300-character ``protocol`` crashed plan, freeze and thaw with exit 70 (the
program looked for a file of that name before checking it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.doseprep.inprocess import run_main
from tests.doseprep.test_json_input import COMMANDS, refused, write


@pytest.mark.parametrize("command", ["plan", "freeze", "thaw"])
@pytest.mark.parametrize("protocol", ["x" * 300, "a/" + "b" * 300 + ".toml", "x\u0000y",
                                      "p" * 5000, "line\nbreak"])
def test_an_overlong_or_garbled_protocol_is_an_input_error(tmp_path: Path, command: str,
                                                           protocol: str) -> None:
    request = copy.deepcopy(COMMANDS[command])
    request["protocol"] = protocol
    err = refused(command, str(write(tmp_path, json.dumps(request))), "--json",
                  field="protocol")
    assert "protocol" in err


def test_the_abo_rh_is_length_checked(tmp_path: Path) -> None:
    request = copy.deepcopy(COMMANDS["plan"])
    request["product"]["abo_rh"] = "A POS " * 1000
    refused("plan", str(write(tmp_path, json.dumps(request))), field="product.abo_rh")


def _text_fields(request: dict) -> list[tuple[str, ...]]:
    out = []
    for key, value in request.items():
        if isinstance(value, dict):
            out += [(key, *inner) for inner in _text_fields(value)]
        elif isinstance(value, str) and key != "kind":
            out.append((key,))
    return out


CASES = [(command, path) for command, request in COMMANDS.items()
         for path in _text_fields(request)]


@pytest.mark.parametrize(("command", "path"), CASES, ids=[f"{c}-{'.'.join(p)}" for c, p in CASES])
@pytest.mark.parametrize("junk", ["7" * 10_000, "é" * 3000, "\u202e" * 500])
def test_every_text_field_at_any_length_is_named(tmp_path: Path, command: str,
                                                 path: tuple[str, ...], junk: str) -> None:
    request = copy.deepcopy(COMMANDS[command])
    node = request
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = junk
    done = run_main(command, str(write(tmp_path, json.dumps(request))), "--json")
    assert done.code == 2, (done.code, done.err[:300])
    assert "Traceback" not in done.err
    field = json.loads(done.out)["error"]["field"]
    assert field == ".".join(path), field
    assert len(done.err) < 2000, "the message quotes at most a little of what was typed"


@pytest.mark.parametrize(("args", "option"), [
    (("record", "list", "--din", "G" * 41, "--user", "t"), "--din"),
    (("record", "list", "--mrn", "M" * 65, "--user", "t"), "--mrn"),
    (("record", "list", "--patient", "P" * 201, "--user", "t"), "--patient"),
    (("record", "show", "PREP-" + "9" * 100, "--user", "t"), "record id"),
    (("record", "correct", "PREP-2026-000001", "r.json", "--reason", "why " * 200, "--user", "t"),
     "--reason"),
    (("inventory", "discard", "PREP-2026-000001/v1:A0", "--reason", "r" * 501, "--user", "t"),
     "--reason"),
    (("inventory", "locate", "PREP-2026-000001/v1:A0", "--location", "rack\nC", "--user", "t"),
     "--location"),
    (("thaw", "t.json", "--scan", "=G12341765432100" * 10, "=<S12352B0"), "--scan"),
    (("thaw", "t.json", "--aliquot", "PREP-2026-000001/v1:" + "B0" * 40), "--aliquot"),
    (("users", "add", "u" * 65, "--name", "U", "--role", "technician"), "user id"),
    (("record", "list", "--user", "t" * 65), "--user"),
    (("plan", "r" * 5000), "request"),
])
def test_every_text_option_is_checked_before_use(args: tuple[str, ...], option: str) -> None:
    """Before any file is read, any store opened or any password asked: exit 2 naming it."""
    done = run_main(*args, "--json") if args[0] == "plan" else run_main(*args)
    assert done.code == 2, (done.code, done.err)
    assert done.err.startswith(f"doseprep: {option}: ")
    assert "Traceback" not in done.err and len(done.err) < 400

"""Benchmarks for the cycle-2 plans (issue 12). They measure and report; they assert nothing
timed. Targets: a freeze plan of 10 aliquots under 10 ms in process; ``doseprep freeze`` as a
whole process within 1.2× ``doseprep plan``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.protocol import load_lab, load_protocol
from tests.conftest import load_case

CRYO = Path(__file__).parents[1] / "reference_cases" / "cryo"


def ten_aliquots(tmp_path: Path) -> tuple[dict, str]:
    """c01 with ten aliquots, under a copy of the protocol whose cycle 2 has ten infusions (the
    trial's has two)."""
    from doseprep.resources import resource_path

    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    protocol = tmp_path / "ten.toml"
    protocol.write_text(text.replace("\n2 = 2\n", "\n2 = 10\n"), encoding="utf-8")
    request = copy.deepcopy(json.loads(next(CRYO.glob("c01*.json")).read_text())["request"])
    levels = ["DL1", "DL2", "DL3", "DL4", "DL5"]
    request["aliquots"] = [{"cycle": 2, "infusion": n + 1, "dose_level": levels[n % 5]}
                           for n in range(10)]
    request["product"]["volume"] = "400 mL"
    return request, str(protocol)


def test_a_freeze_plan_of_ten_aliquots(benchmark, tmp_path: Path) -> None:
    request, protocol_file = ten_aliquots(tmp_path)
    lab, protocol = load_lab(), load_protocol(protocol_file)
    parsed = parse_freeze_request(request, zone=lab.time_zone, protocol=protocol)
    result = benchmark(freeze_plan, parsed, protocol, lab)
    print(json.dumps({"aliquots": len(result.aliquots), "status": str(result.status)}))


def _whole(benchmark, tmp_path: Path, command: str, request: dict) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    argv = [str(Path(sys.executable).parent / "doseprep"), command, str(path), "--json"]
    subprocess.run(argv, check=True, capture_output=True)
    benchmark.pedantic(lambda: subprocess.run(argv, check=True, capture_output=True), rounds=10,
                       iterations=1)


def test_doseprep_freeze_whole_process(benchmark, tmp_path: Path) -> None:
    _whole(benchmark, tmp_path, "freeze", json.loads(next(CRYO.glob("c01*.json")).read_text())[
        "request"])


def test_doseprep_plan_whole_process_beside_it(benchmark, tmp_path: Path) -> None:
    _whole(benchmark, tmp_path, "plan", load_case("v01-basic-dl3")["request"])

"""Benchmarks for the calculation (issue 2). They measure and report; they assert nothing timed.

Run with ``make bench``. Targets: one plan under 2 ms; ``doseprep plan`` as a whole process under
0.5 s on a 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from doseprep.plans.fresh import plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request
from tests.conftest import load_case


def test_one_plan_computation(benchmark) -> None:
    request = parse_request(load_case("v01-basic-dl3")["request"])
    protocol, lab = load_protocol(), load_lab()
    result = benchmark(plan, request, protocol, lab)
    assert result.withdraw_volume.magnitude == 1.8


def test_parse_and_plan(benchmark) -> None:
    data = load_case("v07-net-weight-and-sample-dilution")["request"]
    protocol, lab = load_protocol(), load_lab()
    benchmark(lambda: plan(parse_request(data), protocol, lab))


def test_doseprep_plan_whole_process(benchmark, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(load_case("v01-basic-dl3")["request"]), encoding="utf-8")
    command = [str(Path(sys.executable).parent / "doseprep"), "plan", str(request), "--json"]
    subprocess.run(command, check=True, capture_output=True)  # warm the pint cache once

    def run() -> None:
        subprocess.run(command, check=True, capture_output=True)

    benchmark.pedantic(run, rounds=15, iterations=1)

"""Benchmarks for the documents (issue 3). Target: worksheet plus labels under 300 ms."""

from __future__ import annotations

from doseprep.documents.labels import render_labels
from doseprep.documents.worksheet import render_worksheet
from doseprep.documents.zpl import render_zpl
from doseprep.plans.fresh import plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request
from tests.conftest import load_case


def _plan():
    return plan(parse_request(load_case("v01-basic-dl3")["request"]), load_protocol(), load_lab())


def test_worksheet_and_labels(benchmark) -> None:
    p = _plan()
    render_worksheet(p)  # fonts registered once per process, as in the program

    def both() -> None:
        render_worksheet(p)
        render_labels(p)
        render_zpl(p)

    benchmark(both)


def test_worksheet_only(benchmark) -> None:
    p = _plan()
    render_worksheet(p)
    benchmark(render_worksheet, p)


def test_first_documents_in_a_fresh_process(benchmark) -> None:
    """Cold: font registration included (what the first print of a session costs)."""
    import subprocess
    import sys

    code = ("from tests.benchmarks.test_bench_documents import _plan; "
            "from doseprep.documents.worksheet import render_worksheet; "
            "from doseprep.documents.labels import render_labels; "
            "import time; p = _plan(); t = time.perf_counter(); render_worksheet(p); "
            "render_labels(p); print(time.perf_counter() - t)")
    times: list[float] = []

    def run() -> None:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True)
        times.append(float(out.stdout))

    benchmark.pedantic(run, rounds=5, iterations=1)
    median = sorted(times)[len(times) // 2]
    benchmark.extra_info["cold_render_seconds_median"] = median
    print(f"\ncold worksheet+labels render (in-process): median {median:.3f} s")

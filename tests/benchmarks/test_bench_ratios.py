"""doseprep against the bare libraries it is built on, as whole processes in the same run
(issue 13): ``main.py`` to the window's first paint against a bare PySide6 window to its first
paint (target ≤ 2×), and ``doseprep worksheet`` against a one-page reportlab document (target
≤ 3×). Each side runs ``ROUNDS`` times, alternating, after one warm-up each; the medians and
their ratio are printed (``make bench`` shows them) and kept in the benchmark's extra_info. They
measure and report; nothing timed is asserted.

Run with ``.venv/bin/python -m pytest tests/benchmarks/test_bench_ratios.py -o addopts="" -p
no:cacheprovider -s`` (or ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARE = Path(__file__).parent / "bare"
ROUNDS = 9
DOSEPREP = str(Path(sys.executable).with_name("doseprep"))


def _environment(tmp_path: Path) -> dict[str, str]:
    return os.environ | {"DOSEPREP_DATA_DIR": str(tmp_path / "data"),
                         "DOSEPREP_CONFIG_DIR": str(tmp_path / "config"),
                         "QT_QPA_PLATFORM": "offscreen"}


def _until_first_line(command: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``command`` to its first line of output (printed at first paint)."""
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as process:
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        process.wait(timeout=60)
    assert line, f"{command} printed nothing"
    return elapsed


def _whole(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _compare(benchmark, name: str, measure: Callable[[list[str]], float], ours: list[str],
             bare: list[str], target: float) -> None:
    measure(ours), measure(bare)  # warm the file caches (and doseprep's signing key, pint cache)
    times: dict[str, list[float]] = {"doseprep": [], "bare": []}

    def one_round() -> None:
        times["doseprep"].append(measure(ours))
        times["bare"].append(measure(bare))

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    ours_s, bare_s = statistics.median(times["doseprep"]), statistics.median(times["bare"])
    ratio = ours_s / bare_s
    benchmark.extra_info.update(doseprep_median_s=round(ours_s, 4),
                                bare_median_s=round(bare_s, 4), ratio=round(ratio, 2),
                                target_ratio=target)
    verdict = "met" if ratio <= target else "NOT met"
    sys.stdout.write(f"\n{name}: doseprep {ours_s * 1000:.0f} ms, bare {bare_s * 1000:.0f} ms "
                     f"(medians of {ROUNDS}) = {ratio:.2f}x; target <= {target:g}x {verdict}\n")


def test_window_first_paint_against_a_bare_pyside6_window(benchmark, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    _compare(benchmark, "window to first paint", lambda c: _until_first_line(c, env),
             [sys.executable, "main.py", "--measure-startup"],
             [sys.executable, str(BARE / "qt_window.py")], 2.0)


def test_worksheet_against_a_bare_reportlab_page(benchmark, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    _compare(benchmark, "doseprep worksheet", lambda c: _whole(c, env),
             [DOSEPREP, "worksheet", str(ROOT / "resources" / "examples" / "request-dl3.json"),
              "-o", str(tmp_path / "worksheet.pdf")],
             [sys.executable, str(BARE / "reportlab_page.py"), str(tmp_path / "bare.pdf")], 3.0)

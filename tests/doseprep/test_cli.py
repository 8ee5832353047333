"""The ``doseprep`` command as a user runs it: real processes, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from doseprep.resources import resource_path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def request_file(tmp_path: Path, base_request: dict) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(base_request), encoding="utf-8")
    return path


def test_report_starts_with_the_instruction(request_file: Path) -> None:
    done = run("plan", str(request_file))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "STATUS: OK"
    assert lines[2].startswith("Draw 1.80 mL of product with a 3 mL syringe, add 48.2 mL diluent")
    assert "Viable CD3+ concentration" in done.stdout
    assert "3.920 × 10⁷ viable CD3+ cells/mL" in done.stdout


def test_reads_standard_input(base_request: dict) -> None:
    done = run("plan", "-", "--json", stdin=json.dumps(base_request))
    assert done.returncode == 0
    assert json.loads(done.stdout)["withdraw_volume_mL"] == 1.8


def test_protocol_and_lab_options_override(request_file: Path, tmp_path: Path) -> None:
    protocol = tmp_path / "p.toml"
    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    protocol.write_text(text.replace("DL3 = 1.0e6", "DL3 = 2.0e6"), encoding="utf-8")
    lab = Path(__file__).parent / "coarse_lab.toml"
    out = json.loads(run("plan", str(request_file), "--json", "--protocol", str(protocol),
                         "--lab", str(lab)).stdout)
    assert out["target_cells"] == pytest.approx(1.4e8)
    assert out["syringe_mL"] == 60.0
    assert out["protocol"]["fingerprint"] != json.loads(
        run("plan", str(request_file), "--json").stdout)["protocol"]["fingerprint"]


@pytest.mark.parametrize(("content", "field", "words"), [
    ("{not json", "request", "not valid JSON"),
    ("[]", "request", "JSON object"),
    ('{"protocol": "nope"}', "order", "order"),
])
def test_bad_files_exit_2_with_one_line(tmp_path: Path, content: str, field: str,
                                        words: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content, encoding="utf-8")
    done = run("plan", str(path), "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["field"] == field
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_missing_request_file() -> None:
    done = run("plan", "/nonexistent/request.json")
    assert done.returncode == 2
    assert "file not found" in done.stderr and "Traceback" not in done.stderr


def test_unknown_protocol_is_reported(request_file: Path) -> None:
    done = run("plan", str(request_file), "--protocol", "no-such-protocol", "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["field"] == "protocol"


def test_broken_lab_file_is_reported(request_file: Path, tmp_path: Path) -> None:
    lab = tmp_path / "lab.toml"
    lab.write_text("schema_version = 1\nname = 'x'\n", encoding="utf-8")
    done = run("plan", str(request_file), "--lab", str(lab))
    assert done.returncode == 2
    assert str(lab) in done.stderr and "missing" in done.stderr


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("doseprep ")

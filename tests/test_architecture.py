"""The architecture holds: the domain never imports Qt, and a wheel carries its resources."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_domain_never_imports_qt() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency; install the project with [test]"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_domain_imports_without_qt_loaded() -> None:
    code = ("import sys, doseprep.cli, doseprep.plan, doseprep.report; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_wheel_carries_resources_and_runs_from_them(
        tmp_path: Path, base_request: dict, unpacked_wheel: tuple[Path, list[str]]) -> None:
    """Run `doseprep plan` from the unpacked wheel: resources come from inside the package."""
    unpacked, names = unpacked_wheel
    assert "doseprep/_resources/protocols/hmct-blinatumomab.toml" in names
    assert "doseprep/_resources/lab.toml" in names
    assert "doseprep/_resources/fonts/DejaVuSans.ttf" in names
    request = tmp_path / "r.json"
    request.write_text(json.dumps(base_request), encoding="utf-8")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import doseprep.resources as r; print(r.resource_root()); "
            "from doseprep.cli import main; sys.exit(main(['plan', sys.argv[2], '--json']))")
    done = subprocess.run([sys.executable, "-c", code, str(unpacked), str(request)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root, _, body = done.stdout.partition("\n")
    assert root.startswith(str(unpacked)), root
    assert json.loads(body)["withdraw_volume_mL"] == 1.8

"""`doseprep info` names the folders, the database, the lab and protocol files with their
fingerprints, the signer certificate and the versions (issue 13), through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from doseprep.protocol import default_lab_path, load_lab


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doseprep", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_info_names_folders_files_fingerprints_and_versions(tmp_path: Path) -> None:
    done = run("info", "--json", env={"DOSEPREP_DATABASE_URL":
                                      "postgresql+psycopg://lab:s3cret@db.example/doseprep"})
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["folders"]["data"] == os.environ["DOSEPREP_DATA_DIR"]
    assert "s3cret" not in done.stdout and "***" in info["database"]
    assert info["lab"]["fingerprint"] == load_lab().fingerprint
    assert info["lab"]["example_facility"] is True
    assert "protocol" not in info  # its approval could not be read: said, not guessed
    assert any("cannot open the record database" in p for p in info["problems"])
    local = json.loads(run("info", "--json").stdout)
    assert local["protocol"]["approved"] is False and local["problems"] == []
    assert info["libraries"]["PySide6-Essentials"]
    assert info["signer_certificate"] is None
    assert not Path(os.environ["DOSEPREP_DATA_DIR"], "signing").exists(), "nothing created"


def test_info_shows_the_workstation_settings_and_their_problems(tmp_path: Path) -> None:
    config = Path(os.environ["DOSEPREP_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(f'lab_file = "{tmp_path / "gone.toml"}"\n',
                                          encoding="utf-8")
    done = run("info")
    assert done.returncode == 0, done.stderr
    assert "PROBLEM:" in done.stdout and "lab_file" in done.stdout
    (config / "settings.toml").write_text(f'lab_file = "{default_lab_path()}"\n',
                                          encoding="utf-8")
    assert "PROBLEM" not in run("info").stdout

"""Records, drafts and crash reports are the user's alone, and crash reports hold no patient data.

Issue 10 found the database and the crash files world-readable (0644) and a crash file holding a
date of birth. The real program is run in its own process, as a user runs it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

DOB = "1980-02-29"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(args: list[str], data: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOSEPREP_DATA_DIR": str(data), "DOSEPREP_PASSWORD_HASH_PROFILE": "test"}
    env.pop("DOSEPREP_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_record_database_and_its_folder_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = run(["users", "add", "admin", "--name", "ADMIN, ANN", "--role", "administrator",
                "--password-stdin"], data, stdin="admin-secret-pw\n")
    assert done.returncode == 0, done.stderr
    database = data / "doseprep.sqlite3"
    assert mode(data) == 0o700
    assert mode(database) == 0o600
    for extra in (data / "doseprep.sqlite3-wal", data / "doseprep.sqlite3-shm"):
        if extra.exists():
            assert mode(extra) == 0o600


def test_an_existing_open_data_folder_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    run(["users", "list"], data)
    assert mode(data) == 0o700


CRASH = f"""
import sys
import doseprep.cli as cli

def boom(args, *more, **options):
    raise ValueError("patient DOE, JANE born {DOB}")

cli.compute = boom  # a fault in the middle of the plan command
sys.argv = ["doseprep", "plan", "request.json"]
sys.exit(cli.main())
"""


def test_a_crash_file_is_private_and_holds_no_patient_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "DOSEPREP_DATA_DIR": str(data)}
    done = subprocess.run([sys.executable, "-c", CRASH], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 70, done.stderr
    (report,) = (data / "crashes").glob("crash-*.txt")
    text = report.read_text(encoding="utf-8")
    assert DOB not in text and "DOE" not in text
    assert "ValueError" in text and "boom" in text  # still says where it failed
    assert mode(report) == 0o600 and mode(report.parent) == 0o700
    assert DOB not in done.stderr

"""The README's walkthrough runs as written (issue 13: its records example could not be run).

The README shows ``docs/walkthrough.sh`` verbatim between markers; this test checks that the two
agree and runs the script, as the README says, in an empty folder with the project's ``doseprep``
first on the PATH: accounts, an example request stamped now, save, prepare, blind verification
from the documented re-entry file, release, print, verify the PDF, list, audit verify, export,
info. Nothing is left in the checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "walkthrough.sh"


def test_the_readme_shows_the_walkthrough_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough:begin[^>]*-->\n```sh\n(.*?)```\n<!-- walkthrough:end -->",
                      readme, flags=re.S)
    assert block, "the README has no walkthrough block"
    assert block.group(1) == SCRIPT.read_text(encoding="utf-8")


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    before = set(ROOT.iterdir())
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DOSEPREP_") or key in ("DOSEPREP_PASSWORD_HASH_PROFILE",
                                                         "DOSEPREP_TEST_SUITE_ONLY")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DOSEPREP_PASSWORD_HASH_PROFILE"] = "test"  # fast hashing; the steps are the same
    done = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "STATUS: OK" in done.stdout
    assert "VALID:" in done.stdout and "audit trail OK" in done.stdout
    assert (tmp_path / "worksheet.pdf").is_file() and (tmp_path / "label.pdf").is_file()
    assert (tmp_path / "audit.csv").read_text(encoding="utf-8").count(",record_sign,") == 3
    assert set(ROOT.iterdir()) == before, "the walkthrough left files in the checkout"

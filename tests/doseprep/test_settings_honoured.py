"""settings.toml's lab_file and protocol are used by every command, and a missing file named there
is an error naming the setting — never a silent fallback to the example lab (issue 9: labels went
out with the bundled example FIN and no warning)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from doseprep.protocol import default_lab_path
from tests.conftest import load_case
from tests.doseprep.documents.conftest import page_texts


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doseprep", *args], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))


def own_lab(tmp_path: Path) -> Path:
    lab = tmp_path / "our-lab.toml"
    lab.write_text(default_lab_path().read_text(encoding="utf-8")
                   .replace('name = "Cell Therapy Laboratory"', 'name = "Our Own Lab"')
                   .replace('fin = "G1234"', 'fin = "W0042"')
                   .replace('product_description_code = "S1234"',
                            'product_description_code = "S9876"'), encoding="utf-8")
    return lab


def settings(text: str) -> Path:
    folder = Path(os.environ["DOSEPREP_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(load_case("v01-basic-dl3")["request"]), encoding="utf-8")
    return path


def test_the_lab_file_setting_is_used_by_plan_and_labels(tmp_path: Path) -> None:
    settings(f'lab_file = "{own_lab(tmp_path)}"\n')
    request = request_file(tmp_path)
    plan = json.loads(run("plan", str(request), "--json").stdout)
    assert plan["lab"]["name"] == "Our Own Lab"
    label = tmp_path / "label.pdf"
    done = run("labels", str(request), "-o", str(label))
    assert done.returncode == 0, done.stderr
    (text,) = page_texts(label.read_bytes())
    assert "Our Own Lab (FIN W0042)" in text and "G1234)" not in text


def test_a_missing_lab_file_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    settings(f'lab_file = "{tmp_path / "gone.toml"}"\n')
    done = run("plan", str(request_file(tmp_path)), "--json")
    assert done.returncode == 2, done.stderr
    assert "lab_file" in done.stderr and "settings.toml" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_invalid_lab_file_is_an_error_not_the_example(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\nname = 'half a lab'\n", encoding="utf-8")
    settings(f'lab_file = "{bad}"\n')
    done = run("plan", str(request_file(tmp_path)), "--json")
    assert done.returncode == 2 and "lab_file in settings.toml" in done.stderr, done.stderr


def test_the_flag_overrides_the_setting(tmp_path: Path) -> None:
    settings(f'lab_file = "{tmp_path / "gone.toml"}"\n')
    done = run("plan", str(request_file(tmp_path)), "--json", "--lab", str(own_lab(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lab"]["name"] == "Our Own Lab"


def test_the_protocol_setting_is_used_when_the_request_names_none(tmp_path: Path) -> None:
    protocol = tmp_path / "p.toml"
    from doseprep.resources import resource_path

    protocol.write_text(resource_path("protocols", "hmct-blinatumomab.toml")
                        .read_text(encoding="utf-8").replace('"0.1-example"', '"9.9-site"'),
                        encoding="utf-8")
    settings(f'protocol = "{protocol}"\n')
    data = load_case("v01-basic-dl3")["request"]
    del data["protocol"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    plan = json.loads(run("plan", str(path), "--json").stdout)
    assert plan["protocol"]["version"] == "9.9-site"
    settings(f'protocol = "{tmp_path / "gone.toml"}"\n')
    done = run("plan", str(path), "--json")
    assert done.returncode == 2 and "protocol" in done.stderr and "gone.toml" in done.stderr


def test_the_example_facility_is_marked_wherever_it_is_used(tmp_path: Path) -> None:
    request = request_file(tmp_path)
    report = run("plan", str(request)).stdout
    assert "EXAMPLE — not your lab's" in report
    label = tmp_path / "label.pdf"
    assert run("labels", str(request), "-o", str(label)).returncode == 0
    (text,) = page_texts(label.read_bytes())
    assert "(FIN G1234) EXAMPLE — not your lab's" in text
    settings(f'lab_file = "{own_lab(tmp_path)}"\n')
    assert "not your lab" not in run("plan", str(request)).stdout


def test_a_bad_settings_file_is_named_as_settings(tmp_path: Path) -> None:
    settings('lock_minutes = "soon"\n')
    done = run("plan", str(request_file(tmp_path)))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "settings.toml" in done.stderr and "lock_minutes" in done.stderr
    assert not done.stderr.startswith("doseprep: request:"), done.stderr


def test_a_postgres_url_gets_the_right_spelling_suggested(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "doseprep", "record", "list", "--user", "x"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ,
                               "DOSEPREP_DATABASE_URL": "postgres://lab:pw@db.example/dp"})
    assert done.returncode != 0 and "postgresql+psycopg://lab:***@db.example/dp" in done.stderr
    assert "pw@" not in done.stderr

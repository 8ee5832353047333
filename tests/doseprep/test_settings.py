"""The workstation settings file: defaults, checked values, and the database it points at."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseprep.errors import SettingsError
from doseprep.settings import WorkstationSettings, load_settings, settings_path


def write(text: str) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_defaults() -> None:
    assert load_settings() == WorkstationSettings()


def test_values_are_read() -> None:
    write('schema_version = 1\ndatabase_url = "sqlite:////tmp/x.sqlite3"\nlock_minutes = 5\n')
    settings = load_settings()
    assert settings.database_url == "sqlite:////tmp/x.sqlite3"
    assert settings.lock_minutes == 5.0


@pytest.mark.parametrize(("text", "key"), [
    ("lock_minutes = 0", "lock_minutes"),
    ('database_url = ""', "database_url"),
    ("schema_version = 9", "schema_version"),
    ("colour = 'red'", "colour"),
])
def test_bad_settings_name_the_key(text: str, key: str) -> None:
    path = write(text + "\n")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert (info.value.source, info.value.key) == (str(path), key)


def test_store_uses_the_settings_database_unless_the_environment_says_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from doseprep.store import database_url

    monkeypatch.delenv("DOSEPREP_DATABASE_URL", raising=False)
    target = tmp_path / "lab-share.sqlite3"
    write(f'database_url = "sqlite:///{target}"\n')
    assert database_url() == f"sqlite:///{target}"
    monkeypatch.setenv("DOSEPREP_DATABASE_URL", "sqlite:////elsewhere.sqlite3")
    assert database_url() == "sqlite:////elsewhere.sqlite3"

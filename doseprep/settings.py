"""This workstation's settings: which database, which lab file, when the window locks, where
audit checkpoints are witnessed.

A small TOML file, ``settings.toml`` in the user's configuration directory (platformdirs;
``DOSEPREP_CONFIG_DIR`` moves it), read into a typed, frozen :class:`WorkstationSettings`. It has a
schema version; an older file is upgraded in memory by :data:`_MIGRATIONS`, a newer one is refused.
A missing file means the defaults. Environment variables win over the file
(``DOSEPREP_DATABASE_URL``), so CI and tests never depend on a user's settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doseprep.errors import SettingsError
from doseprep.paths import config_dir

SCHEMA_VERSION = 1
FILENAME = "settings.toml"

#: Upgrades from schema N to N + 1, applied in order to an older file's table.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(frozen=True)
class WorkstationSettings:
    database_url: str | None = None  # None: the SQLite file in the data directory
    lab_file: str | None = None  # None: the bundled lab.toml
    protocol: str | None = None  # bundled id or path; None: the request's own
    lock_minutes: float = 10.0  # the window locks after this long without input
    witness_dir: str | None = None  # where audit checkpoints are also written (issue 25)


def settings_path() -> Path:
    return config_dir() / FILENAME


def load_settings(path: Path | None = None) -> WorkstationSettings:
    """Read the workstation settings (defaults when the file does not exist)."""
    path = path or settings_path()
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return WorkstationSettings()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(source, "", f"cannot be read ({exc}).") from None
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
        raise SettingsError(source, "schema_version",
                            f"this file is for another doseprep (schema {version!r}); "
                            "update doseprep or remove the file.")
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
    out: dict[str, Any] = {}
    for key in ("database_url", "lab_file", "protocol", "witness_dir"):
        if key in data:
            if not isinstance(data[key], str) or not data[key].strip():
                raise SettingsError(source, key, "must be non-empty text in quotes.")
            out[key] = data[key].strip()
    if "lock_minutes" in data:
        value = data["lock_minutes"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise SettingsError(source, "lock_minutes", "must be a number of minutes above 0.")
        out["lock_minutes"] = float(value)
    unknown = set(data) - {"schema_version", "database_url", "lab_file", "protocol",
                           "lock_minutes", "witness_dir"}
    if unknown:
        raise SettingsError(source, sorted(unknown)[0], "is not a setting doseprep knows.")
    return WorkstationSettings(**out)


#: The environment variable that names the record database (it wins over settings.toml).
DATABASE_URL_ENV = "DOSEPREP_DATABASE_URL"
#: The workstation's own record database, in the data directory, when none is configured.
SQLITE_FILENAME = "doseprep.sqlite3"


def configured_database_url() -> str | None:
    """The database named by ``DOSEPREP_DATABASE_URL`` or ``database_url`` in settings.toml;
    None means the workstation's own SQLite file (:data:`SQLITE_FILENAME` in the data directory).
    Decided here, without the database libraries, for the store and for ``doseprep plan``."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or load_settings().database_url


def configured_lab(flag: str | None, settings: WorkstationSettings | None = None) -> str | None:
    """The lab file to use: the flag, else ``lab_file`` from settings.toml, else None (the bundled
    example). A ``lab_file`` that does not exist is an error naming the setting — never a silent
    fallback to the example lab (issue 9: labels went out with the example FIN)."""
    if flag:
        return flag
    settings = settings or load_settings()
    if settings.lab_file and not Path(settings.lab_file).expanduser().is_file():
        raise SettingsError(str(settings_path()), "lab_file",
                            f"names {settings.lab_file}, which does not exist; correct the "
                            "path or remove the setting.")
    return str(Path(settings.lab_file).expanduser()) if settings.lab_file else None


def configured_protocol(flag: str | None, request_protocol: str | None,
                        settings: WorkstationSettings | None = None) -> str | None:
    """The protocol to use: the flag, else the one the request names, else ``protocol`` from
    settings.toml, else None (the bundled default). A setting naming a missing file is an error
    naming the setting."""
    if flag:
        return flag
    if request_protocol:
        return request_protocol
    settings = settings or load_settings()
    ref = settings.protocol
    if ref and (ref.endswith(".toml") or "/" in ref or "\\" in ref) \
            and not Path(ref).expanduser().is_file():
        raise SettingsError(str(settings_path()), "protocol",
                            f"names {ref}, which does not exist; correct the path or remove the "
                            "setting.")
    return ref

"""Where doseprep keeps its files on this computer.

The data directory (drafts, crash logs, the record database, the signing key), the configuration
directory (the workstation settings file) and the cache directory (the pint definitions cache)
come from platformdirs, and the environment can move them: ``DOSEPREP_DATA_DIR``,
``DOSEPREP_CONFIG_DIR`` and ``DOSEPREP_CACHE_DIR`` — for tests, portable installs and CI, so no
test ever touches a real user's records.

Records, keys, drafts and logs hold patient data or secrets: :func:`private_dir` makes their
folders 0700 and :func:`write_private` their files 0600 (owner only), and the program's entry
points set :func:`restrict_umask` so that whatever else they create — the SQLite database, its
journal, a document — is the user's alone. (On Windows, where modes mean little, the user's
profile folders are already private.)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP_NAME = "doseprep"


def data_dir() -> Path:
    """The directory for the user's records, drafts and logs (created on demand by callers)."""
    override = os.environ.get("DOSEPREP_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The directory for this workstation's settings file."""
    override = os.environ.get("DOSEPREP_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The directory for caches that can be thrown away at any time."""
    override = os.environ.get("DOSEPREP_CACHE_DIR")
    if override:
        return Path(override)
    override = os.environ.get("DOSEPREP_DATA_DIR")
    if override:
        return Path(override) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def restrict_umask() -> None:
    """Files and folders the process creates from now on are for its user only (0600/0700)."""
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700, and tighten it to 0700 if it exists already."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder of another owner is left as it is
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file that only this user can read (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    with contextlib.suppress(OSError):
        path.chmod(0o600)

"""Where doseprep keeps its files on this computer.

The data directory (drafts, crash logs, the record database, the signing key), the configuration
directory (the workstation settings file) and the cache directory (the pint definitions cache)
come from platformdirs, and the environment can move them: ``DOSEPREP_DATA_DIR``,
``DOSEPREP_CONFIG_DIR`` and ``DOSEPREP_CACHE_DIR`` — for tests, portable installs and CI, so no
test ever touches a real user's records.
"""

from __future__ import annotations

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

"""The test run uses exactly the versions in the lock file: a validated system installs what was
tested, nothing resolved afresh (issue 13)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "test.txt"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-\[\]]+)==(?P<version>[^\s;\\]+)\s*"
                 r"(?:;(?P<marker>[^\\]+))?")


def locked(lock: Path = LOCK) -> dict[str, str]:
    """Package -> version from a lock file, for the packages whose markers apply here."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if not match:
            continue
        marker = match.group("marker")
        if marker and not Marker(marker.strip()).evaluate():
            continue
        name = canonicalize_name(re.sub(r"\[.*\]", "", match.group("name")))
        pins[name] = match.group("version")
    return pins


def test_the_lock_pins_sound_qt_bindings() -> None:
    pins = locked()
    assert pins["pyside6-essentials"] != "6.12.0"
    assert "pyside6-addons" not in pins and "pyside6-webengine" not in pins


def test_installed_versions_equal_the_lock() -> None:
    pins = locked()
    assert len(pins) > 20
    differing = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            differing[name] = (installed, version)
    if differing:
        pytest.fail("installed ≠ lock (run `make test` from a clean .venv or `make lock`): "
                    + ", ".join(f"{n} {i} (lock {v})" for n, (i, v) in sorted(differing.items())))


def test_the_bundle_is_built_from_the_programs_locked_versions() -> None:
    """requirements/dist.txt (make dist) is the program's lock plus PyInstaller: a bundle never
    carries other versions than those the tests ran with."""
    run = locked(LOCK.parent / "run.txt")
    dist = locked(LOCK.parent / "dist.txt")
    test = locked()
    assert {name: dist.get(name) for name in run} == run
    assert {name: test.get(name) for name in run} == run
    assert "pyinstaller" in dist and "pytest" not in dist

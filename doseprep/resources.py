"""Finding the bundled data files (protocols, lab defaults, fonts) wherever doseprep runs from.

In a wheel, ``resources/`` travels inside the package as ``doseprep/_resources`` and is read
through ``importlib.resources``; in a checkout (or an editable install) it is the ``resources/``
folder beside the package. Callers get a real filesystem path either way.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

#: The bundled protocol a request or a workstation without one of its own uses.
DEFAULT_PROTOCOL = "hmct-blinatumomab"


@cache
def resource_root() -> Path:
    """The folder holding the bundled resources."""
    packaged = resources.files("doseprep") / "_resources"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "doseprep's resources folder is missing from this installation; reinstall doseprep."
    )


def resource_path(*parts: str) -> Path:
    """The path of one bundled resource, e.g. ``resource_path("protocols", "x.toml")``."""
    return resource_root().joinpath(*parts)

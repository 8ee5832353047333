"""``doseprep info``: where this workstation keeps its files and which settings and versions it
runs — what lab IT and an inspector ask first.

It prints the data, configuration, cache and log folders, the settings file, the database (its
password hidden), the lab and protocol files in use with their fingerprints (and whether the
protocol is approved in the record store), the PDF signer's certificate fingerprint when one
exists (none is created just to look), and the versions of doseprep, Python and the libraries.
Nothing is written; the Qt bindings are not imported (their version is read from the installed
package's metadata).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from collections.abc import Callable
from typing import Any

from doseprep import __version__
from doseprep.cli.common import (
    attach_approval,
    attach_lab_approval,
)
from doseprep.errors import DoseprepError, SettingsError
from doseprep.resources import DEFAULT_PROTOCOL

LIBRARIES = ("PySide6-Essentials", "pint", "reportlab", "SQLAlchemy", "alembic", "psycopg",
             "argon2-cffi", "pyHanko", "pypdfium2")


def _version(name: str) -> str | None:
    from importlib import metadata  # 9 ms: only when `doseprep info` runs

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _certificate_fingerprint() -> dict[str, str] | None:
    from doseprep.signatures.worksheets import installation_certificate_path

    path = installation_certificate_path()
    if not path.is_file():
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return {"file": str(path), "sha256": "unreadable"}
    der = certificate.public_bytes(Encoding.DER)
    return {"file": str(path), "sha256": hashlib.sha256(der).hexdigest(),
            "subject": certificate.subject.rfc4514_string()}


def gather() -> dict[str, Any]:
    """Everything ``doseprep info`` reports, as a JSON-shaped dict."""
    from doseprep.paths import cache_dir, config_dir, data_dir
    from doseprep.settings import configured_lab, load_settings, settings_path

    out: dict[str, Any] = {
        "doseprep": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "folders": {"data": str(data_dir()), "configuration": str(config_dir()),
                    "cache": str(cache_dir()), "logs": str(data_dir() / "logs"),
                    "crash reports (command line)": str(data_dir() / "crashes")},
        "settings_file": str(settings_path()),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "problems": [],
    }
    try:
        settings = load_settings()
    except SettingsError as exc:
        out["problems"].append(str(exc))
        settings = None
    try:
        from doseprep.store.engine import database_url
        from doseprep.store.urls import display_url

        out["database"] = display_url(database_url())
    except SettingsError as exc:
        out["problems"].append(str(exc))
    from doseprep.protocol import load_lab, load_protocol

    try:
        lab = load_lab(configured_lab(None, settings) if settings else None)
        out["lab"] = {"file": lab.source, "name": lab.name, "fingerprint": lab.fingerprint,
                      "time_zone": lab.time_zone, "example_facility": lab.example_facility}
        out["lab"]["approved"] = attach_lab_approval(lab).approved
    except (DoseprepError, OSError) as exc:  # info reports what it cannot read
        out["problems"].append(str(exc))
    try:
        protocol = attach_approval(load_protocol((settings.protocol if settings else None)
                                                 or DEFAULT_PROTOCOL))
        out["protocol"] = {"file": protocol.source, "id": protocol.id,
                           "version": protocol.version, "fingerprint": protocol.fingerprint,
                           "approved": protocol.approved,
                           "author_approved": protocol.author_approved}
    except (DoseprepError, OSError) as exc:  # info reports what it cannot read
        out["problems"].append(f"protocol or its approval: {exc}")
    out["signer_certificate"] = _certificate_fingerprint()
    return out


def _cmd_info(args: argparse.Namespace) -> int:
    info = gather()
    if args.json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    lines = [f"doseprep {info['doseprep']} on Python {info['python']} ({info['platform']})", ""]
    lines += [f"{name:<30} {path}" for name, path in info["folders"].items()]
    lines.append(f"{'settings file':<30} {info['settings_file']}")
    lines.append(f"{'database':<30} {info.get('database', '?')}")
    if "lab" in info:
        lab = info["lab"]
        example = " (facility data: EXAMPLE — not your lab's)" if lab["example_facility"] else ""
        lines.append(f"{'lab file':<30} {lab['file']}")
        state = ("APPROVED in the record store" if lab.get("approved") else "not approved")
        lines.append(f"{'':<30} {lab['name']}{example}, zone {lab['time_zone']}, {state}, "
                     f"fingerprint {lab['fingerprint']}")
    if "protocol" in info:
        p = info["protocol"]
        state = "APPROVED in the record store" if p["approved"] else "not approved"
        lines.append(f"{'protocol (default)':<30} {p['file']}")
        lines.append(f"{'':<30} {p['id']} {p['version']}, {state}, fingerprint "
                     f"{p['fingerprint']}")
    cert = info["signer_certificate"]
    lines.append(f"{'PDF signer certificate':<30} "
                 + (f"{cert['file']} SHA-256 {cert['sha256']}" if cert else
                    "none yet (made at the first signed worksheet)"))
    lines.append("")
    lines += [f"{name:<30} {version or 'not installed'}"
              for name, version in info["libraries"].items()]
    for problem in info["problems"]:
        lines.append(f"PROBLEM: {problem}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    p = subparsers.add_parser("info", help="where this workstation keeps its files, which lab "
                                           "and protocol files and versions it uses")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_info)

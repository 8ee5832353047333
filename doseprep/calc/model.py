"""What a plan is made of: steps as a person checks them, findings with a severity, a status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pint


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    BLOCK = "block"


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    """Something the technician must know about this preparation."""

    code: str
    severity: Severity
    message: str
    field: str | None = None  # the request field it is about, where there is one


@dataclass(frozen=True)
class Step:
    """One line of the arithmetic as a person checks it."""

    name: str
    formula: str
    substituted: str
    result: str


@dataclass(frozen=True)
class DilutionStep:
    """One serial dilution: ``source`` mL of the previous suspension plus ``diluent`` mL."""

    source: pint.Quantity
    diluent: pint.Quantity
    factor: int  # of this step alone


def status_of(findings: Iterable[Finding]) -> Status:
    """BLOCKED if any finding blocks, WARNING if any warns, else OK."""
    severities = {f.severity for f in findings}
    if Severity.BLOCK in severities:
        return Status.BLOCKED
    if Severity.WARNING in severities:
        return Status.WARNING
    return Status.OK


_SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARNING: 1, Severity.INFO: 2}


def most_severe_first(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings most severe first (block, warning, info), otherwise in the order found."""
    return tuple(sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity]))

"""The paper a workstation prints on by default: Letter where its locale uses it, else A4."""

from __future__ import annotations

from PySide6.QtCore import QLocale

_LETTER_TERRITORIES = {
    QLocale.Country.AnyTerritory, QLocale.Country.UnitedStates, QLocale.Country.Canada,
    QLocale.Country.Mexico, QLocale.Country.Philippines, QLocale.Country.Chile,
    QLocale.Country.Colombia, QLocale.Country.Venezuela,
}


def default_paper() -> str:
    """Letter where the locale uses it (and when it says nothing), else A4."""
    return "letter" if QLocale.system().territory() in _LETTER_TERRITORIES else "a4"

"""Exact values in and out of pint quantities: decisions are taken on fractions of the decimals
typed and configured (DESIGN.md, "Exactness"); quantities carry the float for display and JSON."""

from __future__ import annotations

from fractions import Fraction

import pint

from doseprep.units import KG, ML, Q_, exact


def exact_in(q: pint.Quantity, unit) -> Fraction:
    """The exact magnitude of ``q`` in ``unit`` (a configured quantity's decimals, exactly)."""
    return exact(q.to(unit).magnitude)


def quantity(value: Fraction, unit) -> pint.Quantity:
    """An exact value as a quantity (its float) for display and JSON."""
    return Q_(float(value), unit)


def in_ml(q: pint.Quantity) -> float:
    return float(q.to(ML).magnitude)


def in_kg(w: pint.Quantity) -> float:
    return float(w.to(KG).magnitude)

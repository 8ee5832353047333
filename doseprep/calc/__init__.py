"""The calculation's steps, one small function per step of the contract (DESIGN.md), shared by
the fresh plan (:mod:`doseprep.plans.fresh`) and the cycle-2 freeze and thaw plans:

- :mod:`~doseprep.calc.model` — steps, findings, severities and status;
- :mod:`~doseprep.calc.quantities` — exact fractions in and out of pint quantities;
- :mod:`~doseprep.calc.product` — steps 1–4: product volume, WBC and viable CD3+
  concentrations, total viable CD3+;
- :mod:`~doseprep.calc.draw` — steps 8–9: dilution, syringe, rounding to its graduation;
- :mod:`~doseprep.calc.checks` — plausibility, UTC offsets, viability and product age;
- :mod:`~doseprep.calc.expiry` — when the infusion expires.

Every function takes exact values (``fractions.Fraction``) and returns exact values, the
:class:`~doseprep.calc.model.Step` a person checks, and its findings; none reads a file or the
clock.
"""

"""The three plans, side by side: what to draw for a fresh product, how to split one collection
into frozen aliquots, how to infuse one thawed bag (DESIGN.md, "The calculation" and "Cryopreserved
aliquots").

:mod:`~doseprep.plans.fresh` is the calculation contract for cycle 1 and
:mod:`~doseprep.plans.fresh_report` its text; for cycle 2, :mod:`~doseprep.plans.cryo_settings`
holds the lab's and the protocol's cryo figures, :mod:`~doseprep.plans.freeze` splits one product
into aliquots at planned doses, each with its draw, bag, carrier and freezing-medium volumes and
DMSO, :mod:`~doseprep.plans.thaw` (with :mod:`~doseprep.plans.thaw_bag`) plans the infusion of one
thawed bag, and :mod:`~doseprep.plans.cryo_report` writes their text. All three are plans with
steps, findings and a status, built from the same calculation steps (:mod:`doseprep.calc`).
"""

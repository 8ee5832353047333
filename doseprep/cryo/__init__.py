"""Cycle 2: cryopreserved aliquots from one collection (DESIGN.md, "Cryopreserved aliquots").

:mod:`~doseprep.cryo.settings` holds the lab's and the protocol's cryo figures;
:mod:`~doseprep.cryo.freeze` splits one product into aliquots at planned doses, each with its
draw, bag, carrier and freezing-medium volumes and DMSO; :mod:`~doseprep.cryo.thaw` plans the
infusion of one thawed bag. Both are plans with steps, findings and a status, like the fresh plan,
and reuse its steps (:mod:`doseprep.calc`).
"""

"""The paper that leaves the lab: the preparation worksheet and the ISBT 128 bag labels.

Everything here draws with reportlab and returns PDF bytes (or ZPL text for thermal printers).
Documents take a :class:`~doseprep.plans.fresh.PreparationPlan` and, when the preparation is a saved
record, a :class:`~doseprep.manifest.RecordInfo`; they never compute a dose themselves. Import
these modules lazily: reportlab is not needed before the first document.
"""

"""doseprep: the dose-preparation domain for HMCT cell-therapy infusions.

This package holds everything a technician relies on — units, protocol tables, the calculation,
findings, ISBT 128 coding, documents and the command line — and never imports Qt, so all of it
works without a screen. ``ui`` is the desktop shell on top of it.
"""

__version__ = "0.1.0"

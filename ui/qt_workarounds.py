"""Workarounds for faults in the Qt bindings that would otherwise crash the window.

PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every call of a C++ method that
returns nothing (``setText``, ``setEnabled``, ...) and a reference to ``True`` on every
``Signal.emit()`` from Python: ``sys.getrefcount(None)`` falls by one per call (6.11.3 does not).
The window makes dozens of such calls per keystroke — about 50 to 150 — so after a few hundred
keystrokes a count reaches zero and Python aborts ("Fatal Python error: none_dealloc" or
"bool_dealloc"), losing the form mid-preparation. The fix belongs in the dependency pin
(``PySide6 != 6.12.0``); until every installation has it, :func:`protect_singletons` detects the
fault with two harmless probes and, only where it is present, gives ``None``, ``True`` and
``False`` a reference count no program can use up — what Python 3.12 does for every installation
by making them immortal.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: References given to each singleton where the fault is present: 2**40 calls take years.
RESERVE = 1 << 40
_PROBE_CALLS = 64


def leaks_per_call() -> tuple[float, float]:
    """References to (None, True) that one void Qt call and one ``emit()`` drop here."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
        probe.ping.emit()
    after = sys.getrefcount(None), sys.getrefcount(True)
    return ((before[0] - after[0]) / _PROBE_CALLS, (before[1] - after[1]) / _PROBE_CALLS)


def protect_singletons() -> bool:
    """Give None, True and False a reserve of references when Qt calls leak them; True when given.

    Done at most once per process, only on Python < 3.12 (where they are not immortal), only on
    a standard build (where the reference count is the first field of every object) and only
    when a probe finds the leak.
    """
    if sys.version_info >= (3, 12) or getattr(protect_singletons, "done", False):
        return False
    leaks = leaks_per_call()
    if max(leaks) < 0.5:
        return False
    counts = [ctypes.c_ssize_t.from_address(id(obj)) for obj in (None, True, False)]
    if hasattr(sys, "getobjects") or any(
            abs(count.value - sys.getrefcount(obj)) > 2
            for count, obj in zip(counts, (None, True, False), strict=True)):
        # A Py_TRACE_REFS build, or not the object header expected: leave memory alone.
        log.error("the Qt bindings drop references to None/True (%.1f, %.1f per call) and this "
                  "Python cannot be protected; install a PySide6 other than 6.12.0", *leaks)
        return False
    for count in counts:
        count.value += RESERVE
    protect_singletons.done = True  # type: ignore[attr-defined]
    log.warning("the Qt bindings drop references to None/True (%.1f, %.1f per call; fixed by a "
                "PySide6 other than 6.12.0): None, True and False are given a reserve", *leaks)
    return True

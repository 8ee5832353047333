"""The window's one clock: the instant every status on screen is read at, and its ticks.

A screen is read when someone acts on it, not when it was computed (issue 21: a form left open
past its expiry still said "OK — ready to prepare"). :class:`WindowClock` gives the instant (aware,
UTC) that every view compares its deadlines with — the form's "Prepared at", the plan's status,
the record strip and banner, the freeze and thaw tabs, the sign dialogs — and emits ``ticked``
whenever a view may have to change: at the next deadline any view has registered with
:meth:`watch` (a timer aligned to it, a little after the instant), and at least every
:data:`MAX_WAIT_MS`, so a view says EXPIRED within a minute of the instant even if the computer's
clock was changed meanwhile. What has expired is decided by the domain
(:mod:`doseprep.store.expiry`); the clock only says when to ask.

Its instant is the domain's (:func:`domain_now`): the one the store's expiry checks read, so the
screen and the store's refusals never disagree about what time it is. Tests move that instant
(``doseprep.store.expiry.expiry_now``) or give the window a clock of their own
(``WindowClock(now=...)``); ``due`` is the instant at which the timer will fire, so a test can let
time pass exactly as the timer would.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, Qt, QTimer, Signal

log = logging.getLogger(__name__)

#: The longest the clock waits between two ticks (a minute changes on "Prepared at"; a clock
#: moved by the system is noticed within this).
MAX_WAIT_MS = 30_000
#: A tick comes this long after a deadline, so the instant is certainly past when views ask.
AFTER_DEADLINE_MS = 250


def domain_now() -> datetime:
    """The instant the domain's expiry checks use (``doseprep.store.expiry.expiry_now``: the
    computer's clock in UTC, or the moment a test set). The store is not imported for it — the
    window paints and builds its form before SQLAlchemy loads (issue 13): until something has
    loaded the store, nothing can have replaced its clock, and the computer's is what it gives."""
    expiry = sys.modules.get("doseprep.store.expiry")
    return expiry.expiry_now() if expiry is not None else datetime.now(UTC)


class WindowClock(QObject):
    """See the module docstring. ``now``: the source of instants (default :func:`domain_now`)."""

    ticked = Signal()

    def __init__(self, now: Callable[[], datetime] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = now
        self._watched: dict[str, tuple[datetime, ...]] = {}
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        #: The instant (of this clock) at which the timer fires next; None while stopped.
        self.due: datetime | None = None

    def now(self) -> datetime:
        """The current instant, aware and in UTC."""
        moment = (self._source or domain_now)()
        if moment.tzinfo is None:
            raise ValueError("the window clock needs an aware instant")
        return moment.astimezone(UTC)

    def watch(self, key: str, instants: Iterable[datetime | None]) -> None:
        """The deadlines a view shows (``key`` names the view; new ones replace its old ones):
        the clock ticks just after the next of them."""
        wanted = tuple(sorted(i for i in instants if i is not None))
        if self._watched.get(key, ()) != wanted:
            self._watched[key] = wanted
            if self.timer.isActive():
                self._schedule()

    def start(self) -> None:
        """Start ticking (the window calls this once its views exist)."""
        self._schedule()

    def stop(self) -> None:
        self.timer.stop()
        self.due = None

    def tick(self) -> None:
        """Tell every view to look at the clock again, then wait for the next deadline."""
        self.timer.stop()
        try:
            self.ticked.emit()
        finally:
            self._schedule()

    def next_wake(self) -> datetime:
        """When the next tick is due: just after the next watched deadline, at most
        :data:`MAX_WAIT_MS` from now."""
        now = self.now()
        latest = now + timedelta(milliseconds=MAX_WAIT_MS)
        upcoming = [i for times in self._watched.values() for i in times if i > now]
        if not upcoming:
            return latest
        return min(latest, min(upcoming) + timedelta(milliseconds=AFTER_DEADLINE_MS))

    def _schedule(self) -> None:
        now = self.now()
        due = self.next_wake()
        wait = max(0, min(MAX_WAIT_MS, round((due - now).total_seconds() * 1000)))
        self.due = due
        self.timer.start(wait)

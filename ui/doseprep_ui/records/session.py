"""Who is at the workstation: the record database, the logged-in user, and the inactivity lock.

:class:`Session` opens the record store (:mod:`doseprep.store`) on first use — never at import,
so the window paints before SQLAlchemy and argon2 load — and holds the :class:`User` who logged
in. :class:`IdleWatch` watches the whole application's keyboard, mouse and touch input and
emits ``idle`` once no input has come for its timeout (the workstation setting ``lock_minutes``;
tests give a few hundred milliseconds). Neither shows anything: the window decides.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from doseprep.store import Store, User

log = logging.getLogger(__name__)

#: Events that count as someone using the workstation.
ACTIVITY = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.HoverMove, QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress, QEvent.Type.ShortcutOverride,
})


def lock_timeout_ms() -> int:
    """The workstation's ``lock_minutes`` in milliseconds (10 minutes if the file is unusable)."""
    from doseprep.errors import SettingsError
    from doseprep.settings import WorkstationSettings, load_settings

    try:
        minutes = load_settings().lock_minutes
    except SettingsError as exc:
        minutes = WorkstationSettings().lock_minutes
        log.warning("workstation settings not read (%s); locking after %g minutes", exc, minutes)
    return max(1, round(minutes * 60_000))


class Session:
    """The record store (opened on first use) and the user logged in (None: nobody)."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self.user: User | None = None

    @property
    def store(self) -> Store:
        """The open record store; opening it may raise StoreUnavailableError."""
        if self._store is None:
            from doseprep.store import open_store

            self._store = open_store()
            log.info("record store opened: %s", self._store.url)
        return self._store

    @property
    def is_open(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class IdleWatch(QObject):
    """Emits ``idle`` after ``timeout_ms`` without keyboard, mouse or touch input anywhere."""

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self._expired)
        self._installed = False

    @property
    def timeout_ms(self) -> int:
        return self.timer.interval()

    def set_timeout_ms(self, timeout_ms: int) -> None:
        self.timer.setInterval(timeout_ms)
        if self.timer.isActive():
            self.timer.start()

    def start(self) -> None:
        """Start (or restart) counting; input from now on restarts the count."""
        app = QApplication.instance()
        if not self._installed and app is not None:
            app.installEventFilter(self)
            self._installed = True
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if self._installed and app is not None:
            app.removeEventFilter(self)
        self._installed = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY and self.timer.isActive():
            self.timer.start()
        return False

    def _expired(self) -> None:
        log.info("no input for %d ms", self.timer.interval())
        self.idle.emit()

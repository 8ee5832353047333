"""The bare-library side of the window's start-up ratio (issue 13): a PySide6 main window with a
label, reporting right after its first paint, as ``main.py --measure-startup`` does."""

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


class FirstPaint(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.seen = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            QTimer.singleShot(0, self.report)
        return False

    def report(self) -> None:
        sys.stdout.write("painted\n")
        sys.stdout.flush()
        QApplication.quit()


app = QApplication(sys.argv)
window = QMainWindow()
window.setCentralWidget(QLabel("doseprep"))
window.resize(1366, 768)
FirstPaint(window)
window.show()
sys.exit(app.exec())

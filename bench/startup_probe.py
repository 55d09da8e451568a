"""Start the app as main.py does and print the wall-clock time of the first painted window."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication


class FirstPaint(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.done = False

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            print(f"{time.time():.6f}", flush=True)
            QTimer.singleShot(0, self.app.quit)
        return False


def main() -> None:
    app = QApplication(sys.argv[:1])
    from gui.main_window import MainWindow

    window = MainWindow()
    probe = FirstPaint(app)
    window.canvas.viewport().installEventFilter(probe)
    window.show()
    app.exec()
    window.close()


if __name__ == "__main__":
    main()

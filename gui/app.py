"""Start the Qt application (optionally opening a scene file given on the command line).

`--startup-time` prints the wall-clock time (time.time()) of the first painted window and quits:
launch-to-paint is measured by the benchmark suite, for `python main.py` and for the bundle.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer


class FirstPaintProbe(QObject):
    """Prints when the canvas first paints, then ends the app."""

    def __init__(self, app) -> None:
        super().__init__()
        self.app = app
        self.done = False

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            print(f"{time.time():.6f}", flush=True)
            QTimer.singleShot(0, self.app.quit)
        return False


def run_app(args: list[str]) -> int:
    if "--self-test" in args:
        from gui.self_test import run_self_test

        return run_self_test()
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("DescentLab")
    app.setOrganizationName("DescentLab")
    from gui.about import app_icon
    from gui.main_window import MainWindow

    app.setWindowIcon(app_icon())
    scene = next((a for a in args if a.lower().endswith(".json")), None)
    probe_startup = "--startup-time" in args
    window = MainWindow(restore_last=scene is None and not probe_startup)
    if scene is not None:
        window.scenes.open_file(Path(scene))
    probe = FirstPaintProbe(app)
    if probe_startup:
        window.canvas.viewport().installEventFilter(probe)
    window.show()
    return app.exec()

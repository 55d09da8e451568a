"""Start the Qt application (optionally opening a scene file given on the command line)."""

from __future__ import annotations

import sys
from pathlib import Path


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
    window = MainWindow(restore_last=scene is None)
    if scene is not None:
        window.scenes.open_file(Path(scene))
    window.show()
    return app.exec()

"""Start the Qt application."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication


def run_app(args: list[str]) -> int:
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([sys.argv[0], *args])
    app.setApplicationName("DescentLab")
    app.setOrganizationName("DescentLab")
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()

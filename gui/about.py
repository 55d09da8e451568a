"""Help ▸ About: what DescentLab is, its version (from pyproject.toml) and where it comes from."""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.resource_paths import resource_path
from engine.version import app_version


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "descentlab.svg")))


def about_text() -> str:
    return (
        f"<h2>DescentLab {app_version()}</h2>"
        "<p>Watch gradient descent, Newton's method, Rprop and their relatives walk downhill "
        "on a loss surface, step by step, side by side.</p>"
        "<p>It follows the lecture <i>Optimization, part 1</i> (CSC 561, slides from CMU 11-785): "
        "step-size regimes, the condition number κ, Newton's method as iterated quadratic fits, "
        "the Hessian's trouble, quasi-Newton methods and Rprop.</p>"
        "<p>Built with PySide6, pyqtgraph, NumPy, contourpy and SymPy.</p>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("aboutDialog")
    box.setWindowTitle("About DescentLab")
    box.setIconPixmap(app_icon().pixmap(96, 96))
    box.setText(about_text())
    box.open()
    return box

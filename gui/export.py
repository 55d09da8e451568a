"""Export: PNG of the canvas or the whole window at 2×, animated GIF of the race.

The work lives in gui.export_png (PNG), gui.frame_renderer (frames on a private offscreen canvas)
and gui.gif_export (GifExport: render on the GUI thread, encode in the JobRunner). This module
re-exports them and adds the File-menu side: three QActions with their file dialogs
(:class:`ExportActions`) and a small, dialog-free progress bar with a Cancel button for the
status bar (:class:`ExportProgress`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QWidget,
)

from gui.export_png import ExportError, export_png, render_widget, save_image
from gui.frame_renderer import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_SIZE,
    FrameRenderer,
    RacerPath,
    RaceSnapshot,
    frame_iterations,
    snapshot_from_race,
)
from gui.gif_export import GifExport, GifResult, render_gif, write_gif
from gui.jobs import JobRunner

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_SIZE",
    "ExportActions",
    "ExportError",
    "ExportProgress",
    "FrameRenderer",
    "GifExport",
    "GifResult",
    "RaceSnapshot",
    "RacerPath",
    "export_png",
    "frame_iterations",
    "render_gif",
    "render_widget",
    "save_image",
    "snapshot_from_race",
    "write_gif",
]

AskPath = Callable[[str, str, str], str | None]  # (title, suggested path, filter) -> path


class ExportProgress(QWidget):
    """A status-bar strip "Exporting GIF… [=====    ] Cancel", hidden while nothing runs.

    ``attach(export)`` connects it to a GifExport: it shows on ``started``, follows
    ``progress``, hides on finished / failed / cancelled, and its button calls ``cancel()``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Exporting GIF…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the export (no file is written)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def attach(self, export: GifExport) -> None:
        export.started.connect(self._started)
        export.progress.connect(self.set_fraction)
        for signal in (export.finished, export.failed):
            signal.connect(self.hide)
        export.cancelled.connect(self.hide)
        self.cancel_button.clicked.connect(export.cancel)

    @Slot(int)
    def _started(self, frames: int) -> None:
        self.label.setText(f"Exporting GIF ({frames} frames)…")
        self.bar.setValue(0)
        self.show()

    @Slot(float)
    def set_fraction(self, fraction: float) -> None:
        self.bar.setValue(round(1000 * max(0.0, min(1.0, fraction))))


class ExportActions(QObject):
    """File ▸ Export PNG… / Export window PNG… / Export GIF…, ready to put in a menu.

    ``message(text)`` reports results and errors for the status bar. ``ask_path`` is the file
    dialog (title, suggested path, filter) -> chosen path or None; replace it in tests.
    """

    message = Signal(str)

    def __init__(self, window: QWidget, race, jobs: JobRunner, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window = window
        self.race = race
        self.gif = GifExport(jobs, self)
        self.progress_widget = ExportProgress()
        self.progress_widget.attach(self.gif)
        self.folder = (
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
            or os.getcwd()
        )
        self.ask_path: AskPath = self._ask_path
        self.png_action = self._action(
            "export_png", "Export PNG…", "Ctrl+E", self.export_canvas_png
        )
        self.window_png_action = self._action(
            "export_window_png", "Export window PNG…", "Ctrl+Shift+E", self.export_window_png
        )
        self.gif_action = self._action("export_gif", "Export GIF…", "Ctrl+Shift+G", self.export_gif)
        self.gif.started.connect(self._gif_started)
        self.gif.finished.connect(self._gif_finished)
        self.gif.failed.connect(self._gif_failed)
        self.gif.cancelled.connect(self._gif_cancelled)

    @property
    def actions(self) -> list[QAction]:
        """The three actions, in menu order; objectNames export_png, export_window_png,
        export_gif."""
        return [self.png_action, self.window_png_action, self.gif_action]

    def _action(self, name: str, text: str, key: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # -- commands --------------------------------------------------------------------------------
    def export_canvas_png(self, path: str | None = None) -> Path | None:
        return self._png(self.race.canvas, "surface", path)

    def export_window_png(self, path: str | None = None) -> Path | None:
        return self._png(self.window, "window", path)

    def export_gif(self, path: str | None = None) -> bool:
        """Ask for a file and start the GIF export; False if nothing was started."""
        if self.gif.running:
            self.message.emit("A GIF export is already running.")
            return False
        try:
            snapshot = snapshot_from_race(self.race)
        except ValueError as exc:
            self.message.emit(f"Cannot export a GIF: {exc}")
            return False
        path = path or self.ask_path("Export GIF", self._suggest("gif"), "GIF animation (*.gif)")
        if not path:
            return False
        path = _with_suffix(path, ".gif")
        self.folder = str(Path(path).parent)
        self.gif.start(snapshot, path)
        return True

    def shutdown(self) -> None:
        """Cancel a running GIF export (call from closeEvent, before JobRunner.shutdown)."""
        self.gif.cancel()

    # -- internals -------------------------------------------------------------------------------
    def _png(self, widget: QWidget, what: str, path: str | None) -> Path | None:
        path = path or self.ask_path(
            f"Export {what} PNG", self._suggest("png", what), "PNG image (*.png)"
        )
        if not path:
            return None
        path = _with_suffix(path, ".png")
        self.folder = str(Path(path).parent)
        try:
            written = export_png(widget, path, scale=2)
        except (OSError, ValueError, MemoryError) as exc:
            self.message.emit(f"PNG export failed: {exc}")
            return None
        w, h = widget.width() * 2, widget.height() * 2
        self.message.emit(f"Saved {written.name} ({w}×{h})")
        return written

    def _suggest(self, suffix: str, what: str = "") -> str:
        objective = self.race.objective
        base = _slug(objective.title if objective is not None else "descentlab")
        if what == "window":
            base += "-window"
        return str(Path(self.folder) / f"{base}.{suffix}")

    def _ask_path(self, title: str, suggested: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, filters)
        return path or None

    @Slot(int)
    def _gif_started(self, frames: int) -> None:
        self.gif_action.setEnabled(False)  # the progress strip says the rest

    @Slot(str)
    def _gif_finished(self, path: str) -> None:
        self.gif_action.setEnabled(True)
        result = self.gif.result
        if result is not None:
            self.message.emit(
                f"Saved {Path(path).name}: {result.frames} frames, "
                f"{result.size[0]}×{result.size[1]}, {result.bytes / 1e6:.1f} MB"
            )
        else:
            self.message.emit(f"Saved {Path(path).name}")

    @Slot(str)
    def _gif_failed(self, message: str) -> None:
        self.gif_action.setEnabled(True)
        self.message.emit(f"GIF export failed: {message}")

    @Slot()
    def _gif_cancelled(self) -> None:
        self.gif_action.setEnabled(True)
        self.message.emit("GIF export cancelled; no file was written.")


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w.-]+", "-", text.strip().lower()).strip("-.")
    return slug[:60] or "descentlab"


def _with_suffix(path: str, suffix: str) -> str:
    return path if Path(path).suffix else path + suffix

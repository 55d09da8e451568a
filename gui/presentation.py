"""Presentation mode (F5): full screen, editing panels hidden, big fonts, thick lines, and the
lesson's title and explanation above the canvas, readable from the back row."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from gui import theme


class PresentationMode:
    def __init__(self, window: Any) -> None:
        self.window = window
        self.active = False
        self._hidden: list[Any] = []
        self._was_maximized = False
        self._font: QFont | None = None

    def toggle(self) -> None:
        self.set_active(not self.active)

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        w = self.window
        app = QApplication.instance()
        sizes = theme.PRESENTATION if on else theme.NORMAL
        if on:
            self._was_maximized = w.isMaximized()
            self._hidden = [d for d in w.docks() if d.isVisible()]
            for dock in self._hidden:
                dock.hide()
            w.menuBar().hide()
            self._font = QFont(app.font())
            big = QFont(app.font())
            big.setPointSize(sizes.font_pt)
            app.setFont(big)
            w.showFullScreen()
            screen = w.screen()
            if screen is not None:  # without a window manager full screen needs the geometry too
                w.setGeometry(screen.geometry())
        else:
            for dock in self._hidden:
                dock.show()
            self._hidden = []
            w.menuBar().show()
            if self._font is not None:
                app.setFont(self._font)
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()
        w.banner.set_point_sizes(sizes.title_pt, sizes.font_pt)
        w.canvas.apply_sizes(sizes)
        w.loss_plot.apply_sizes(sizes)
        w.overlays.apply_sizes(sizes)
        w.update_banner()

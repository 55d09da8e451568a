"""A basin-of-attraction map drawn on the surface canvas, and its legend.

The map's RGBA image comes from engine.sweeps.basin_image (colours from engine.palette): one
colour per attractor, grey = not converged, black = diverged, darker = more steps. BasinMap row 0
is the lowest y; an ImageItem with ``axisOrder="row-major"`` puts row 0 at the rect's top-left
*corner in data coordinates* (x0, y0), which is the bottom of a y-up view — so the rows go in as
they are, with no flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from engine.palette import (
    DIVERGED_COLOR,
    NOT_CONVERGED_COLOR,
    UNRESOLVED_COLOR,
    attractor_color,
)
from engine.sweeps import BasinMap

BASIN_Z = -7  # above the surface heatmap (-10), under contours (-5), trails and markers
MARKER_Z = 16  # just above the canvas's stationary-point stars (15)
DEFAULT_OPACITY = 0.6
MAX_LEGEND_ATTRACTORS = 12


@dataclass(frozen=True)
class LegendEntry:
    color: str
    text: str
    count: int


def legend_entries(basin: BasinMap) -> list[LegendEntry]:
    """One entry per attractor (kind and point), then not converged, diverged (and unresolved)."""
    entries = []
    for i, att in enumerate(basin.attractors[:MAX_LEGEND_ATTRACTORS]):
        kind = att.name or att.kind
        entries.append(LegendEntry(attractor_color(i), f"{kind} {_point(att.point)}", att.count))
    rest = basin.attractors[MAX_LEGEND_ATTRACTORS:]
    if rest:
        n = sum(a.count for a in rest)
        entries.append(LegendEntry("#ffffff", f"… {len(rest)} more attractors", n))
    counts = basin.counts()
    entries.append(LegendEntry(NOT_CONVERGED_COLOR, "not converged", counts["not_converged"]))
    entries.append(LegendEntry(DIVERGED_COLOR, "diverged", counts["diverged"]))
    if counts["unresolved"]:
        entries.append(
            LegendEntry(UNRESOLVED_COLOR, "converged elsewhere (too many)", counts["unresolved"])
        )
    return entries


def percent(count: int, total: int) -> str:
    """ "26 %", "<1 %" (never a misleading "0 %" for a few starts), "0 %"."""
    if count and 100 * count < total:
        return "<1 %"
    return f"{100 * count / total:.0f} %"


def share(count: int, total: int) -> str:
    """A count as a percentage, or as a number when it is under 1 %."""
    return f"{count:,}" if 100 * count < total else percent(count, total)


def _point(p: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.3g}".replace("-", "−") for v in p) + ")"


class BasinLayer:
    """The basin image (and rings on its attractors) on a canvas plot in data coordinates."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.basin: BasinMap | None = None
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(BASIN_Z)
        self.image.setOpacity(DEFAULT_OPACITY)
        self.rings = pg.ScatterPlotItem(symbol="o", size=20, brush=None, pxMode=True)
        self.rings.setZValue(MARKER_Z)
        self._visible = True
        self._opacity = DEFAULT_OPACITY
        plot.addItem(self.image, ignoreBounds=True)
        plot.addItem(self.rings, ignoreBounds=True)
        self.clear()

    def set_map(self, basin: BasinMap, rgba: np.ndarray) -> None:
        """Show ``rgba`` (N, N, 4 uint8, rows as in the map) over the map's x/y ranges."""
        self.basin = basin
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        (x0, x1), (y0, y1) = basin.x_range, basin.y_range
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if basin.attractors:
            shown = basin.attractors[:MAX_LEGEND_ATTRACTORS]
            self.rings.setData(
                [a.point[0] for a in shown],
                [a.point[1] for a in shown],
                pen=[pg.mkPen(attractor_color(i), width=3) for i in range(len(shown))],
            )
        else:
            self.rings.clear()
        self._apply()

    def clear(self) -> None:
        self.basin = None
        self.image.clear()
        self.rings.clear()
        self._apply()

    def set_opacity(self, opacity: float) -> None:
        self._opacity = float(np.clip(opacity, 0.0, 1.0))
        self.image.setOpacity(self._opacity)

    @property
    def opacity(self) -> float:
        return self._opacity

    def set_visible(self, visible: bool) -> None:
        self._visible = bool(visible)
        self._apply()

    @property
    def visible(self) -> bool:
        """The user's show/hide choice (the items also hide while there is no map)."""
        return self._visible

    def remove(self) -> None:
        self.plot.removeItem(self.image)
        self.plot.removeItem(self.rings)

    def _apply(self) -> None:
        on = self._visible and self.basin is not None
        self.image.setVisible(on)
        self.rings.setVisible(on)


class BasinLegend(QWidget):
    """Colour swatches with what each colour means and how many starts it covers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(3)
        self.grid.setColumnStretch(1, 1)
        self.entries: list[LegendEntry] = []

    def set_map(self, basin: BasinMap | None) -> None:
        self.set_entries([] if basin is None else legend_entries(basin), self._total(basin))

    def set_entries(self, entries: list[LegendEntry], total: int = 0) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        self.entries = list(entries)
        for row, entry in enumerate(self.entries):
            swatch = QLabel()
            swatch.setFixedSize(16, 16)
            swatch.setStyleSheet(
                f"background: {entry.color}; border: 1px solid #606060; border-radius: 3px;"
            )
            text = QLabel(entry.text)
            text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text.setToolTip(entry.text)
            part = percent(entry.count, total) if total else ""
            count = QLabel(f"{entry.count:,}  {part}".strip())
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            count.setStyleSheet("color: palette(mid);" if entry.count == 0 else "")
            self.grid.addWidget(swatch, row, 0)
            self.grid.addWidget(text, row, 1)
            self.grid.addWidget(count, row, 2)

    @staticmethod
    def _total(basin: BasinMap | None) -> int:
        return 0 if basin is None else basin.grid * basin.grid

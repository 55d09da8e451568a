"""The loss-surface canvas: heatmap + colour bar + contour lines + minima + start marker + trails.

2-D objectives draw as a heatmap in data coordinates; 1-D objectives draw E(w) as a curve with the
iterates as points on it (the zig-zag between them shows the step-size regime).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal

from engine.objective import Objective
from gui import theme
from gui.surface import SurfaceData


class Trail:
    """One racer's path on the canvas: a line with a dark outline and a head marker."""

    def __init__(self, plot: pg.PlotItem, color: str, sizes: theme.Sizes) -> None:
        self.color = color
        self.line = pg.PlotDataItem(
            pen=pg.mkPen(color, width=sizes.trail_width),
            shadowPen=pg.mkPen(theme.TRAIL_OUTLINE, width=sizes.trail_width + 2.5),
            symbol="o",
            symbolSize=max(4.0, sizes.trail_width + 2),
            symbolBrush=color,
            symbolPen=pg.mkPen(theme.TRAIL_OUTLINE, width=1),
            antialias=True,
        )
        self.head = pg.ScatterPlotItem(
            size=sizes.head_size,
            brush=pg.mkBrush(color),
            pen=pg.mkPen("#000000", width=2),
            symbol="o",
        )
        self.line.setZValue(20)
        self.head.setZValue(22)
        plot.addItem(self.line)
        plot.addItem(self.head)

    def set_points(self, xs: np.ndarray, ys: np.ndarray, head: tuple[float, float] | None) -> None:
        many = len(xs) > 300
        self.line.setSymbol(None if many else "o")
        self.line.setData(xs, ys)
        self.head.setData([head[0]], [head[1]]) if head else self.head.clear()

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        self.line.setPen(pg.mkPen(self.color, width=sizes.trail_width))
        self.line.setShadowPen(pg.mkPen(theme.TRAIL_OUTLINE, width=sizes.trail_width + 2.5))
        self.head.setSize(sizes.head_size)

    def remove(self, plot: pg.PlotItem) -> None:
        plot.removeItem(self.line)
        plot.removeItem(self.head)


class SurfaceCanvas(pg.GraphicsLayoutWidget):
    """Shows the objective and the racers; a left click asks for a race from that point."""

    startRequested = Signal(object)  # tuple of floats: the clicked data coordinate
    cursorMoved = Signal(object)  # tuple of floats or None when the cursor leaves

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#1e1e24")
        self.sizes = theme.NORMAL
        self.plot: pg.PlotItem = self.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=False)
        self.plot.setLabel("bottom", "x")
        self.plot.setLabel("left", "y")
        self.view = self.plot.getViewBox()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            colorMap=pg.colormap.get(theme.SURFACE_COLORMAP),
            interactive=False,
            width=18,
            label="E",
        )
        self.colorbar.setImageItem(self.image)
        self.addItem(self.colorbar, row=0, col=1)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#e0e0e0", width=2.5))
        self.curve.setZValue(-5)
        self.plot.addItem(self.curve)
        self.contours: list[pg.PlotDataItem] = []
        self.markers = pg.ScatterPlotItem(
            size=theme.NORMAL.marker_size,
            symbol="star",
            brush=pg.mkBrush(theme.MINIMUM_COLOR),
            pen=pg.mkPen("#000000", width=1.2),
        )
        self.markers.setZValue(15)
        self.plot.addItem(self.markers)
        self.start_marker = pg.TargetItem(
            size=18, symbol="crosshair", pen=pg.mkPen(theme.START_COLOR, width=2.5), movable=True
        )
        self.start_marker.setZValue(30)
        self.start_marker.hide()
        self.plot.addItem(self.start_marker)
        self.start_marker.sigPositionChangeFinished.connect(self._marker_dropped)
        self.trails: dict[int, Trail] = {}
        self.objective: Objective | None = None
        self.surface: SurfaceData | None = None
        self.legend = self.plot.addLegend(
            offset=(10, 10), labelTextColor="#f0f0f0", brush=pg.mkBrush(20, 20, 28, 200)
        )
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._moved)

    # -- surface ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.objective.dim if self.objective is not None else 2

    def set_objective(self, objective: Objective, view: tuple[tuple[float, float], ...]) -> None:
        """Switch scene: clear trails and markers, set axes; the surface follows (show_surface)."""
        self.objective = objective
        self.clear_trails()
        self.start_marker.hide()
        one_d = objective.dim == 1
        self.plot.setLabel("bottom", "w" if one_d else "x")
        self.plot.setLabel("left", "E(w)" if one_d else "y")
        self.image.setVisible(not one_d)
        self.colorbar.setVisible(not one_d)
        self.curve.setVisible(one_d)
        pts = [p for p in objective.stationary if _inside(p.point, view)]
        if one_d:
            xs = [p.point[0] for p in pts]
            ys = list(objective.value(np.array(xs).reshape(-1, 1))) if xs else []
        else:
            xs, ys = [p.point[0] for p in pts], [p.point[1] for p in pts]
        symbols = ["star" if p.kind == "minimum" else "t1" for p in pts]
        self.markers.setData(xs, ys, symbol=symbols)
        self.view.setAspectLocked(False)
        if not one_d:
            self.view.setRange(xRange=view[0], yRange=view[1], padding=0)

    def show_surface(self, surface: SurfaceData) -> None:
        self.surface = surface
        for item in self.contours:
            self.plot.removeItem(item)
        self.contours = []
        if self.dim == 1:
            self.curve.setData(
                surface.xs, np.where(np.isfinite(surface.z), surface.z, np.nan), connect="finite"
            )
            lo, hi = surface.y_range
            pad = 0.08 * (hi - lo if hi > lo else 1.0)
            self.view.setRange(xRange=surface.x_range, yRange=(lo - pad, hi + pad), padding=0)
            return
        (x0, x1), (y0, y1) = surface.x_range, surface.y_range
        self.image.setImage(surface.display, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels(surface.display_range)
        self.colorbar.setLabel("left", "log₁₀(E − Emin + δ)" if surface.log_scale else "E")
        pen = pg.mkPen(theme.CONTOUR_COLOR, width=1)
        for _, xs, ys in surface.contours:
            item = pg.PlotDataItem(xs, ys, pen=pen, connect="finite")
            item.setZValue(-5)
            self.plot.addItem(item)
            self.contours.append(item)

    # -- racers ----------------------------------------------------------------------------------
    def set_racers(self, racers: dict[int, tuple[str, str]]) -> None:
        """racer_id -> (colour, title). Creates/removes trails and rebuilds the legend."""
        for rid in list(self.trails):
            if rid not in racers or self.trails[rid].color != racers[rid][0]:
                self.trails.pop(rid).remove(self.plot)
        self.legend.clear()
        for rid, (color, title) in racers.items():
            if rid not in self.trails:
                self.trails[rid] = Trail(self.plot, color, self.sizes)
            self.legend.addItem(self.trails[rid].line, title)

    def set_trail(
        self, racer_id: int, points: np.ndarray, losses: np.ndarray | None = None
    ) -> None:
        trail = self.trails.get(racer_id)
        if trail is None or len(points) == 0:
            return
        if self.dim == 1:
            xs = points[:, 0]
            ys = losses if losses is not None else self.objective.value(points)
        else:
            xs, ys = points[:, 0], points[:, 1]
        trail.set_points(xs, ys, (float(xs[-1]), float(ys[-1])))

    def clear_trails(self) -> None:
        for trail in self.trails.values():
            trail.set_points(np.empty(0), np.empty(0), None)

    def set_start(self, point: tuple[float, ...] | None) -> None:
        if point is None:
            self.start_marker.hide()
            return
        if self.dim == 1:
            y = float(self.objective.value(np.array([[point[0]]]))[0])
            self.start_marker.setPos(QPointF(point[0], y if np.isfinite(y) else 0.0))
        else:
            self.start_marker.setPos(QPointF(point[0], point[1]))
        self.start_marker.show()

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        self.sizes = sizes
        for trail in self.trails.values():
            trail.apply_sizes(sizes)
        self.markers.setSize(sizes.marker_size)
        self.start_marker.setSize(int(sizes.marker_size * 1.3))
        font = pg.QtGui.QFont()
        font.setPointSize(sizes.axis_pt)
        for name in ("bottom", "left"):
            axis = self.plot.getAxis(name)
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)

    # -- input -----------------------------------------------------------------------------------
    def data_point(self, scene_pos: QPointF) -> tuple[float, ...] | None:
        if not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view.mapSceneToView(scene_pos)
        return (float(p.x()),) if self.dim == 1 else (float(p.x()), float(p.y()))

    def scene_point(self, point: tuple[float, ...]) -> QPointF:
        """Where a data coordinate is in widget (viewport) pixels — for tests and tools."""
        y = point[1] if len(point) > 1 else 0.0
        scene = self.view.mapViewToScene(QPointF(point[0], y))
        return self.mapFromScene(scene)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        point = self.data_point(event.scenePos())
        if point is not None and self.objective is not None:
            self.startRequested.emit(point)

    def _marker_dropped(self) -> None:
        pos = self.start_marker.pos()
        point = (float(pos.x()),) if self.dim == 1 else (float(pos.x()), float(pos.y()))
        self.startRequested.emit(point)

    def _moved(self, scene_pos: QPointF) -> None:
        self.cursorMoved.emit(self.data_point(scene_pos))


def _inside(point: tuple[float, ...], view: tuple[tuple[float, float], ...]) -> bool:
    return all(lo <= v <= hi for v, (lo, hi) in zip(point, view))

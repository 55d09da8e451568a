"""The loss-surface canvas: heatmap + colour bar + contour lines + minima + start marker + trails.

2-D objectives draw as a heatmap in data coordinates; 1-D objectives draw E(w) as a curve with the
iterates as points on it (the zig-zag between them shows the step-size regime).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem

from engine.objective import Objective
from gui import theme
from gui.history import SETTLE_BLOCK
from gui.polyline_batch import PolylineBatch
from gui.surface import SurfaceData

HOLD_PAINT_MS = 250  # a surface switch shows nothing half-done for at most this long

# known stationary points: ★ minimum, ▲ maximum, ✕ saddle, ◆ degenerate
STATIONARY_SYMBOLS = {"minimum": "star", "maximum": "t1", "saddle": "x", "degenerate": "d"}


class Trail:
    """One racer's path: a cached settled part (its own item) and a live tail, which is a line
    of the canvas's shared :class:`PolylineBatch` (one item paints every racer's tail).

    Only the tail (at most a few hundred points) is re-rendered each frame; the settled part is
    re-rendered when it grows by a block, so frame time stays flat however long the run.
    """

    def __init__(
        self, plot: pg.PlotItem, tails: PolylineBatch, key: int, color: str, sizes: theme.Sizes
    ) -> None:
        self.color = color
        self.tails = tails
        self.key = key
        self.settled = pg.PlotDataItem(antialias=True)
        # PlotDataItem paints through its child curve/scatter items: cache those
        for child in (self.settled.curve, self.settled.scatter):
            child.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.settled.setZValue(20)
        plot.addItem(self.settled)
        # the legend's sample: never in the scene, it only carries the pens the legend draws
        self.line = pg.PlotDataItem(antialias=True)
        self.head: tuple[float, float] | None = None
        self.settled_key: object = None
        self.visible = True
        self._symbols = True
        self.apply_sizes(sizes)

    def set_path(
        self,
        settled_key: object,
        settled: Callable[[], tuple[np.ndarray, np.ndarray]],
        tail: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Draw the path; ``settled`` is only called when ``settled_key`` changed."""
        if settled_key != self.settled_key:
            self.settled_key = settled_key
            xs, ys = settled()
            # a dot on every iterate while a run is in its first block (a short finished run
            # keeps them); later the path is long (and hundreds of dots per frame would cost)
            first = settled_key[0] if isinstance(settled_key, tuple) else 0
            self._symbols = first < SETTLE_BLOCK and len(xs) <= 300
            self.settled.setSymbol("o" if self._symbols else None)
            self.settled.setData(xs, ys)
        xs, ys = tail
        self.tails.set_line(self.key, xs, ys, dots=self._symbols)
        self.head = (float(xs[-1]), float(ys[-1])) if len(xs) else None

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """All drawn points, settled part first (the tail repeats the junction point)."""
        xs, ys = [np.empty(0) if a is None else a for a in self.settled.getData()]
        tx, ty = self.tails.line_data(self.key)
        if len(xs) and len(tx):
            tx, ty = tx[1:], ty[1:]
        return np.concatenate([xs, tx]), np.concatenate([ys, ty])

    def clear(self) -> None:
        self.settled_key = None
        self.settled.setData([], [])
        self.tails.set_line(self.key, np.empty(0), np.empty(0))
        self.head = None

    def set_visible(self, visible: bool) -> None:
        """Hide or show the whole path and head (the legend entry's click)."""
        self.visible = visible
        self.line.setVisible(visible)  # the legend sample shows it (the click sets it already)
        self.settled.setVisible(visible)
        self.tails.set_line_visible(self.key, visible)

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        width, outline = sizes.trail_width, sizes.trail_width + 2.5
        dot = max(4.0, sizes.trail_width + 2)
        for item in (self.settled, self.line):
            item.setPen(pg.mkPen(self.color, width=width))
            item.setShadowPen(pg.mkPen(theme.TRAIL_OUTLINE, width=outline))
        self.settled.setSymbolSize(dot)
        self.settled.setSymbolBrush(self.color)
        self.settled.setSymbolPen(pg.mkPen(theme.TRAIL_OUTLINE, width=1))
        self.tails.set_style(self.key, self.color, width, theme.TRAIL_OUTLINE, outline, dot)

    def remove(self, plot: pg.PlotItem) -> None:
        plot.removeItem(self.settled)
        self.tails.remove_line(self.key)


class SurfaceCanvas(pg.GraphicsLayoutWidget):
    """Shows the objective and the racers; a left click asks for a race from that point."""

    startRequested = Signal(object)  # tuple of floats: the clicked data coordinate
    cursorMoved = Signal(object)  # tuple of floats or None when the cursor leaves
    pathShown = Signal(int, bool)  # racer id, shown: its legend entry was clicked

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
        # the heatmap only changes with the surface or the view: repaint it from a pixmap
        self.image.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
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
        # the known stationary points and the axes change only with the surface or the view:
        # repaint them from pixmaps (a few tenths of a millisecond per frame otherwise)
        self.markers.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.start_marker = pg.TargetItem(
            size=18,
            symbol="crosshair",
            pen=pg.mkPen(theme.START_COLOR, width=2.5),
            brush=pg.mkBrush(255, 255, 255, 40),
            movable=True,
        )
        self.start_marker.setZValue(30)
        self.start_marker.hide()
        self.plot.addItem(self.start_marker)
        self.start_marker.sigPositionChangeFinished.connect(self._marker_dropped)
        self.trails: dict[int, Trail] = {}
        # every racer's live tail: one item, one paint (above the settled parts); the heads in
        # another above the overlays' arrows and event markers (gui.overlays.style's z order)
        self.tails = PolylineBatch()
        self.tails.setZValue(21)
        self.plot.addItem(self.tails, ignoreBounds=True)
        self.head_dots = PolylineBatch()
        self.head_dots.setZValue(22)
        self.plot.addItem(self.head_dots, ignoreBounds=True)
        self.titles: dict[int, str] = {}
        self.statuses: dict[int, str] = {}
        self.objective: Objective | None = None
        self.surface: SurfaceData | None = None
        self.legend = self.plot.addLegend(
            offset=(10, 10), labelTextColor="#f0f0f0", brush=pg.mkBrush(20, 20, 28, 200)
        )
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._moved)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.setInterval(HOLD_PAINT_MS)
        self._hold.timeout.connect(self._release_painting)

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
        symbols = [STATIONARY_SYMBOLS.get(p.kind, "d") for p in pts]
        self.markers.setData(xs, ys, symbol=symbols)
        self.view.setAspectLocked(False)
        if not one_d:
            self.view.setRange(xRange=view[0], yRange=view[1], padding=0)
        self._hold_painting()

    def _hold_painting(self) -> None:
        """Until the new surface arrives (show_surface), keep showing the old picture: new axes
        and markers over the old heatmap are no use to anyone, and painting them while the
        worker computes the surface slows it down (both want the interpreter). Released after
        HOLD_PAINT_MS whatever happens (a failed computation must not freeze the canvas)."""
        if self.isVisible():
            self.viewport().setUpdatesEnabled(False)
            self._hold.start()

    def _release_painting(self) -> None:
        self._hold.stop()
        if not self.viewport().updatesEnabled():
            self.viewport().setUpdatesEnabled(True)
            self.viewport().update()

    def show_surface(self, surface: SurfaceData) -> None:
        self.surface = surface
        self._release_painting()
        if self.dim == 1:
            for item in self.contours:
                item.setData([], [])
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
        while len(self.contours) < len(surface.contours):  # items are reused across surfaces
            item = pg.PlotDataItem(pen=pen)
            item.setZValue(-5)
            self.plot.addItem(item)
            self.contours.append(item)
        for i, item in enumerate(self.contours):
            if i < len(surface.contours):
                _, xs, ys = surface.contours[i]
                item.setData(xs, ys, connect="finite")
            else:
                item.setData([], [])

    # -- racers ----------------------------------------------------------------------------------
    def set_racers(self, racers: dict[int, tuple[str, str]]) -> None:
        """racer_id -> (colour, title). Creates/removes trails and rebuilds the legend."""
        hidden = set()
        for rid in list(self.trails):
            if rid not in racers or self.trails[rid].color != racers[rid][0]:
                old = self.trails.pop(rid)
                old.remove(self.plot)
                if not old.visible:
                    hidden.add(rid)  # a recoloured racer stays hidden from the legend
        self.legend.clear()
        self.legend.setLabelTextSize(f"{self.sizes.legend_pt}pt")
        self.titles = {rid: title for rid, (_, title) in racers.items()}
        self.statuses = {}
        for rid, (color, title) in racers.items():
            if rid not in self.trails:
                self.trails[rid] = Trail(self.plot, self.tails, rid, color, self.sizes)
                if rid in hidden:
                    self.trails[rid].set_visible(False)
            self._add_legend_entry(self.trails[rid].line, title)

    def set_racer_status(self, racer_id: int, status: str) -> None:
        """Show a finished racer's outcome in the legend (visible in presentation mode too)."""
        if self.statuses.get(racer_id) == status or racer_id not in self.trails:
            return
        self.statuses[racer_id] = status
        line = self.trails[racer_id].line
        text = self.titles.get(racer_id, "") + (f" — {status}" if status else "")
        for sample, label in self.legend.items:
            if sample.item is line:
                label.setText(text)

    def set_trail(
        self,
        racer_id: int,
        settled_key: object,
        settled: Callable[[], np.ndarray],
        tail: np.ndarray,
    ) -> None:
        """Draw a racer's path from positions (n, d); in 1-D the points sit on the curve E(w)."""
        trail = self.trails.get(racer_id)
        if trail is None or len(tail) == 0:
            return
        trail.set_path(settled_key, lambda: self._xy(settled()), self._xy(tail))

    def _xy(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(points) == 0:
            return np.empty(0), np.empty(0)
        if self.dim == 1:
            ys = self.objective.value(points) if self.objective is not None else points[:, 0]
            return points[:, 0], np.where(np.isfinite(ys), ys, np.nan)
        return points[:, 0], points[:, 1]

    def draw_heads(self) -> None:
        """All racers' current positions, one item above every line and arrow."""
        heads = [(t.head, t.color) for t in self.trails.values() if t.head and t.visible]
        self.head_dots.set_heads(
            [h[0] for h, _ in heads],
            [h[1] for h, _ in heads],
            [c for _, c in heads],
            size=self.sizes.head_size,
        )

    def pixel_size(self) -> tuple[float, float]:
        """Data units per screen pixel along x and y (for pixel-level trail thinning)."""
        rect = self.view.viewRect()
        box = self.view.sceneBoundingRect()
        if box.width() <= 0 or box.height() <= 0:
            return (rect.width() / 800 or 1e-9, rect.height() / 800 or 1e-9)
        return (rect.width() / box.width() or 1e-9, rect.height() / box.height() or 1e-9)

    def clear_trails(self) -> None:
        for trail in self.trails.values():
            trail.clear()
        self.head_dots.set_heads([], [], [])

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
        self.draw_heads()
        # TargetItem keeps its on-screen size in `scale` and rebuilds its shape from it
        self.start_marker.scale = int(sizes.marker_size * 1.3)
        self.start_marker.viewTransformChanged()
        self.start_marker.update()
        font = pg.QtGui.QFont()
        font.setPointSize(sizes.axis_pt)
        for axis in (
            self.plot.getAxis("bottom"),
            self.plot.getAxis("left"),
            self.colorbar.getAxis("right"),
            self.colorbar.getAxis("left"),
        ):
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)
        self.legend.setLabelTextSize(f"{sizes.legend_pt}pt")
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        """Legend entries pick up the label size when they are added, so re-add them."""
        entries = [(sample.item, label.text) for sample, label in self.legend.items]
        self.legend.clear()
        for item, text in entries:
            self._add_legend_entry(item, text)

    def _add_legend_entry(self, item: pg.PlotDataItem, text: str) -> None:
        """A legend line; clicking its sample hides or shows that racer's whole path."""
        self.legend.addItem(item, text)
        sample, label = self.legend.items[-1]
        sample.sigClicked.connect(self._legend_clicked)
        # the legend changes only with the racers and their outcomes: repaint it from pixmaps
        cache = QGraphicsItem.CacheMode.DeviceCoordinateCache
        for part in (self.legend, sample, label, *label.childItems()):
            part.setCacheMode(cache)

    def _legend_clicked(self, item: pg.PlotDataItem) -> None:
        for rid, trail in self.trails.items():
            if trail.line is item:
                trail.set_visible(item.isVisible())
                self.draw_heads()
                self.pathShown.emit(rid, trail.visible)

    def path_shown(self, racer_id: int) -> bool:
        """Whether a racer's path is shown (its legend entry can hide it)."""
        trail = self.trails.get(racer_id)
        return trail is None or trail.visible

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
        if self.legend.isVisible() and self.legend.sceneBoundingRect().contains(event.scenePos()):
            return  # a click on the legend (its sample shows or hides a path) starts nothing
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

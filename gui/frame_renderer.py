"""Frames of a race drawn on a private, never-shown SurfaceCanvas: the GIF and headless PNG source.

A :class:`RaceSnapshot` is plain data (the objective, view, surface, each racer's copied path up to
the current step); a :class:`FrameRenderer` draws iteration ``k`` of it into a QImage. The visible
canvas is never touched, so exporting does not disturb the race on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from engine.objective import Objective
from gui import theme
from gui.canvas import SurfaceCanvas
from gui.export_png import render_widget
from gui.history import SETTLE_BLOCK, thin_trail
from gui.surface import SurfaceData

DEFAULT_SIZE = (800, 600)
DEFAULT_MAX_FRAMES = 120
BACKGROUND = "#1e1e24"  # the canvas's own background (SurfaceCanvas.setBackground)
LEGEND_MARGIN = 10  # px, as SurfaceCanvas places it


@dataclass(frozen=True)
class RacerPath:
    """One racer's positions for iterations 0..len-1 (a private copy, never written to)."""

    racer_id: int
    color: str
    title: str
    positions: np.ndarray  # (k + 1, d)


@dataclass(frozen=True)
class RaceSnapshot:
    """Everything a frame needs, copied out of the live race (or built headless)."""

    objective: Objective
    view: tuple[tuple[float, float], ...]
    surface: SurfaceData
    racers: tuple[RacerPath, ...]
    start: tuple[float, ...] | None
    sizes: theme.Sizes = theme.NORMAL

    @property
    def last(self) -> int:
        """The last iteration shown (the longest path's end; 0 when nothing has moved)."""
        return max((len(r.positions) - 1 for r in self.racers), default=0)


def snapshot_from_race(race, sizes: theme.Sizes | None = None) -> RaceSnapshot:
    """Copy the current race out of a RaceController: start to the shown step (the rewind cursor
    if rewound, else the latest). Raises ValueError when there is nothing to export yet."""
    canvas = race.canvas
    if race.objective is None or canvas.surface is None:
        raise ValueError("nothing to export yet: the surface is still being computed")
    paths = []
    for racer in race.racers:
        history = race.histories.get(racer.racer_id)
        if not racer.enabled or history is None or history.count == 0:
            continue
        upto = history.shown_iteration if race.cursor is None else race.cursor
        positions = np.array(history.positions(upto), dtype=float, copy=True)
        paths.append(RacerPath(racer.racer_id, racer.color, racer.title, positions))
    return RaceSnapshot(
        objective=race.objective,
        view=tuple(race.view),
        surface=canvas.surface,
        racers=tuple(paths),
        start=race.start,
        sizes=sizes or canvas.sizes,
    )


def frame_iterations(last: int, max_frames: int = DEFAULT_MAX_FRAMES) -> list[int]:
    """Evenly spaced iterations 0..last, at most ``max_frames`` of them, always with 0 and last."""
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1 (got {max_frames})")
    last = max(0, int(last))
    if last == 0 or max_frames == 1:
        return [last]
    count = min(max_frames, last + 1)
    # spacing last / (count - 1) ≥ 1, so rounding keeps every iteration distinct
    return [int(v) for v in np.rint(np.linspace(0, last, count))]


class FrameRenderer:
    """Draws iteration ``k`` of a snapshot on its own offscreen canvas (GUI thread only)."""

    def __init__(self, snapshot: RaceSnapshot, size: tuple[int, int] = DEFAULT_SIZE) -> None:
        width, height = int(size[0]), int(size[1])
        if not (64 <= width <= 4096 and 64 <= height <= 4096):
            raise ValueError(f"frame size must be 64–4096 pixels per side (got {width}×{height})")
        self.snapshot = snapshot
        self.size = (width, height)
        canvas = SurfaceCanvas()
        canvas.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        canvas.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        canvas.resize(width, height)
        if snapshot.sizes != canvas.sizes:
            canvas.apply_sizes(snapshot.sizes)
        canvas.set_objective(snapshot.objective, snapshot.view)
        canvas.show_surface(snapshot.surface)
        canvas.set_racers({r.racer_id: (r.color, r.title) for r in snapshot.racers})
        canvas.set_start(snapshot.start)
        # the heatmap and contours never change between frames: paint them from a cache
        cache = pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        canvas.image.setCacheMode(cache)
        for item in canvas.contours:
            item.curve.setCacheMode(cache)
        font = pg.QtGui.QFont()
        font.setPointSize(max(9, snapshot.sizes.axis_pt))
        font.setBold(True)
        self.label = pg.TextItem(
            "",
            color="#f0f0f0",
            anchor=(1, 0),
            fill=pg.mkBrush(20, 20, 28, 200),
        )
        self.label.setFont(font)
        self.label.setZValue(40)
        canvas.plot.addItem(self.label, ignoreBounds=True)
        canvas.show()  # not on screen (WA_DontShowOnScreen): delivers resize and layout
        canvas.ci.layout.activate()
        canvas.hide()  # and not repainted by the event loop either: only render() paints it
        self.canvas = canvas
        self._pixel: tuple[float, float] | None = None
        self._label_corner = "top-right"
        self._place_legend_and_label()

    @property
    def last(self) -> int:
        return self.snapshot.last

    def frame_iterations(self, max_frames: int = DEFAULT_MAX_FRAMES) -> list[int]:
        return frame_iterations(self.last, max_frames)

    def show_iteration(self, k: int) -> None:
        """Put every racer's path up to iteration ``k`` (clipped to its own end) on the canvas."""
        canvas = self.canvas
        if self._pixel is None and self.snapshot.objective.dim == 2:
            self._pixel = canvas.pixel_size()
        pixel = self._pixel
        for racer in self.snapshot.racers:
            end = min(k, len(racer.positions) - 1)
            settled = (end // SETTLE_BLOCK) * SETTLE_BLOCK
            pts = racer.positions
            canvas.set_trail(
                racer.racer_id,
                (settled, pixel),
                lambda p=pts, s=settled: thin_trail(p[: s + 1], pixel),
                thin_trail(pts[settled : end + 1], pixel),
            )
        canvas.draw_heads()
        self.label.setText(f"k = {k}")
        (x0, x1), (y0, y1) = _view_box(canvas)
        right, bottom = (
            self._label_corner.endswith("right"),
            self._label_corner.startswith("bottom"),
        )
        self.label.setAnchor((1 if right else 0, 1 if bottom else 0))
        self.label.setPos(x1 if right else x0, y0 if bottom else y1)

    # -- layout of the legend and the step label -------------------------------------------------
    def _place_legend_and_label(self) -> None:
        """Put the legend, then the "k = …" label, in the corners where they hide the fewest
        path points (and, in 1-D, the fewest points of the curve E(w))."""
        canvas = self.canvas
        points = self._points_to_keep_visible()
        legend = canvas.legend
        legend_size = legend.boundingRect().size()
        self.label.setText(f"k = {self.last}")
        label_size = self.label.textItem.boundingRect().size()
        order = ("top-left", "top-right", "bottom-left", "bottom-right")
        legend_corner = min(
            order, key=lambda c: _covered(canvas, points, c, legend_size, LEGEND_MARGIN)
        )
        x_sign = 1 if legend_corner.endswith("left") else -1
        y_sign = 1 if legend_corner.startswith("top") else -1
        anchor = (0 if x_sign > 0 else 1, 0 if y_sign > 0 else 1)
        legend.anchor(
            itemPos=anchor,
            parentPos=anchor,
            offset=(x_sign * LEGEND_MARGIN, y_sign * LEGEND_MARGIN),
        )
        rest = [
            c
            for c in ("top-right", "bottom-right", "top-left", "bottom-left")
            if c != legend_corner
        ]
        self._label_corner = min(rest, key=lambda c: _covered(canvas, points, c, label_size, 0))

    def _points_to_keep_visible(self) -> np.ndarray:
        snap = self.snapshot
        parts = []
        for racer in snap.racers:
            pts = racer.positions
            if snap.objective.dim == 1:
                with np.errstate(all="ignore"):
                    ys = snap.objective.value(pts[:, :1])
                pts = np.column_stack([pts[:, 0], ys])
            parts.append(pts[:, :2])
        if snap.objective.dim == 1 and len(snap.surface.xs):
            parts.append(np.column_stack([snap.surface.xs, snap.surface.z.reshape(-1)]))
        if not parts:
            return np.empty((0, 2))
        pts = np.concatenate(parts)
        return pts[np.all(np.isfinite(pts), axis=1)]

    def render(self, k: int, scale: float = 1.0) -> QImage:
        """Iteration ``k`` as an image of ``scale`` × the frame size (RGB32)."""
        self.show_iteration(k)
        return render_widget(self.canvas, scale, QColor(BACKGROUND))

    def close(self) -> None:
        self.canvas.close()
        self.canvas.deleteLater()


def _view_box(canvas: SurfaceCanvas) -> tuple[tuple[float, float], tuple[float, float]]:
    """(x0, x1), (y0, y1) of the visible data rectangle, each ascending."""
    rect = canvas.view.viewRect()
    xs = sorted((rect.left(), rect.right()))
    ys = sorted((rect.top(), rect.bottom()))
    return (xs[0], xs[1]), (ys[0], ys[1])


def _covered(canvas: SurfaceCanvas, points: np.ndarray, corner: str, size, margin: float) -> int:
    """How many ``points`` a box of ``size`` pixels in ``corner`` (``margin`` px in) would hide."""
    if not len(points):
        return 0
    (x0, x1), (y0, y1) = _view_box(canvas)
    px, py = canvas.pixel_size()
    w, h = (size.width() + margin) * px, (size.height() + margin) * py
    xs, ys = points[:, 0], points[:, 1]
    in_x = xs <= x0 + w if corner.endswith("left") else xs >= x1 - w
    in_y = ys >= y1 - h if corner.startswith("top") else ys <= y0 + h
    return int(np.count_nonzero(in_x & in_y))

"""What every overlay shares: the frame it draws, item groups per racer, arrows, labels, and the
display geometry that keeps anything non-finite (or absurdly far away) out of the scene.

An overlay never computes optimizer quantities: it draws what the engine put in the racers'
StepRecords. The only arithmetic here is display geometry (pixel scaling, clipping, angles).

Drawing is built for a 60 fps frame budget with many racers and every overlay on:

* lines, arrow heads and markers are *shapes* painted by a few ``Layer`` items (one per overlay and
  z-level, for all racers together), not one pyqtgraph item each: one paint call per layer, no
  per-item bookkeeping, and a shape's path is built only when its data change; a shape that did
  not change since the last frame is blitted from a pixel cache of itself, and the wide
  translucent halos are stroked opaquely into a scratch image blended once (``_stroke``);
* labels are plain Qt items (a box with a text in it, a fixed pixel size) whose pixels are cached
  while their text holds still: one blit per frame, wherever they move;
* a racer whose shown record, settings and view did not change since the last frame is not drawn
  again (``Overlay.draw``), and the label layout (``layout_labels``) is skipped when none of its
  inputs changed.
"""

from __future__ import annotations

import html
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import renderSymbol
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsRectItem,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
)

from engine.objective import Objective
from engine.run import StepRecord
from gui import theme
from gui.history import RacerHistory
from gui.overlays import style
from gui.racers import RacerConfig

Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in data (display) coordinates

SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
LAYER_BOUNDS = 3.5  # layers claim the view grown this much (geometry is clipped to 3×)


# -- the frame -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RacerFrame:
    """One racer as currently shown (live or rewound)."""

    racer_id: int
    config: RacerConfig
    record: StepRecord
    history: RacerHistory
    k: int  # the shown iteration (== record.iteration)
    head: np.ndarray  # (d,) the shown point in parameter space
    head_xy: tuple[float, float]  # where the head is drawn: (x, y) in 2-D, (w, E(w)) in 1-D
    duplicate: bool = False  # drawn at the same pixel as an earlier racer's head

    @property
    def color(self) -> str:
        return self.config.color

    def memo(self) -> tuple:
        """What this racer's drawing depends on (objects by identity: the caller keeps them)."""
        return (
            self.racer_id,
            id(self.record),
            self.k,
            self.duplicate,
            id(self.config),
            id(self.history),
            self.history.epoch,
        )

    def point_xy(self, iteration: int) -> tuple[float, float] | None:
        """Display position of an earlier iteration of this racer (None: unknown or non-finite)."""
        if not 0 <= iteration < self.history.count:
            return None
        p = self.history.point(iteration)
        if p.shape[0] == 1:
            y = float(self.history.losses(iteration)[iteration])
            xy = (float(p[0]), y)
        else:
            xy = (float(p[0]), float(p[1]))
        return xy if math.isfinite(xy[0]) and math.isfinite(xy[1]) else None


@dataclass(frozen=True)
class Frame:
    """Everything an overlay needs to draw one frame."""

    dim: int
    objective: Objective | None
    racers: tuple[RacerFrame, ...]
    view: Box  # the visible data rectangle
    pixel: tuple[float, float]  # data units per screen pixel along x and y
    plot_px: tuple[float, float]  # plot area size in pixels
    sizes: theme.Sizes

    @property
    def short_side_px(self) -> float:
        return max(60.0, min(self.plot_px))

    @property
    def geometry(self) -> tuple:
        """What every drawing depends on besides the racer itself."""
        return (self.view, self.pixel, self.plot_px, self.sizes, self.dim, id(self.objective))

    def far_box(self, factor: float = 3.0) -> Box:
        """The view grown ``factor`` times about its centre: geometry is clipped to this."""
        x0, x1, y0, y1 = self.view
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        hx, hy = 0.5 * factor * (x1 - x0), 0.5 * factor * (y1 - y0)
        return (cx - hx, cx + hx, cy - hy, cy + hy)

    def to_px(self, v: Sequence[float]) -> tuple[float, float]:
        """A data-space displacement in pixels (screen y up)."""
        return (v[0] / self.pixel[0], v[1] / self.pixel[1])

    def along(self, direction: Sequence[float], length_px: float) -> np.ndarray | None:
        """The data-space vector along ``direction`` that is ``length_px`` pixels long on screen."""
        dx, dy = float(direction[0]), float(direction[1])
        if not (math.isfinite(dx) and math.isfinite(dy)):
            return None
        vx, vy = dx / self.pixel[0], dy / self.pixel[1]
        n = math.hypot(vx, vy)
        if not math.isfinite(n) or n == 0.0:
            return None
        s = length_px / n
        return np.array((dx * s, dy * s))

    def offset(self, xy: Sequence[float], dx_px: float, dy_px: float) -> tuple[float, float]:
        """A point moved by a pixel offset (screen y up)."""
        return (xy[0] + dx_px * self.pixel[0], xy[1] + dy_px * self.pixel[1])


# -- small helpers -------------------------------------------------------------------------------
def fmt(value: float, digits: int = 3) -> str:
    """A number for a projector: few digits, a real minus sign, ∞, and 1.2·10⁻⁵ style exponents."""
    v = float(value)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        text = np.format_float_positional(
            v, precision=digits, unique=False, fractional=False, trim="-"
        )
    else:
        mantissa, exp = f"{v:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}·10{str(int(exp)).translate(SUPERSCRIPTS)}"
    return text.replace("-", "−")


def sub(n: int | str) -> str:
    """Subscript digits: sub(12) == '₁₂'."""
    return str(n).translate(SUBSCRIPTS)


_isfinite = math.isfinite


def finite(*values: Any) -> bool:
    """Every number in ``values`` (scalars, tuples of them, arrays) is finite."""
    for v in values:
        if isinstance(v, float | int):
            if not _isfinite(v):
                return False
        elif isinstance(v, tuple) and all(isinstance(x, float | int) for x in v):
            if not all(_isfinite(x) for x in v):
                return False
        elif not bool(np.all(np.isfinite(np.asarray(v, float)))):
            return False
    return True


def unit(v: np.ndarray) -> np.ndarray | None:
    """v / ‖v‖ without overflow (None for a zero or non-finite vector)."""
    v = np.asarray(v, float)
    if not np.all(np.isfinite(v)):
        return None
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0.0:
        return None
    u = v / m
    return u / float(np.sqrt(np.sum(u * u)))


def clip_segment(
    p0: Sequence[float], p1: Sequence[float], box: Box
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of segment p0–p1 inside ``box`` (Liang–Barsky), or None."""
    x0, y0 = float(p0[0]), float(p0[1])
    x1, y1 = float(p1[0]), float(p1[1])
    if not (_isfinite(x0) and _isfinite(y0) and _isfinite(x1) and _isfinite(y1)):
        return None
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[1] - x0), (-dy, y0 - box[2]), (dy, box[3] - y0)):
        if p == 0.0:
            if q < 0.0:
                return None
            continue
        r = q / p
        if p < 0.0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return (x0 + t0 * dx, y0 + t0 * dy), (x0 + t1 * dx, y0 + t1 * dy)


Polyline = tuple[np.ndarray, np.ndarray, np.ndarray]  # xs, ys, connect (point i → i + 1)


def polyline(pieces: Iterable[tuple[Any, Any]], box: Box) -> Polyline:
    """Pieces (xs, ys) as one path with a connect mask and no NaN separators: points that are
    non-finite or outside ``box`` are dropped and break their piece. Everything returned is
    finite, so nothing non-finite ever reaches the scene."""
    pieces = list(pieces)
    if not pieces:
        return np.empty(0), np.empty(0), np.empty(0, bool)
    sizes = [np.size(xs) for xs, _ in pieces]
    xs = np.concatenate([np.asarray(x, float).ravel() for x, _ in pieces])
    ys = np.concatenate([np.asarray(y, float).ravel() for _, y in pieces])
    with np.errstate(invalid="ignore"):
        ok = (xs >= box[0]) & (xs <= box[1]) & (ys >= box[2]) & (ys <= box[3])  # NaN: False
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return np.empty(0), np.empty(0), np.empty(0, bool)
    # a point connects to the next kept one if that is its neighbour in the same piece
    piece_of = np.repeat(np.arange(len(sizes)), sizes)[idx]
    conn = np.zeros(idx.size, bool)
    conn[:-1] = (np.diff(idx) == 1) & (piece_of[1:] == piece_of[:-1])
    return xs[idx], ys[idx], conn


def set_polyline(item: Curve, line: Polyline) -> bool:
    """Show a polyline from ``polyline`` (hide the item when nothing is left)."""
    xs, ys, conn = line
    if xs.size < 2 or not conn.any():
        item.setData(np.empty(0), np.empty(0))
        item.hide()
        return False
    item.setData(xs, ys, connect=conn)
    item.show()
    return True


def pen(color: Any, width: float, style_: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    p = pg.mkPen(color, width=width)
    p.setStyle(style_)
    p.setCapStyle(Qt.PenCapStyle.RoundCap)
    return p


def outline_pen(width: float) -> QPen:
    return pg.mkPen(style.OVERLAY_OUTLINE, width=width + 2.5)


def _path(xs: np.ndarray, ys: np.ndarray, connect: np.ndarray | None = None) -> QPainterPath:
    """A QPainterPath through the points (``connect[i]``: point i joins point i + 1)."""
    n = len(xs)
    if n > 16:  # pyqtgraph's builder: one pass in numpy
        if connect is None:
            return pg.arrayToQPath(xs, ys)
        return pg.arrayToQPath(xs, ys, connect=np.asarray(connect, np.int32))
    path = QPainterPath()
    x, y = xs.tolist(), ys.tolist()
    path.moveTo(x[0], y[0])
    for i in range(1, n):
        if connect is None or connect[i - 1]:
            path.lineTo(x[i], y[i])
        else:
            path.moveTo(x[i], y[i])
    return path


def _pixel_ratio(p: QPainter) -> float:
    """Device pixels per logical pixel where ``p`` paints: the screen's ratio, or an export's
    (gui.export_png paints the widget into an image of 2× its size through the same painter)."""
    t, d = p.transform(), p.deviceTransform()
    logical, device = math.hypot(t.m11(), t.m12()), math.hypot(d.m11(), d.m12())
    ratio = device / logical if logical > 0.0 else 1.0
    return ratio if math.isfinite(ratio) and ratio > 0.0 else 1.0


STROKE_BUFFER_MAX_PX = 160_000  # translucent strokes larger on screen are drawn directly


def _stroke(p: QPainter, path: QPainterPath, pen: QPen, tr: QTransform, dpr: float) -> None:
    """``p.drawPath(path)`` with ``pen`` under the transform ``tr``.

    Qt rasterizes a wide translucent pen (every overlay line's dark halo, the arrow heads'
    outlines) a few times slower than an opaque one. The same pixels come from stroking
    opaquely into a scratch image the size of the stroke and blending that once with the
    pen's alpha, which is what happens for such pens (twice as fast, scratch image included)."""
    color = pen.color()
    alpha = color.alpha()
    p.setBrush(Qt.BrushStyle.NoBrush)
    if alpha in (0, 255) or pen.widthF() <= 1.0 or pen.style() != Qt.PenStyle.SolidLine:
        p.setTransform(tr)
        p.setPen(pen)
        p.drawPath(path)
        return
    pad = 0.5 * pen.widthF() + 2.0
    rect = tr.mapRect(path.controlPointRect()).adjusted(-pad, -pad, pad, pad)
    x0, y0 = math.floor(rect.left()), math.floor(rect.top())
    w, h = math.ceil(rect.right()) - x0, math.ceil(rect.bottom()) - y0
    if not (0 < w * h <= STROKE_BUFFER_MAX_PX) or not (abs(x0) < 1e6 and abs(y0) < 1e6):
        p.setTransform(tr)
        p.setPen(pen)
        p.drawPath(path)
        return
    size = (math.ceil(w * dpr), math.ceil(h * dpr))
    image = QImage(*size, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    image.fill(0)
    opaque = QPen(pen)
    solid = QColor(color)
    solid.setAlpha(255)
    opaque.setColor(solid)
    scratch = QPainter(image)
    try:
        scratch.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        scratch.setTransform(tr * QTransform.fromTranslate(-x0, -y0))
        scratch.setPen(opaque)
        scratch.drawPath(path)
    finally:
        scratch.end()
    opacity = p.opacity()
    p.resetTransform()
    p.setOpacity(opacity * alpha / 255.0)
    p.drawImage(QPointF(x0, y0), image)
    p.setOpacity(opacity)


def _thick(p: QPen, factor: float) -> QPen:
    if factor == 1.0 or not p.isCosmetic():
        return p
    out = QPen(p)
    out.setWidthF(max(p.widthF(), 1.0) * factor)
    return out


# -- shapes and layers ---------------------------------------------------------------------------
class Layer(QGraphicsObject):
    """Every shape one overlay draws at one z-level, for all racers: one item, one paint call."""

    def __init__(self, plot: pg.PlotItem, z: float) -> None:
        super().__init__()
        self.plot = plot
        self.shapes: list[Shape] = []
        self._bounds = QRectF()
        self.pixel: tuple[float, float] | None = None  # data units per screen pixel (x, y)
        self.setZValue(z)
        plot.addItem(self, ignoreBounds=True)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def set_bounds(self, box: Box) -> None:
        """The data rectangle this layer may paint in (everything visible lies inside)."""
        x0, x1, y0, y1 = box
        rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        if rect != self._bounds:
            self.prepareGeometryChange()
            self._bounds = rect

    def paint(self, p: QPainter, option: Any, widget: Any = None) -> None:
        shapes = [s for s in self.shapes if s.visible]
        if not shapes:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        tr = p.transform()
        dpr = _pixel_ratio(p)
        screen = widget.devicePixelRatioF() if widget is not None else dpr
        # an export at a higher ratio than the screen: cosmetic pens are one *device* pixel
        # wide, so the lines are thickened by the ratio, as gui.export_png does for pyqtgraph's
        # curves (the export looks like the screen, only finer)
        scale = dpr / screen if dpr > 1.001 * screen else 1.0
        for shape in shapes:
            if scale == 1.0 and shape.cacheable and shape._painted == shape._version:
                shape.paint_cached(p, tr, dpr)  # unchanged since the last frame: its pixels
            else:
                shape.paint(p, tr, scale, dpr)
                shape._painted = shape._version
        p.setTransform(tr)

    def remove(self) -> None:
        self.plot.removeItem(self)
        if self.scene() is not None:
            self.scene().removeItem(self)
        self.shapes = []


CACHE_MAX_PX = 250_000  # shapes larger on screen are painted directly every frame
STILL_PX = 0.25  # a shape that moved less than this on screen is not drawn again
STILL_MAX_POINTS = 64  # longer lines (model curves, level sets) are drawn again when set
STILL_DEGREES = 0.5  # an arrow head turned less than this is not drawn again (≈ 0.15 px)


class Shape:
    """One racer's part of a layer (shown, like a new Qt item; an empty shape paints nothing).

    A shape that did not change since the last frame is drawn from a pixel cache of itself
    (wide translucent strokes, like the dark halos under every overlay line, are slow to
    rasterize; a blit is not): ``changed`` marks it for painting afresh."""

    cacheable = True

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.visible = True
        self._version = 0  # bumped on every change
        self._painted = -1  # the version painted last
        self._cache: tuple | None = None  # (key, image, device top-left) or None
        layer.shapes.append(self)

    def changed(self) -> None:
        self._version += 1
        self._cache = None
        self.layer.update()

    def _still(self, old_xs: Sequence[float], old_ys: Sequence[float], xs, ys) -> bool:
        """Whether points moved less than STILL_PX on screen since they were drawn: a racer
        creeping along moves its arrows by hundredths of a pixel per frame, and drawing them
        again would show the same pixels (the shape keeps its drawn geometry). Plain floats:
        shapes have a handful of points, and this runs for every shape on every frame."""
        pixel = self.layer.pixel
        if pixel is None or not self.visible or len(xs) != len(old_xs) or len(ys) != len(xs):
            return False
        tx, ty = STILL_PX * pixel[0], STILL_PX * pixel[1]
        # a NaN (a break in a line) compares False: drawn again
        return all(abs(a - b) < tx for a, b in zip(xs, old_xs)) and all(
            abs(a - b) < ty for a, b in zip(ys, old_ys)
        )

    def show(self) -> None:
        if not self.visible:
            self.visible = True
            self.layer.update()

    def hide(self) -> None:
        if self.visible:
            self.visible = False
            self.layer.update()

    def isVisible(self) -> bool:
        return self.visible

    def detach(self) -> None:
        if self in self.layer.shapes:
            self.layer.shapes.remove(self)
            self.layer.update()
        self._cache = None

    def paint(self, p: QPainter, tr: QTransform, scale: float, dpr: float) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def device_rect(self, tr: QTransform) -> QRectF | None:
        """Where the shape paints, in device pixels under ``tr`` (None: nothing)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def paint_cached(self, p: QPainter, tr: QTransform, dpr: float) -> None:
        key = (tr.m11(), tr.m12(), tr.m21(), tr.m22(), tr.dx(), tr.dy(), dpr)
        cache = self._cache
        if cache is None or cache[0] != key:
            cache = self._cache = (key, *self._render(tr, dpr))
        image, corner = cache[1], cache[2]
        if image is None:
            if corner is not None:  # too large to cache: paint directly
                self.paint(p, tr, 1.0, dpr)
            return
        p.resetTransform()
        p.drawImage(corner, image)

    def _render(self, tr: QTransform, dpr: float) -> tuple[QImage | None, QPointF | None]:
        """The shape painted into an image the size of its device rectangle (whole pixels, so
        the pixels are the very ones painting directly gives)."""
        rect = self.device_rect(tr)
        if rect is None or not rect.isValid():
            return None, None
        x0, y0 = math.floor(rect.left()), math.floor(rect.top())
        w, h = math.ceil(rect.right()) - x0, math.ceil(rect.bottom()) - y0
        if w <= 0 or h <= 0 or w * h > CACHE_MAX_PX or not (abs(x0) < 1e6 and abs(y0) < 1e6):
            return None, QPointF(0.0, 0.0)
        image = QImage(
            math.ceil(w * dpr), math.ceil(h * dpr), QImage.Format.Format_ARGB32_Premultiplied
        )
        image.setDevicePixelRatio(dpr)
        image.fill(0)
        painter = QPainter(image)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self.paint(painter, tr * QTransform.fromTranslate(-x0, -y0), 1.0, dpr)
        finally:
            painter.end()
        return image, QPointF(x0, y0)


class Curve(Shape):
    """A polyline in data coordinates: a cosmetic pen over a wider dark (or light) halo, and an
    optional fill (the area down to ``fill_level``), painted like a pyqtgraph curve."""

    def __init__(
        self,
        layer: Layer,
        pen: Any = None,
        shadowPen: Any = None,
        fillBrush: Any = None,
    ) -> None:
        super().__init__(layer)
        self.pen = pg.mkPen(pen if pen is not None else (200, 200, 200))
        self.shadow = pg.mkPen(shadowPen) if shadowPen is not None else None
        self.fill = pg.mkBrush(fillBrush) if fillBrush is not None else None
        self.fill_level: float | None = None
        self.path: QPainterPath | None = None
        self._fill_path: QPainterPath | None = None
        self._xs = np.empty(0)
        self._ys = np.empty(0)
        self._connect: np.ndarray | None = None

    def setPen(self, pen: Any) -> None:
        self.pen = pg.mkPen(pen)
        self.changed()

    def setShadowPen(self, pen: Any) -> None:
        self.shadow = pg.mkPen(pen) if pen is not None else None
        self.changed()

    def setFillLevel(self, level: float | None) -> None:
        if level != self.fill_level:
            self.fill_level = level
            self._fill_path = None
            self.changed()

    def setData(self, xs: Any, ys: Any, connect: np.ndarray | None = None) -> None:
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        if len(xs) <= STILL_MAX_POINTS and self._unmoved(xs.tolist(), ys.tolist(), connect):
            return
        self._xs, self._ys = xs, ys
        self._connect = None if connect is None else np.array(connect, bool)
        self.path = _path(self._xs, self._ys, connect) if len(self._xs) else None
        self._fill_path = None
        self.changed()

    def _unmoved(self, xs: list[float], ys: list[float], connect: np.ndarray | None) -> bool:
        if self.path is None or len(xs) != len(self._xs):
            return False
        if (connect is None) != (self._connect is None) or (
            connect is not None and not np.array_equal(connect, self._connect)
        ):
            return False
        return self._still(self._xs.tolist(), self._ys.tolist(), xs, ys)

    def set_segment(self, p0: Sequence[float], p1: Sequence[float]) -> None:
        """A single segment (the cheap way for arrows and axes)."""
        x0, y0, x1, y1 = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
        if self._unmoved([x0, x1], [y0, y1], None):
            return
        self._connect = None
        self._xs = np.array((x0, x1))
        self._ys = np.array((y0, y1))
        path = QPainterPath()
        path.moveTo(x0, y0)
        path.lineTo(x1, y1)
        self.path = path
        self._fill_path = None
        self.changed()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self._xs, self._ys

    def _fill(self) -> QPainterPath:
        if self._fill_path is None:  # as pyqtgraph: the curve closed down to the fill level
            path = QPainterPath(self.path)
            base = self.fill_level
            lx, rx = float(self._xs[0]), float(self._xs[-1])
            ly, ry = float(self._ys[0]), float(self._ys[-1])
            if ry != base:
                path.lineTo(rx, base)
            path.lineTo(lx, base)
            if ly != base:
                path.lineTo(lx, ly)
            self._fill_path = path
        return self._fill_path

    def device_rect(self, tr: QTransform) -> QRectF | None:
        if self.path is None:
            return None
        widths = [self.pen.widthF()] + ([self.shadow.widthF()] if self.shadow is not None else [])
        pad = 0.5 * max(max(widths), 1.0) + 2.0
        rect = tr.mapRect(self.path.controlPointRect())
        if self.fill is not None and self.fill_level is not None:
            rect = rect.united(tr.mapRect(self._fill().controlPointRect()))
        return rect.adjusted(-pad, -pad, pad, pad)

    def paint(self, p: QPainter, tr: QTransform, scale: float, dpr: float) -> None:
        if self.path is None:
            return
        p.setTransform(tr)
        if self.fill is not None and self.fill_level is not None:
            p.fillPath(self._fill(), self.fill)
        if self.shadow is not None:
            _stroke(p, self.path, _thick(self.shadow, scale), tr, dpr)
        _stroke(p, self.path, _thick(self.pen, scale), tr, dpr)


class Head(Shape):
    """A filled arrow head a fixed pixel size, its tip at a data point (pyqtgraph's ArrowItem)."""

    def __init__(self, layer: Layer) -> None:
        super().__init__(layer)
        self.pen = QPen()
        self.brush = QBrush()
        self.tip: tuple[float, float] = (0.0, 0.0)
        self.path = QPainterPath()
        self._shape: tuple = ()

    def set(self, tip: Sequence[float], head_len: float, angle: float) -> None:
        """Tip at ``tip``; ``angle`` in degrees as pyqtgraph's ArrowItem (0 points left,
        clockwise on screen)."""
        if (
            self._shape
            and self._shape[0] == head_len
            and abs(self._shape[1] - angle) < STILL_DEGREES
            and self._still(self.tip[:1], self.tip[1:], [float(tip[0])], [float(tip[1])])
        ):
            return  # turned and moved less than a quarter pixel: the same pixels
        shape = (head_len, angle)
        if shape != self._shape:
            self._shape = shape
            tr = QTransform()
            tr.rotate(angle)
            self.path = tr.map(
                pg.functions.makeArrowPath(
                    headLen=head_len,
                    headWidth=0.8 * head_len,
                    tipAngle=25,
                    tailLen=None,
                    tailWidth=3,
                    baseAngle=0,
                )
            )
        self.tip = (float(tip[0]), float(tip[1]))
        self.changed()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.tip[:1]), np.array(self.tip[1:])

    def device_rect(self, tr: QTransform) -> QRectF | None:
        at = tr.map(QPointF(*self.tip))
        return self.path.controlPointRect().translated(at).adjusted(-3.0, -3.0, 3.0, 3.0)

    def paint(self, p: QPainter, tr: QTransform, scale: float, dpr: float) -> None:
        at = tr.map(QPointF(*self.tip))
        here = QTransform.fromTranslate(at.x(), at.y())
        p.setTransform(here)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.brush)
        p.drawPath(self.path)
        _stroke(p, self.path, self.pen, here, dpr)  # the outline over the fill


class Markers(Shape):
    """Symbols a fixed pixel size at data points, drawn from one pre-rendered pixmap (as
    pyqtgraph's ScatterPlotItem draws them): already pixels, and spread along a trail."""

    cacheable = False

    def __init__(self, layer: Layer, symbol: str, size: float, pen: Any, brush: Any) -> None:
        super().__init__(layer)
        self.symbol, self.size = symbol, float(size)
        self.pen, self.brush = pg.mkPen(pen), pg.mkBrush(brush)
        self._xs = np.empty(0)
        self._ys = np.empty(0)
        self._pixmaps: dict[float, QPixmap] = {}
        self._fragments = None

    def setData(self, xs: Any, ys: Any) -> None:
        self._xs = np.asarray(xs, float)
        self._ys = np.asarray(ys, float)
        self.changed()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self._xs, self._ys

    def _pixmap(self, dpr: float) -> QPixmap:
        pix = self._pixmaps.get(dpr)
        if pix is None:
            image = renderSymbol(self.symbol, self.size, self.pen, self.brush, dpr=dpr)
            pix = self._pixmaps[dpr] = QPixmap.fromImage(image)
            pix.setDevicePixelRatio(dpr)
        return pix

    def paint(self, p: QPainter, tr: QTransform, scale: float, dpr: float) -> None:
        n = len(self._xs)
        if n == 0:
            return
        pix = self._pixmap(dpr)
        half = 0.5 * pix.width() / dpr
        xs = tr.m11() * self._xs + tr.m21() * self._ys + tr.dx()
        ys = tr.m12() * self._xs + tr.m22() * self._ys + tr.dy()
        np.clip(xs, -(2.0**30), 2.0**30, out=xs)
        np.clip(ys, -(2.0**30), 2.0**30, out=ys)
        p.resetTransform()
        if n <= 8:
            for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
                p.drawPixmap(QPointF(x - half, y - half), pix)
            return
        if self._fragments is None:
            self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._fragments.resize(n)
        frags = self._fragments.ndarray()
        frags[:, 0] = xs
        frags[:, 1] = ys
        frags[:, 2:6] = (0.0, 0.0, pix.width(), pix.height())  # the source rectangle
        frags[:, 6:10] = (1.0 / dpr, 1.0 / dpr, 0.0, 1.0)  # scale x, y, rotation, opacity
        p.drawPixmapFragments(*self._fragments.drawargs(), pix)


# -- labels --------------------------------------------------------------------------------------
class LabelBox(QGraphicsRectItem):
    """What pyqtgraph's TextItem draws — a text in a filled, bordered box, a fixed pixel size
    wherever the view is zoomed — as one plain Qt item whose pixels are cached while its text
    holds still: a blit per frame, wherever it moves. ``textItem`` holds the text, as in
    TextItem (it is not in the scene: the box paints it)."""

    def __init__(self, fill: QBrush, border: QPen) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setBrush(fill)
        self.setPen(border)
        self.anchor = (0.0, 0.0)
        self.textItem = QGraphicsTextItem()
        self._cached = False
        self.set_cached(True)

    def set_cached(self, on: bool) -> None:
        """Paint from a pixel cache (``on``) or directly: a text that changes every frame is
        cheaper painted directly than rendered into a cache and blitted."""
        if on != self._cached:
            self._cached = on
            mode = QGraphicsItem.CacheMode
            self.setCacheMode(mode.DeviceCoordinateCache if on else mode.NoCache)

    def fit(self, anchor: tuple[float, float] | None = None) -> tuple[float, float]:
        """Box the text again (after a change of text, font or width); the anchor is the point
        of the box at the item's position ((0, 0) top-left, (1, 1) bottom-right). Returns the
        box's size in pixels."""
        r = self.textItem.boundingRect()
        w, h = float(r.width()), float(r.height())
        self.textItem.setPos(0.0, 0.0)
        rect = QRectF(0.0, 0.0, w, h)
        if rect != self.rect():
            self.setRect(rect)
        self.update()  # the text may have changed within the same box
        self.set_anchor(self.anchor if anchor is None else anchor)
        return w, h

    def set_anchor(self, anchor: tuple[float, float]) -> None:
        """Put another point of the box at the item's position. The box moves as a whole (an
        item transform): its cached pixels stay valid, a label turning around an arrow's tip
        every frame is still a blit."""
        self.anchor = anchor
        rect = self.rect()
        self.setTransform(
            QTransform.fromTranslate(-anchor[0] * rect.width(), -anchor[1] * rect.height())
        )

    def paint(self, p: QPainter, option: Any, widget: Any = None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)  # as TextItem's box
        super().paint(p, option, widget)
        p.translate(self.textItem.pos())
        text = QStyleOptionGraphicsItem()
        text.exposedRect = self.textItem.boundingRect()
        self.textItem.paint(p, text, widget)


_SERIALS = itertools.count()
TEXT_PERIOD_S = 0.1  # while racing, a label's text changes at most 10 times a second


class TextPace:
    """When label texts may change. Numbers that change on every frame of a race cannot be
    read (and laying out and painting every label's text every frame is most of an overlay's
    cost): while a race plays, a label takes a new text at most every TEXT_PERIOD_S, and each
    frame has a budget of text changes (its share of the labels over a period), so the changes
    spread evenly over the frames instead of piling up on some (positions still follow every
    frame). A slow race (a frame every 0.1 s or slower) gets every text at once; so do the first
    frame of a new race and every frame of a paused, stepped or rewound one."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.live = False  # a race is playing
        self.now = clock()
        self.budget = 1
        self.slow = True
        self._spent = 0
        self._exact_once = False

    def exact_next_frame(self) -> None:
        """The next frame shows every text exactly (a new race: nothing of the last one stays)."""
        self._exact_once = True

    def advance(self, live: bool, demand: int = 0) -> None:
        """The start of a frame; ``demand``: the text changes that may come per period (the
        number of labels, an expensive text counting for several)."""
        now = self.clock()
        self.slow = now - self.now >= TEXT_PERIOD_S  # frames this far apart: nothing is held
        elapsed = min(max(now - self.now, 0.0), TEXT_PERIOD_S)
        self.now = now
        self.live = live and not self._exact_once
        self._exact_once = False
        self._spent = 0
        # this frame's share of a period's changes (all of them when frames are that slow)
        self.budget = max(1, math.ceil(demand * elapsed / TEXT_PERIOD_S - 1e-9))

    def may_change(self, last_change: float, cost: int = 1) -> bool:
        """Whether a text last changed at ``last_change`` (the pace's clock) may change now, and
        take its share of this frame's budget; an expensive text may always take a frame of its
        own."""
        if not self.live:
            return True
        if self.now - last_change < TEXT_PERIOD_S:
            return False
        if self._spent and self._spent + cost > self.budget:
            return False
        self._spent += cost
        return True


def new_serial() -> int:
    """A number no other label or text box has had (their turn in the TextPace)."""
    return next(_SERIALS)


class Label:
    """A pixel-sized text box anchored at a data point.

    ``want`` is where its overlay put it, ``xy`` where the label layout placed it (the same
    unless that spot was taken)."""

    def __init__(
        self,
        sizes: theme.Sizes,
        color: str = style.LABEL_TEXT,
        anchor: tuple[float, float] = (0.0, 0.5),
        boxed: bool = True,
        pace: TextPace | None = None,
    ) -> None:
        self.color = color
        self.pace = pace if pace is not None else TextPace()
        self.anchor = anchor
        self.item = LabelBox(
            pg.mkBrush(style.LABEL_FILL) if boxed else QBrush(),
            pg.mkPen(style.LABEL_BORDER) if boxed else QPen(Qt.PenStyle.NoPen),
        )
        self.item.textItem.setDefaultTextColor(pg.mkColor(color))
        self.item.hide()
        self.xy: tuple[float, float] | None = None
        self.want: tuple[float, float] | None = None
        self.size = (0.0, 0.0)  # text box width, height in pixels
        self.priority = 5
        self._text = ""
        self._key: tuple = ()
        self._pos: tuple[float, float] | None = None
        self._shown = False
        self._fresh = False  # the text changed since the last ``settle``
        self._pending: tuple | None = None  # a newer (text, colour, swatch) held back by the pace
        self._changed_at = -math.inf  # when the text last changed (the pace's clock)
        self.serial = new_serial()  # unlike id(), never reused by a later label
        self.set_font(sizes)

    def set_font(self, sizes: theme.Sizes, bold: bool = False) -> None:
        font = QFont()
        font.setPointSize(style.font_pt(sizes))
        font.setBold(bold)
        self.item.textItem.setFont(font)
        self._relayout()

    def _relayout(self) -> None:
        """The box around the text, placed by the anchor (in pixels about the label's point)."""
        self.size = self.item.fit(self.anchor)

    def set(
        self,
        text: str,
        xy: Sequence[float],
        anchor: tuple[float, float] | None = None,
        color: str | None = None,
        swatch: str | None = None,
    ) -> None:
        """Show ``text`` at ``xy``; ``swatch`` puts a dot of that colour in front (whose is it)."""
        x, y = float(xy[0]), float(xy[1])
        if not (_isfinite(x) and _isfinite(y)):
            self.hide()
            return
        if color is not None:
            self.color = color
        key = (text, self.color, swatch)
        relayout = False
        if key != self._key:
            if self._key and self._shown and not self.pace.may_change(self._changed_at):
                self._pending = key  # shown soon: this label's next turn (see TextPace)
            else:
                self._show_text(key)
                relayout = True
        else:
            self._pending = None
        if anchor is not None and anchor != self.anchor:
            self.anchor = anchor
            if not relayout:
                self.item.set_anchor(anchor)  # the same text, turned about its point
        if relayout:
            self._relayout()
        self.want = (x, y)
        if self.xy is None:
            self.place(self.want)
        if not self._shown:
            self._shown = True
            self.item.show()

    def _show_text(self, key: tuple) -> None:
        text, color, swatch = key
        item = self.item.textItem
        item.setDefaultTextColor(pg.mkColor(color))
        if swatch is None:
            item.setPlainText(text)
        else:
            item.setHtml(f'<span style="color:{swatch}">●</span>&nbsp;{html.escape(text)}')
        self._key = key
        self._text = text
        self._pending = None
        self._fresh = True
        self._changed_at = self.pace.now

    def catch_up(self) -> None:
        """Show a held-back text when it is this label's turn (or the race stopped); after the
        overlays' drawing, so that a label drawn this frame shows its newest text."""
        if self._pending is not None and self.pace.may_change(self._changed_at):
            self._show_text(self._pending)
            self._relayout()

    @property
    def text(self) -> str:
        return self._text

    @property
    def visible(self) -> bool:
        return self._shown and self.xy is not None

    def hide(self) -> None:
        if self._shown:
            self._shown = False
            self.item.hide()
        self.xy = self.want = None
        self._pending = None

    def place(self, xy: tuple[float, float]) -> None:
        """Put the label's point at ``xy`` (data coordinates)."""
        self.xy = xy
        if xy != self._pos:
            self._pos = xy
            self.item.setPos(*xy)

    def settle(self) -> None:
        """End of a frame: a text that changed is painted directly for now, one that held
        still from its cache. While racing, texts change on every 6th frame only (TextPace):
        a new text is painted into the cache at once."""
        self.item.set_cached(self.pace.live or not self._fresh)
        self._fresh = False

    def layout_key(self) -> tuple:
        """What the label layout depends on besides where the label is (``layout_spot``)."""
        return (self.serial, self.size, self.priority, self._shown)

    def layout_spot(self, frame: Frame) -> tuple[float, float]:
        """Where the label wants its box, in pixels (NaN when it has no spot)."""
        want = self.want
        if want is None or not (_isfinite(want[0]) and _isfinite(want[1])):
            return (math.nan, math.nan)
        w, h = self.size
        return (
            want[0] / frame.pixel[0] - self.anchor[0] * w,
            want[1] / frame.pixel[1] + self.anchor[1] * h,
        )

    def pixel_rect(
        self, frame: Frame, at: tuple[float, float] | None = None
    ) -> tuple[float, float, float, float] | None:
        """(left, top, right, bottom) in plot pixels (origin top-left, y down) with the label's
        point at ``at`` (default: where it is)."""
        xy = self.xy if at is None else at
        if xy is None:
            return None
        w, h = self.size
        x0, _, _, y1 = frame.view
        px_x = (xy[0] - x0) / frame.pixel[0]
        px_y = (y1 - xy[1]) / frame.pixel[1]
        left, top = px_x - self.anchor[0] * w, px_y - self.anchor[1] * h
        return (left, top, left + w, top + h)

    def move_rect(self, frame: Frame, left: float, top: float) -> None:
        """Move so the text's top-left corner is at this plot pixel."""
        if self.xy is not None:
            self.place_rect(frame, left, top)

    def place_rect(self, frame: Frame, left: float, top: float) -> None:
        """Place so the text's top-left corner is at this plot pixel."""
        w, h = self.size
        x0, _, _, y1 = frame.view
        px_x, px_y = left + self.anchor[0] * w, top + self.anchor[1] * h
        self.place((x0 + px_x * frame.pixel[0], y1 - px_y * frame.pixel[1]))


Rect = tuple[float, float, float, float]
Obstacles = tuple[np.ndarray, np.ndarray]  # rects (n, 4) in plot pixels, weights (n,)
OFF_PLOT_SLACK_PX = 40.0  # labels pinned this close outside the plot are pulled back in
LABEL_WEIGHT = 10.0  # overlapping another label costs this much more than crossing a line
LINE_WEIGHT = 1.0
NO_OBSTACLES: Obstacles = (np.empty((0, 4)), np.empty(0))


def segment_square_array(segments: np.ndarray, frame: Frame, spacing: float = 10.0) -> np.ndarray:
    """Small plot-pixel squares along data-space segments ((n, 2, 2): p0, p1 of each), as an
    (m, 4) array of rects: label obstacles for thin lines."""
    segments = np.asarray(segments, float).reshape(-1, 2, 2)
    if not len(segments):
        return np.empty((0, 4))
    x0, _, _, y1 = frame.view
    ax = (segments[:, 0, 0] - x0) / frame.pixel[0]
    ay = (y1 - segments[:, 0, 1]) / frame.pixel[1]
    bx = (segments[:, 1, 0] - x0) / frame.pixel[0]
    by = (y1 - segments[:, 1, 1]) / frame.pixel[1]
    with np.errstate(invalid="ignore", over="ignore"):
        length = np.hypot(bx - ax, by - ay)
        ok = np.isfinite(length)
        ax, ay, bx, by, length = ax[ok], ay[ok], bx[ok], by[ok], length[ok]
        n = np.clip(length // spacing, 1, 200).astype(int)
    counts = n + 1
    seg = np.repeat(np.arange(len(n)), counts)
    starts = np.cumsum(counts) - counts
    t = (np.arange(int(counts.sum())) - starts[seg]) / n[seg]
    cx = ax[seg] + t * (bx - ax)[seg]
    cy = ay[seg] + t * (by - ay)[seg]
    half = 0.5 * spacing
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


def segment_squares(
    p0: Sequence[float], p1: Sequence[float], frame: Frame, spacing: float = 10.0
) -> list[Rect]:
    """Small plot-pixel squares along a data-space segment (label obstacles for thin lines)."""
    if not finite(p0, p1):
        return []
    seg = np.array([[p0[0], p0[1]], [p1[0], p1[1]]], float)
    return [tuple(r) for r in segment_square_array(seg, frame, spacing).tolist()]


def as_obstacles(obstacles: Iterable[tuple[Rect, float]] | Obstacles) -> Obstacles:
    """(rects, weights) arrays from either those arrays or (rect, weight) pairs."""
    if isinstance(obstacles, tuple) and len(obstacles) == 2:
        rects, weights = obstacles
        if isinstance(rects, np.ndarray) and isinstance(weights, np.ndarray):
            return rects, weights
    pairs = list(obstacles)
    rects = np.array([r for r, _ in pairs], float).reshape(-1, 4)
    weights = np.array([wt for _, wt in pairs], float)
    return rects, weights


_STEPS_Y = np.array((0, 1, -1, 2, -2, 3, -3, 4, -4), float)  # whole lines up and down
_CANDIDATES: dict[tuple[float, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _candidates(w: float, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spots to try for a w × h label: 5 sideways offsets (none, half and whole widths)
    × 9 vertical ones (whole lines up and down), and the order of the 45 combinations
    (index ``5 × 9``: sideways × 9 + vertical) nearest first."""
    found = _CANDIDATES.get((w, h))
    if found is None:
        dx5 = np.array([0.0, 0.5 * w + 4, -(0.5 * w + 4), w + 8, -(w + 8)])
        dy9 = _STEPS_Y * (h + 3)
        dx, dy = np.repeat(dx5, len(dy9)), np.tile(dy9, len(dx5))
        order = np.argsort(np.hypot(dx, 1.5 * dy), kind="stable")
        if len(_CANDIDATES) > 512:
            _CANDIDATES.clear()
        found = _CANDIDATES[(w, h)] = (dx5, dy9, order)
    return found


def layout_labels(
    labels: Iterable[Label],
    frame: Frame,
    obstacles: Iterable[tuple[Rect, float]] | Obstacles = (),
) -> None:
    """Keep labels inside the plot and off each other: greedy, in order of priority.

    Each label takes the nearest free spot around where its overlay put it (``want``);
    ``obstacles`` are (rect, weight) pairs or arrays to keep clear of (a text box weighs like a
    label, thin lines little). When nothing nearby is free, the spot with the least weighted
    overlap wins. A label whose anchor point is well off the plot is left where it was put
    (clipped with its item).

    The spots are 5 sideways × 9 vertical offsets, and an overlap is a width × a height, so a
    label's 45 costs are a 5 × 9 product summed over the obstacles within its reach; the fixed
    obstacles' part is worked out for every label at once, the labels placed before it are
    added one label at a time.
    """
    width, height = frame.plot_px
    margin = 4.0
    gap = 2.0
    slack = OFF_PLOT_SLACK_PX
    todo = []  # (label, wanted rect, w, h, last left, last top)
    for label in sorted(labels, key=lambda lab: lab.priority):
        if label.want is None or not label.visible:
            continue
        rect = label.pixel_rect(frame, label.want)
        w, h = label.size
        ax, ay = label.anchor
        anchor_x, anchor_y = rect[0] + ax * w, rect[1] + ay * h
        if not (-slack <= anchor_x <= width + slack and -slack <= anchor_y <= height + slack):
            label.place(label.want)
            continue
        todo.append(
            (label, rect, w, h, max(margin, width - margin - w), max(margin, height - margin - h))
        )
    if not todo:
        return
    n = len(todo)
    size = np.array([(t[2], t[3]) for t in todo])  # (n, 2): w, h
    corner = np.array([(t[1][0], t[1][1]) for t in todo])  # (n, 2): wanted left, top
    last = np.array([(t[4], t[5]) for t in todo])  # (n, 2): the largest left, top
    dx = np.stack(
        [
            np.zeros(n),
            0.5 * size[:, 0] + 4,
            -(0.5 * size[:, 0] + 4),
            size[:, 0] + 8,
            -(size[:, 0] + 8),
        ],
        axis=1,
    )
    dy = (size[:, 1:2] + 3) * _STEPS_Y[None, :]
    lefts = np.clip(corner[:, 0:1] + dx, margin, last[:, 0:1])  # (n, 5)
    tops = np.clip(corner[:, 1:2] + dy, margin, last[:, 1:2])  # (n, 9)
    reach = np.stack(
        [
            lefts.min(1) - gap,
            tops.min(1) - gap,
            lefts.max(1) + size[:, 0] + gap,
            tops.max(1) + size[:, 1] + gap,
        ],
        axis=1,
    )
    # the fixed obstacles: only those within reach of some spot can add to a label's costs
    cost = np.zeros((n, 5, 9))
    obs_rects, obs_weights = as_obstacles(obstacles)
    if len(obs_rects):
        near = (
            (obs_rects[None, :, 0] < reach[:, None, 2])
            & (obs_rects[None, :, 2] > reach[:, None, 0])
            & (obs_rects[None, :, 1] < reach[:, None, 3])
            & (obs_rects[None, :, 3] > reach[:, None, 1])
        )
        rows, cols = np.nonzero(near)
        if len(rows):
            counts = np.bincount(rows, minlength=n)
            starts = np.cumsum(counts) - counts
            idx = np.full((n, int(counts.max())), len(obs_rects))  # padding: a far-away rect
            idx[rows, np.arange(len(rows)) - starts[rows]] = cols
            far = np.array([[-1e12, -1e12, -1e12 + 1.0, -1e12 + 1.0]])
            r = np.concatenate([obs_rects, far])[idx]  # (n, m, 4)
            wt = np.concatenate([obs_weights, [0.0]])[idx]  # (n, m)
            cost = _costs(lefts, tops, size, r, wt, gap)
    placed: list[tuple[float, float, float, float]] = []
    for i, (label, rect, w, h, max_left, max_top) in enumerate(todo):
        rx0, ry0, rx1, ry1 = reach[i].tolist()
        others = [q for q in placed if q[0] < rx1 and q[2] > rx0 and q[1] < ry1 and q[3] > ry0]
        order = _candidates(w, h)[2]
        pick = _first_free(cost[i].ravel()[order], order, lefts[i], tops[i], w, h, others, gap)
        if pick is None:  # nothing nearby is free: the spot with the least weighted overlap
            costs = cost[i]
            if others:
                costs = (
                    costs
                    + _costs(
                        lefts[i : i + 1],
                        tops[i : i + 1],
                        size[i : i + 1],
                        np.array(others)[None],
                        np.full((1, len(others)), LABEL_WEIGHT),
                        gap,
                    )[0]
                )
            pick = int(np.argmin(costs.ravel()[order]))
        if pick:
            k, j = divmod(int(order[pick]), 9)
            best = (float(lefts[i, k]), float(tops[i, j]))
        else:
            best = (min(max(rect[0], margin), max_left), min(max(rect[1], margin), max_top))
        if best != (rect[0], rect[1]):
            label.place_rect(frame, *best)
        else:
            label.place(label.want)
        placed.append((best[0], best[1], best[0] + w, best[1] + h))


def _first_free(
    fixed: np.ndarray,
    order: np.ndarray,
    lefts: np.ndarray,
    tops: np.ndarray,
    w: float,
    h: float,
    others: list[tuple[float, float, float, float]],
    gap: float,
) -> int | None:
    """The nearest spot (index into ``order``) clear of the fixed obstacles (``fixed``: their
    costs, nearest spot first) and of the labels placed so far, or None. Spots are tried one by
    one with plain comparisons: usually one of the first few is free, and that is much cheaper
    than the whole 5 × 9 × labels cost product."""
    xs, ys = lefts.tolist(), tops.tolist()
    for index in np.flatnonzero(fixed == 0.0).tolist():
        k, j = divmod(int(order[index]), 9)
        left, top = xs[k], ys[j]
        right, bottom = left + w, top + h
        if not any(
            min(right, q[2]) - max(left, q[0]) + gap > 0.0
            and min(bottom, q[3]) - max(top, q[1]) + gap > 0.0
            for q in others
        ):
            return index
    return None


def _costs(
    lefts: np.ndarray,
    tops: np.ndarray,
    size: np.ndarray,
    rects: np.ndarray,
    weights: np.ndarray,
    gap: float,
) -> np.ndarray:
    """(n, 5, 9) weighted overlaps of n labels' spots (lefts (n, 5) × tops (n, 9), sizes
    (n, 2)) with n sets of m rects ((n, m, 4), weights (n, m)): an overlap counts from
    ``gap`` pixels apart."""
    right = lefts[:, :, None] + size[:, None, 0:1]
    bottom = tops[:, :, None] + size[:, None, 1:2]
    ox = np.minimum(right, rects[:, None, :, 2]) - np.maximum(
        lefts[:, :, None], rects[:, None, :, 0]
    )
    oy = np.minimum(bottom, rects[:, None, :, 3]) - np.maximum(
        tops[:, :, None], rects[:, None, :, 1]
    )
    np.clip(ox + gap, 0.0, None, out=ox)
    np.clip(oy + gap, 0.0, None, out=oy)
    return np.einsum("nim,njm->nij", ox, oy * weights[:, None, :])


def anchor_away(direction_px: Sequence[float]) -> tuple[float, float]:
    """A text anchor that puts the text on the far side of a point along a screen direction
    (screen y up): text beyond an arrow's tip, not on top of it."""
    dx, dy = direction_px
    n = math.hypot(dx, dy) or 1.0
    ax = 0.5 - 0.5 * dx / n
    ay = 0.5 + 0.5 * dy / n  # text anchors run downwards
    return (min(1.0, max(0.0, ax)), min(1.0, max(0.0, ay)))


class Arrow:
    """A shaft in data coordinates and a pixel-sized filled head at the tip."""

    def __init__(self, layer: Layer, sizes: theme.Sizes, color: str, dashed: bool = False) -> None:
        self.color = color
        self.dashed = dashed
        self.shaft = Curve(layer)
        self.head = Head(layer)
        self.tail: tuple[float, float] | None = None
        self.tip: tuple[float, float] | None = None
        self.style(sizes)

    def shapes(self) -> tuple[Shape, Shape]:
        return self.shaft, self.head

    def style(self, sizes: theme.Sizes) -> None:
        width = style.line_width(sizes)
        self.width = width
        self.head_len = style.head_length(sizes)
        dash = Qt.PenStyle.DashLine if self.dashed else Qt.PenStyle.SolidLine
        self.shaft.setPen(pen(self.color, width, dash))
        self.shaft.setShadowPen(outline_pen(width))
        self.head.pen = pg.mkPen(style.OVERLAY_OUTLINE, width=1.5)
        self.head.brush = pg.mkBrush(self.color)
        self.head.changed()

    def set(self, tail: Sequence[float], tip: Sequence[float], frame: Frame) -> bool:
        """Draw tail → tip; hidden (False) when degenerate, non-finite or shorter than 3 px."""
        tx, ty, px, py = float(tail[0]), float(tail[1]), float(tip[0]), float(tip[1])
        if not (_isfinite(tx) and _isfinite(ty) and _isfinite(px) and _isfinite(py)):
            self.hide()
            return False
        vx, vy = (px - tx) / frame.pixel[0], (py - ty) / frame.pixel[1]
        length = math.hypot(vx, vy)
        if not _isfinite(length) or length < 3.0:
            self.hide()
            return False
        head = min(self.head_len, 0.6 * length)
        # the shaft stops inside the head so its thick line does not poke through the tip
        back = max(0.0, length - 0.7 * head) / length
        self.shaft.set_segment((tx, ty), (tx + back * (px - tx), ty + back * (py - ty)))
        # ArrowItem's angle: 0 points left, rotation is clockwise on screen (y down)
        self.head.set((px, py), head, math.degrees(math.atan2(vy, -vx)))
        self.shaft.show()
        self.head.show()
        self.tail = (tx, ty)
        self.tip = (px, py)
        return True

    def hide(self) -> None:
        self.shaft.hide()
        self.head.hide()
        self.tail = self.tip = None

    @property
    def visible(self) -> bool:
        return self.tip is not None and self.head.visible


# -- item groups ---------------------------------------------------------------------------------
class Group:
    """What one overlay draws for one racer: shapes in the overlay's layers, and labels."""

    def __init__(self, overlay: Overlay) -> None:
        self.overlay = overlay
        self.plot = overlay.plot
        self.shapes: list[Shape] = []
        self.labels: list[Label] = []
        self.arrows: list[Arrow] = []
        self.blockers: list[tuple[Sequence[float], Sequence[float]]] = []  # segments to keep clear

    @property
    def items(self) -> list[Any]:
        """This group's own scene items (its labels; its shapes live in the overlay's layers)."""
        return [label.item for label in self.labels]

    def make_curve(self, z: float, **opts: Any) -> Curve:
        curve = Curve(self.overlay.layer(z), **opts)
        self.shapes.append(curve)
        return curve

    def make_scatter(
        self, z: float, symbol: str = "o", size: float = 10.0, pen: Any = None, brush: Any = None
    ) -> Markers:
        markers = Markers(self.overlay.layer(z), symbol, size, pen, brush)
        self.shapes.append(markers)
        return markers

    def make_label(
        self, sizes: theme.Sizes, color: str = style.LABEL_TEXT, priority: int = 5, **opts: Any
    ) -> Label:
        """A label; lower ``priority`` keeps its place in the layout pass, others make way."""
        label = Label(sizes, color, pace=self.overlay.pace, **opts)
        label.priority = priority
        label.item.setZValue(style.Z_LABEL)
        self.plot.addItem(label.item, ignoreBounds=True)
        self.labels.append(label)
        return label

    def make_arrow(self, sizes: theme.Sizes, color: str, dashed: bool = False) -> Arrow:
        arrow = Arrow(self.overlay.layer(style.Z_ARROW), sizes, color, dashed)
        self.shapes += arrow.shapes()
        self.arrows.append(arrow)
        return arrow

    def remove(self) -> None:
        for shape in self.shapes:
            shape.detach()
        for label in self.labels:
            self.plot.removeItem(label.item)
            if label.item.scene() is not None:
                label.item.scene().removeItem(label.item)
        self.shapes = []
        self.labels = []
        self.arrows = []
        self.blockers = []


# -- the overlay base class ----------------------------------------------------------------------
class Overlay:
    """One kind of overlay, drawn for every shown racer; groups are created on demand.

    A racer is drawn again only when what its drawing depends on changed: its shown record, its
    configuration, its history (a rewind-and-continue), the view or the sizes. Overlays whose
    drawing of one racer depends on the others override ``draw``."""

    name = ""
    title = ""
    text_cost = 0  # text changes per period besides its labels' (see TextPace)

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        self.plot = plot
        self.sizes = sizes
        self.groups: dict[Any, Group] = {}
        self.layers: dict[float, Layer] = {}
        self._scene: tuple = ()
        self._memo: dict[Any, tuple] = {}
        self.pace = TextPace()  # the manager shares one among its overlays
        self._pixel: tuple[float, float] | None = None  # the current frame's, for new layers

    def update(self, frame: Frame) -> None:
        """Draw this frame; racers that are gone (or have nothing to show) lose their items."""
        self.sizes = frame.sizes
        scene = (frame.objective, frame.dim)
        if scene != self._scene:  # another surface (maybe another dimension): start afresh
            self.clear()
            self._scene = scene
        self._pixel = frame.pixel
        for layer in self.layers.values():
            layer.pixel = frame.pixel
        drawn = set(self.draw(frame))
        for key in list(self.groups):
            if key not in drawn:
                self.groups.pop(key).remove()
        bounds = frame.far_box(LAYER_BOUNDS)
        for layer in self.layers.values():
            layer.set_bounds(bounds)

    def draw(self, frame: Frame) -> Iterable[Any]:
        """Draw and return the keys of the groups that are in use."""
        drawn = []
        memo = {}
        geometry = frame.geometry
        for racer in frame.racers:
            rid = racer.racer_id
            key = (geometry, racer.memo())
            before = self._memo.get(rid)
            if before is not None and before[0] == key and (not before[1] or rid in self.groups):
                ok = before[1]  # nothing it depends on changed: the drawing stands
            else:
                ok = bool(self.draw_racer(frame, racer))
            # the objects compared by identity are kept alive with the key
            memo[rid] = (key, ok, racer.record, racer.config, racer.history, frame.objective)
            if ok:
                drawn.append(rid)
        self._memo = memo
        return drawn

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def layer(self, z: float) -> Layer:
        """The layer at ``z`` (created the first time)."""
        found = self.layers.get(z)
        if found is None:
            found = self.layers[z] = Layer(self.plot, z)
            found.pixel = self._pixel
        return found

    def group(self, key: Any, build: Callable[[Group], None]) -> Group:
        """The group for ``key``; ``build(group)`` adds its items (as attributes) the first time."""
        found = self.groups.get(key)
        if found is None:
            found = Group(self)
            build(found)
            self.groups[key] = found
        return found

    def clear(self) -> None:
        for g in self.groups.values():
            g.remove()
        self.groups = {}
        for layer in self.layers.values():
            layer.remove()
        self.layers = {}
        self._memo = {}

    def items(self) -> list[Any]:
        """Every graphics item this overlay currently has in the plot (for tests and tools)."""
        return list(self.layers.values()) + [item for g in self.groups.values() for item in g.items]

    def labels(self) -> list[Label]:
        """This overlay's text labels, most important first (for the layout pass)."""
        return [label for g in self.groups.values() for label in g.labels]

    def obstacle_arrays(self, frame: Frame) -> Obstacles:
        """(plot-pixel rectangles, weights) that labels should avoid: small squares along this
        overlay's visible arrows and the other line segments it registered."""
        segments = [
            (p0[0], p0[1], p1[0], p1[1])
            for g in self.groups.values()
            for p0, p1 in [(a.tail, a.tip) for a in g.arrows if a.visible] + list(g.blockers)
        ]
        if not segments:
            return NO_OBSTACLES
        rects = segment_square_array(np.array(segments, float), frame)
        return rects, np.full(len(rects), LINE_WEIGHT)

    def obstacles(self, frame: Frame) -> list[tuple[Rect, float]]:
        """``obstacle_arrays`` as (rect, weight) pairs."""
        rects, weights = self.obstacle_arrays(frame)
        return [(tuple(r), float(w)) for r, w in zip(rects.tolist(), weights.tolist(), strict=True)]

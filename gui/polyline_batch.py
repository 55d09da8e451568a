"""One graphics item that paints many short live polylines (the racers' trail and loss tails)
and the racers' head dots.

Every frame each racer's tail changes. As eight pyqtgraph PlotDataItems that meant eight
``setData`` passes (bounds, display-data caches, a scatter item, a QPainterPath rebuild) and
sixteen item paints; here a tail is a QPolygonF built straight from numpy and the whole batch is
one paint: outline, line and dots per racer in order, then the heads. Pens are cosmetic (widths
in screen pixels), as pyqtgraph's are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF, QTransform

try:  # pyqtgraph's helper behind its segmentedLineMode (not part of its documented API)
    from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
except ImportError:  # pragma: no cover - an older or newer pyqtgraph: polylines only
    arrayToLineSegments = None


def _pen(color: object, width: float) -> QPen:
    pen = QPen(pg.mkColor(color))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _scaled(pen: QPen, factor: float) -> QPen:
    if factor == 1:
        return pen
    out = QPen(pen)
    out.setWidthF(pen.widthF() * factor)
    return out


def finite_runs(xs: np.ndarray, ys: np.ndarray) -> list[QPolygonF]:
    """The polyline through (xs, ys) as polygons of consecutive finite points (a NaN or ±inf
    point breaks the line, like pyqtgraph's ``connect="finite"``)."""
    if len(xs) == 0:
        return []
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.all():
        return [pg.functions.arrayToQPolygonF(xs, ys)]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    return [
        pg.functions.arrayToQPolygonF(xs[a:b], ys[a:b]) for a, b in zip(edges[::2], edges[1::2])
    ]


@dataclass
class _Style:
    line: QPen
    outline: QPen | None
    dot_fill: QPen | None  # round points: the dots on each iterate (fill, then outline ring)
    dot_ring: QPen | None


@dataclass
class _Line:
    style: _Style
    xs: np.ndarray
    ys: np.ndarray
    polygons: list[QPolygonF]
    segments: object  # without antialiasing: pyqtgraph's line-segment array (drawLines)
    dots: bool
    box: tuple[float, float, float, float] | None  # x0, y0, x1, y1 of the finite points
    visible: bool = True


class PolylineBatch(pg.GraphicsObject):
    """Keyed polylines with a pen, an optional outline pen (drawn first, wider) and optional
    dots on every point, plus a set of head dots drawn above all lines."""

    def __init__(self, antialias: bool = True) -> None:
        super().__init__()
        self.antialias = antialias
        self._lines: dict[object, _Line] = {}
        self._heads: tuple[np.ndarray, np.ndarray, list[QColor]] | None = None
        self._head_size = 0.0
        self._head_ring = 2.0
        self.width_scale = 1.0  # exports at 2× thicken the (cosmetic) pens by this
        self._rect: QRectF | None = None  # the cached boundingRect

    # -- content -----------------------------------------------------------------------------
    def set_style(
        self,
        key: object,
        color: str,
        width: float,
        outline: object = None,
        outline_width: float = 0.0,
        dot_size: float = 0.0,
    ) -> None:
        """How ``key``'s line is drawn (kept across ``set_line`` calls)."""
        style = _Style(
            line=_pen(color, width),
            outline=_pen(outline, outline_width) if outline else None,
            dot_fill=_pen(color, max(dot_size - 1, 1.0)) if dot_size else None,
            dot_ring=_pen(outline or "#000000", dot_size + 1) if dot_size else None,
        )
        line = self._lines.get(key)
        if line is None:
            empty = np.empty(0)
            self._lines[key] = _Line(style, empty, empty, [], None, False, None)
        else:
            line.style = style
            self._changed()  # the pen padding of the bounding rect may change too

    def set_line(self, key: object, xs: np.ndarray, ys: np.ndarray, dots: bool = False) -> None:
        """Replace ``key``'s points (its style must have been set)."""
        line = self._lines[key]
        xs = np.asarray(xs, float)
        ys = np.asarray(ys, float)
        line.xs, line.ys, line.dots = xs, ys, dots
        line.polygons = finite_runs(xs, ys)
        if not self.antialias and arrayToLineSegments is not None:
            # a wide pen stroked as one polyline costs its joins; without antialiasing separate
            # segments look the same and are much cheaper (pyqtgraph's segmentedLineMode)
            line.segments = arrayToLineSegments(xs, ys, "finite", True, line.segments)
        line.box = _data_box(xs, ys)
        self._changed()

    def line_data(self, key: object) -> tuple[np.ndarray, np.ndarray]:
        line = self._lines.get(key)
        if line is None:
            return np.empty(0), np.empty(0)
        return line.xs, line.ys

    def set_line_visible(self, key: object, visible: bool) -> None:
        line = self._lines.get(key)
        if line is not None and line.visible != visible:
            line.visible = visible
            self._changed()

    def remove_line(self, key: object) -> None:
        if self._lines.pop(key, None) is not None:
            self._changed()

    def set_heads(
        self, xs: list[float], ys: list[float], colors: list[str], size: float = 0.0, ring=2.0
    ) -> None:
        """Filled dots of ``size`` pixels with a black ``ring`` (the racers' current points)."""
        if len(xs) == 0:
            if self._heads is None:
                return
            self._heads = None
        else:
            self._heads = (
                np.asarray(xs, float),
                np.asarray(ys, float),
                [pg.mkColor(c) for c in colors],
            )
            self._head_size, self._head_ring = float(size), float(ring)
        self._changed()

    def heads(self) -> list[tuple[float, float]]:
        if self._heads is None:
            return []
        return [(float(x), float(y)) for x, y in zip(self._heads[0], self._heads[1], strict=True)]

    def set_width_scale(self, factor: float) -> None:
        self.width_scale = float(factor)
        self._changed()

    # -- QGraphicsItem ---------------------------------------------------------------------------
    def _changed(self) -> None:
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def viewTransformChanged(self) -> None:
        # the pen padding is in pixels: its size in data units changed
        self.prepareGeometryChange()
        self._rect = None

    def _padding_px(self) -> float:
        widths = [self._head_size + self._head_ring]
        for line in self._lines.values():
            s = line.style
            widths += [p.widthF() for p in (s.line, s.outline, s.dot_ring) if p is not None]
        return (max(widths) / 2 + 2) * self.width_scale

    def boundingRect(self) -> QRectF:
        if self._rect is not None:
            return self._rect
        boxes = [ln.box for ln in self._lines.values() if ln.visible and ln.box is not None]
        if self._heads is not None:
            boxes.append(_data_box(self._heads[0], self._heads[1]))
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            self._rect = QRectF()
            return self._rect
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        pad = self._padding_px()
        px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        x0, x1, y0, y1 = x0 - pad * px, x1 + pad * px, y0 - pad * py, y1 + pad * py
        self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        return self._rect

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        k = self.width_scale
        dots = []
        for line in self._lines.values():
            if not line.visible or not line.polygons:
                continue
            style = line.style
            for pen in (style.outline, style.line):
                if pen is None:
                    continue
                painter.setPen(_scaled(pen, k))
                if line.segments is not None:
                    painter.drawLines(*line.segments.drawargs())
                    continue
                for polygon in line.polygons:
                    painter.drawPolyline(polygon)
            if line.dots and style.dot_ring is not None and style.dot_fill is not None:
                dots.append((line, style))
        # dots and heads are pixel-sized: drawn in device coordinates (round points of a wide
        # pen under the view's y-flipped transform are not reliably drawn)
        transform = painter.transform()
        painter.resetTransform()
        try:
            for line, style in dots:
                points = _device_points(transform, line.xs, line.ys)
                for pen in (style.dot_ring, style.dot_fill):
                    painter.setPen(_scaled(pen, k))
                    painter.drawPoints(points)
            self._paint_heads(painter, transform, k)
        finally:
            painter.setTransform(transform)

    def _paint_heads(self, painter: QPainter, transform: QTransform, k: float) -> None:
        """Filled circles of diameter ``size`` with a black ring of ``ring`` pixels centred on
        their edge (as pyqtgraph's "o" symbol with a pen)."""
        if self._heads is None:
            return
        xs, ys, colors = self._heads
        painter.setPen(_pen("#000000", self._head_ring * k))
        radius = 0.5 * self._head_size  # geometry: an export's pixel ratio scales it already
        for x, y, color in zip(xs.tolist(), ys.tolist(), colors, strict=True):
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            painter.setBrush(color)
            painter.drawEllipse(transform.map(QPointF(x, y)), radius, radius)
        painter.setBrush(Qt.BrushStyle.NoBrush)


def _device_points(transform: QTransform, xs: np.ndarray, ys: np.ndarray) -> QPolygonF:
    """The finite points (xs, ys) mapped by an affine transform, as one polygon."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    dx = transform.m11() * xs + transform.m21() * ys + transform.dx()
    dy = transform.m12() * xs + transform.m22() * ys + transform.dy()
    return pg.functions.arrayToQPolygonF(dx, dy)


def _data_box(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float] | None:
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return None
    if not ok.all():
        xs, ys = xs[ok], ys[ok]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

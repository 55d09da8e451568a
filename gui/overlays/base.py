"""What every overlay shares: the frame it draws, item groups per racer, arrows, labels, and the
display geometry that keeps anything non-finite (or absurdly far away) out of pyqtgraph.

An overlay never computes optimizer quantities: it draws what the engine put in the racers'
StepRecords. The only arithmetic here is display geometry (pixel scaling, clipping, angles).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.objective import Objective
from engine.run import StepRecord
from gui import theme
from gui.history import RacerHistory
from gui.overlays import style
from gui.racers import RacerConfig

Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in data (display) coordinates

SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


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
        return xy if all(math.isfinite(v) for v in xy) else None


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
        d = np.asarray(direction, float)
        if not np.all(np.isfinite(d)):
            return None
        vx, vy = self.to_px(d)
        n = math.hypot(vx, vy)
        if not math.isfinite(n) or n == 0.0:
            return None
        return d * (length_px / n)

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


def finite(*values: Any) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(v, float)))) for v in values)


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
    if not finite(p0, p1):
        return None
    x0, y0 = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - x0, float(p1[1]) - y0
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
    finite, so nothing non-finite ever reaches pyqtgraph."""
    out_x, out_y, out_c = [], [], []
    for xs, ys in pieces:
        xs = np.asarray(xs, float).ravel()
        ys = np.asarray(ys, float).ravel()
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(xs) & np.isfinite(ys)
            ok &= (xs >= box[0]) & (xs <= box[1]) & (ys >= box[2]) & (ys <= box[3])
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        conn = np.zeros(idx.size, bool)
        conn[:-1] = np.diff(idx) == 1
        out_x.append(xs[idx])
        out_y.append(ys[idx])
        out_c.append(conn)
    if not out_x:
        return np.empty(0), np.empty(0), np.empty(0, bool)
    return np.concatenate(out_x), np.concatenate(out_y), np.concatenate(out_c)


def set_polyline(item: pg.PlotDataItem, line: Polyline) -> bool:
    """Show a polyline from ``polyline`` (hide the item when nothing is left)."""
    xs, ys, conn = line
    if xs.size < 2 or not conn.any():
        item.setData([], [])
        item.hide()
        return False
    item.setData(xs, ys, connect=conn.astype(np.int32))
    item.show()
    return True


def pen(color: Any, width: float, style_: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    p = pg.mkPen(color, width=width)
    p.setStyle(style_)
    p.setCapStyle(Qt.PenCapStyle.RoundCap)
    return p


def outline_pen(width: float) -> Any:
    return pg.mkPen(style.OVERLAY_OUTLINE, width=width + 2.5)


# -- item groups ---------------------------------------------------------------------------------
class Group:
    """The graphics items one overlay draws for one racer; added to and removed from the plot."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.items: list[Any] = []
        self.labels: list[Label] = []
        self.arrows: list[Arrow] = []
        self.blockers: list[tuple[Sequence[float], Sequence[float]]] = []  # segments to keep clear

    def add(self, item: Any, z: float) -> Any:
        item.setZValue(z)
        self.plot.addItem(item, ignoreBounds=True)
        self.items.append(item)
        return item

    def make_curve(self, z: float, **opts: Any) -> pg.PlotDataItem:
        return self.add(pg.PlotDataItem(antialias=True, **opts), z)

    def make_scatter(self, z: float, **opts: Any) -> pg.ScatterPlotItem:
        return self.add(pg.ScatterPlotItem(**opts), z)

    def make_label(
        self, sizes: theme.Sizes, color: str = style.LABEL_TEXT, priority: int = 5, **opts: Any
    ) -> Label:
        """A label; lower ``priority`` keeps its place in the layout pass, others make way."""
        label = Label(sizes, color, **opts)
        label.priority = priority
        self.add(label.item, style.Z_LABEL)
        self.labels.append(label)
        return label

    def make_arrow(self, sizes: theme.Sizes, color: str, dashed: bool = False) -> Arrow:
        arrow = Arrow(sizes, color, dashed)
        for item in arrow.graphics():
            self.add(item, style.Z_ARROW)
        self.arrows.append(arrow)
        return arrow

    def remove(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
            if item.scene() is not None:  # e.g. an item parented elsewhere
                item.scene().removeItem(item)
        self.items = []
        self.labels = []
        self.arrows = []
        self.blockers = []


class Label:
    """A pixel-sized text box anchored at a data point."""

    def __init__(
        self,
        sizes: theme.Sizes,
        color: str = style.LABEL_TEXT,
        anchor: tuple[float, float] = (0.0, 0.5),
        boxed: bool = True,
    ) -> None:
        self.color = color
        self.anchor = anchor
        self.item = pg.TextItem(
            color=color,
            anchor=anchor,
            fill=pg.mkBrush(style.LABEL_FILL) if boxed else None,
            border=pg.mkPen(style.LABEL_BORDER) if boxed else None,
        )
        self.xy: tuple[float, float] | None = None
        self.priority = 5
        self._text = ""
        self._key: tuple = ()
        self.set_font(sizes)

    def set_font(self, sizes: theme.Sizes, bold: bool = False) -> None:
        font = pg.QtGui.QFont()
        font.setPointSize(style.font_pt(sizes))
        font.setBold(bold)
        self.item.setFont(font)

    def set(
        self,
        text: str,
        xy: Sequence[float],
        anchor: tuple[float, float] | None = None,
        color: str | None = None,
        swatch: str | None = None,
    ) -> None:
        """Show ``text`` at ``xy``; ``swatch`` puts a dot of that colour in front (whose is it)."""
        if not finite(xy):
            self.hide()
            return
        if color is not None:
            self.color = color
        key = (text, self.color, swatch)
        if key != self._key:
            if swatch is None:
                self.item.setText(text, self.color)
            else:
                self.item.setColor(self.color)
                self.item.setHtml(f'<span style="color:{swatch}">●</span>&nbsp;{html.escape(text)}')
            self._key = key
            self._text = text
        if anchor is not None and anchor != self.anchor:
            self.anchor = anchor
            self.item.setAnchor(anchor)
        self.xy = (float(xy[0]), float(xy[1]))
        self.item.setPos(*self.xy)
        self.item.show()

    @property
    def text(self) -> str:
        return self._text

    @property
    def visible(self) -> bool:
        return self.item.isVisible() and self.xy is not None

    def hide(self) -> None:
        self.item.hide()
        self.xy = None

    def pixel_rect(self, frame: Frame) -> tuple[float, float, float, float] | None:
        """(left, top, right, bottom) in plot pixels (origin top-left, y down)."""
        if self.xy is None:
            return None
        size = self.item.textItem.boundingRect()
        w, h = float(size.width()), float(size.height())
        x0, _, _, y1 = frame.view
        px_x = (self.xy[0] - x0) / frame.pixel[0]
        px_y = (y1 - self.xy[1]) / frame.pixel[1]
        left, top = px_x - self.anchor[0] * w, px_y - self.anchor[1] * h
        return (left, top, left + w, top + h)

    def move_rect(self, frame: Frame, left: float, top: float) -> None:
        """Move so the text's top-left corner is at this plot pixel."""
        rect = self.pixel_rect(frame)
        if rect is None:
            return
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        x0, _, _, y1 = frame.view
        px_x, px_y = left + self.anchor[0] * w, top + self.anchor[1] * h
        self.xy = (x0 + px_x * frame.pixel[0], y1 - px_y * frame.pixel[1])
        self.item.setPos(*self.xy)


Rect = tuple[float, float, float, float]
OFF_PLOT_SLACK_PX = 40.0  # labels pinned this close outside the plot are pulled back in
LABEL_WEIGHT = 10.0  # overlapping another label costs this much more than crossing a line
LINE_WEIGHT = 1.0


def segment_squares(
    p0: Sequence[float], p1: Sequence[float], frame: Frame, spacing: float = 10.0
) -> list[Rect]:
    """Small plot-pixel squares along a data-space segment (label obstacles for thin lines)."""
    if not finite(p0, p1):
        return []
    x0, _, _, y1 = frame.view
    a = ((p0[0] - x0) / frame.pixel[0], (y1 - p0[1]) / frame.pixel[1])
    b = ((p1[0] - x0) / frame.pixel[0], (y1 - p1[1]) / frame.pixel[1])
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    if not math.isfinite(length):
        return []
    n = min(200, max(1, int(length // spacing)))
    half = 0.5 * spacing
    out = []
    for i in range(n + 1):
        t = i / n
        cx, cy = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        out.append((cx - half, cy - half, cx + half, cy + half))
    return out


def layout_labels(
    labels: Iterable[Label], frame: Frame, obstacles: Iterable[tuple[Rect, float]] = ()
) -> None:
    """Keep labels inside the plot and off each other: greedy, in order of priority.

    Each label takes the nearest free spot around where its overlay put it; ``obstacles`` are
    (rect, weight) pairs to keep clear of (a text box weighs like a label, thin lines little).
    When nothing nearby is free, the spot with the least weighted overlap wins. A label whose
    anchor point is well off the plot is left alone (clipped with its item).
    """
    width, height = frame.plot_px
    margin = 4.0
    obstacles = list(obstacles)
    rects = np.array([r for r, _ in obstacles], float).reshape(-1, 4)
    weights = np.array([wt for _, wt in obstacles], float)
    n_line = 9  # vertical steps per horizontal offset (see below)
    for label in sorted(labels, key=lambda lab: lab.priority):
        rect = label.pixel_rect(frame) if label.visible else None
        if rect is None:
            continue
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        ax, ay = label.anchor
        anchor_px = (rect[0] + ax * w, rect[1] + ay * h)
        slack = OFF_PLOT_SLACK_PX
        off_x = not -slack <= anchor_px[0] <= width + slack
        if off_x or not -slack <= anchor_px[1] <= height + slack:
            continue
        # nearby spots first: whole-line steps up/down, half and whole widths sideways
        dx = np.repeat([0.0, 0.5 * w + 4, -(0.5 * w + 4), w + 8, -(w + 8)], n_line)
        dy = np.tile(np.array([0, 1, -1, 2, -2, 3, -3, 4, -4], float) * (h + 3), 5)
        order = np.argsort(np.hypot(dx, 1.5 * dy), kind="stable")
        lefts = np.clip(rect[0] + dx[order], margin, max(margin, width - margin - w))
        tops = np.clip(rect[1] + dy[order], margin, max(margin, height - margin - h))
        if len(rects):
            gap = 2.0
            ox = np.minimum(lefts[:, None] + w, rects[None, :, 2]) - np.maximum(
                lefts[:, None], rects[None, :, 0]
            )
            oy = np.minimum(tops[:, None] + h, rects[None, :, 3]) - np.maximum(
                tops[:, None], rects[None, :, 1]
            )
            area = np.clip(ox + gap, 0.0, None) * np.clip(oy + gap, 0.0, None)
            cost = area @ weights
            free = np.flatnonzero(cost == 0.0)
            pick = int(free[0]) if free.size else int(np.argmin(cost))
        else:
            pick = 0
        best = (float(lefts[pick]), float(tops[pick]))
        if best != (rect[0], rect[1]):
            label.move_rect(frame, *best)
        rects = np.vstack([rects, [best[0], best[1], best[0] + w, best[1] + h]])
        weights = np.append(weights, LABEL_WEIGHT)


def anchor_away(direction_px: Sequence[float]) -> tuple[float, float]:
    """A TextItem anchor that puts the text on the far side of a point along a screen direction
    (screen y up): text beyond an arrow's tip, not on top of it."""
    dx, dy = direction_px
    n = math.hypot(dx, dy) or 1.0
    ax = 0.5 - 0.5 * dx / n
    ay = 0.5 + 0.5 * dy / n  # TextItem anchors run downwards
    return (min(1.0, max(0.0, ax)), min(1.0, max(0.0, ay)))


class Arrow:
    """A shaft in data coordinates and a pixel-sized filled head at the tip."""

    def __init__(self, sizes: theme.Sizes, color: str, dashed: bool = False) -> None:
        self.color = color
        self.dashed = dashed
        self.shaft = pg.PlotDataItem(antialias=True)
        self.head = pg.ArrowItem(pxMode=True, tailLen=None)
        self.tail: tuple[float, float] | None = None
        self.tip: tuple[float, float] | None = None
        self.style(sizes)

    def graphics(self) -> tuple[Any, Any]:
        return self.shaft, self.head

    def style(self, sizes: theme.Sizes) -> None:
        width = style.line_width(sizes)
        self.width = width
        self.head_len = style.head_length(sizes)
        dash = Qt.PenStyle.DashLine if self.dashed else Qt.PenStyle.SolidLine
        self.shaft.setPen(pen(self.color, width, dash))
        self.shaft.setShadowPen(outline_pen(width))
        self.head.setStyle(
            headLen=self.head_len,
            headWidth=0.8 * self.head_len,
            pen=pg.mkPen(style.OVERLAY_OUTLINE, width=1.5),
            brush=pg.mkBrush(self.color),
        )

    def set(self, tail: Sequence[float], tip: Sequence[float], frame: Frame) -> bool:
        """Draw tail → tip; hidden (False) when degenerate, non-finite or shorter than 3 px."""
        if not finite(tail, tip):
            self.hide()
            return False
        vx, vy = frame.to_px((tip[0] - tail[0], tip[1] - tail[1]))
        length = math.hypot(vx, vy)
        if not math.isfinite(length) or length < 3.0:
            self.hide()
            return False
        head = min(self.head_len, 0.6 * length)
        self.head.setStyle(headLen=head, headWidth=0.8 * head)
        # the shaft stops inside the head so its thick line does not poke through the tip
        back = max(0.0, length - 0.7 * head) / length
        end = (tail[0] + back * (tip[0] - tail[0]), tail[1] + back * (tip[1] - tail[1]))
        self.shaft.setData([float(tail[0]), end[0]], [float(tail[1]), end[1]])
        # ArrowItem: angle 0 points left, rotation is clockwise on screen (y down)
        self.head.setStyle(angle=math.degrees(math.atan2(vy, -vx)))
        self.head.setPos(float(tip[0]), float(tip[1]))
        self.shaft.show()
        self.head.show()
        self.tail = (float(tail[0]), float(tail[1]))
        self.tip = (float(tip[0]), float(tip[1]))
        return True

    def hide(self) -> None:
        self.shaft.hide()
        self.head.hide()
        self.tail = self.tip = None

    @property
    def visible(self) -> bool:
        return self.tip is not None and self.head.isVisible()


# -- the overlay base class ----------------------------------------------------------------------
class Overlay:
    """One kind of overlay, drawn for every shown racer; groups are created on demand."""

    name = ""
    title = ""

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        self.plot = plot
        self.sizes = sizes
        self.groups: dict[Any, Group] = {}
        self._scene: tuple = ()

    def update(self, frame: Frame) -> None:
        """Draw this frame; racers that are gone (or have nothing to show) lose their items."""
        self.sizes = frame.sizes
        scene = (frame.objective, frame.dim)
        if scene != self._scene:  # another surface (maybe another dimension): start afresh
            self.clear()
            self._scene = scene
        drawn = set(self.draw(frame))
        for key in list(self.groups):
            if key not in drawn:
                self.groups.pop(key).remove()

    def draw(self, frame: Frame) -> Iterable[Any]:
        """Draw and return the keys of the groups that are in use."""
        drawn = []
        for racer in frame.racers:
            if self.draw_racer(frame, racer):
                drawn.append(racer.racer_id)
        return drawn

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def group(self, key: Any, build: Callable[[Group], None]) -> Group:
        """The group for ``key``; ``build(group)`` adds its items (as attributes) the first time."""
        found = self.groups.get(key)
        if found is None:
            found = Group(self.plot)
            build(found)
            self.groups[key] = found
        return found

    def clear(self) -> None:
        for g in self.groups.values():
            g.remove()
        self.groups = {}

    def items(self) -> list[Any]:
        """Every graphics item this overlay currently has in the plot (for tests and tools)."""
        return [item for g in self.groups.values() for item in g.items]

    def labels(self) -> list[Label]:
        """This overlay's text labels, most important first (for the layout pass)."""
        return [label for g in self.groups.values() for label in g.labels]

    def obstacles(self, frame: Frame) -> list[tuple[Rect, float]]:
        """(plot-pixel rectangle, weight) pairs that labels should avoid: small squares along
        this overlay's visible arrows and the other line segments it registered."""
        out: list[tuple[Rect, float]] = []
        for g in self.groups.values():
            segments = [(a.tail, a.tip) for a in g.arrows if a.visible] + list(g.blockers)
            for p0, p1 in segments:
                out += [(sq, LINE_WEIGHT) for sq in segment_squares(p0, p1, frame)]
        return out

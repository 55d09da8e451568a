"""Rprop's per-coordinate step sizes as a box around the head, and its sign flips on the trail.

The box is centred at the head with half-widths Δᵢ = the record's ``step_sizes`` (1-D: a bar).
On the trail: ✕ where a derivative was found to have changed sign (the overshoot point w_{k−1} of a
record whose ``flipped`` is set) and ◆ where a return move landed (w_k of a record whose
``returned`` is set). Events are read from the kept records once and cached per racer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.run import StepRecord
from gui import theme
from gui.history import RacerHistory
from gui.overlays import style
from gui.overlays.base import (
    Frame,
    Group,
    Overlay,
    RacerFrame,
    finite,
    fmt,
    outline_pen,
    pen,
    polyline,
    set_polyline,
    sub,
)

CAP_PX = 7.0  # half-height of the 1-D bar's end caps
BAR_DROP_PX = 14.0  # the 1-D bar is drawn this far below the head


@dataclass
class _Events:
    """Iterations of the kept records that flipped / returned, scanned up to ``upto``."""

    history: RacerHistory
    epoch: object = None  # history.epoch when scanned (bumped by a rewind-and-continue)
    upto: int = -1
    last: StepRecord | None = None
    flips: list[int] = field(default_factory=list)  # record iterations k (drawn at w_{k−1})
    returns: list[int] = field(default_factory=list)  # record iterations k (drawn at w_k)


class RpropBoxOverlay(Overlay):
    name = "rprop_box"
    title = "Rprop step sizes and sign flips"

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        super().__init__(plot, sizes)
        self._events: dict[int, _Events] = {}

    def update(self, frame: Frame) -> None:
        shown = {r.racer_id for r in frame.racers}
        for rid in list(self._events):
            if rid not in shown:
                del self._events[rid]
        super().update(frame)

    def clear(self) -> None:
        super().clear()
        self._events = {}

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:
        vis = racer.record.visible
        if "step_sizes" not in vis:
            return False
        delta = np.asarray(vis["step_sizes"][0], float)
        if not finite(delta, racer.head_xy):
            return False
        grp = self.group(racer.racer_id, lambda g: self._build(g, racer.color))
        x, y = racer.head_xy
        bx0, bx1, by0, by1 = frame.far_box()
        if frame.dim == 1:
            # the bar hangs just below the head, clear of the horizontal −∇E arrow
            y -= BAR_DROP_PX * frame.pixel[1]
            cap = CAP_PX * frame.pixel[1]
            lo, hi = np.clip([x - delta[0], x + delta[0]], bx0, bx1)
            pieces = [
                ((lo, hi), (y, y)),
                ((lo, lo), (y - cap, y + cap)),
                ((hi, hi), (y - cap, y + cap)),
            ]
            corner = (hi, y + cap)
            fill_level = None
            text = f"Δ = {fmt(delta[0])}"
        else:
            lo_x, hi_x = np.clip([x - delta[0], x + delta[0]], bx0, bx1)
            lo_y, hi_y = np.clip([y - delta[1], y + delta[1]], by0, by1)
            pieces = [((lo_x, hi_x, hi_x, lo_x, lo_x), (lo_y, lo_y, hi_y, hi_y, lo_y))]
            corner = (hi_x, hi_y)
            fill_level = lo_y
            text = f"Δ{sub(1)} = {fmt(delta[0])}   Δ{sub(2)} = {fmt(delta[1])}"
        set_polyline(grp.box, polyline(pieces, frame.far_box(3.01)))
        grp.box.setFillLevel(fill_level)  # the rectangle's path closed down to its bottom edge
        grp.half_widths = delta.copy()

        flips, returns = self._scan(racer)
        flip_xy = _points(racer, [k - 1 for k in flips])
        return_xy = _points(racer, returns)
        grp.flips.setData(*flip_xy)
        grp.returns.setData(*return_xy)
        text += f"\n✕ sign flip ({len(flip_xy[0])})   ◆ return ({len(return_xy[0])})"
        grp.label.set(text, frame.offset(corner, 6.0, 6.0), (0.0, 1.0))
        return True

    # -- events -----------------------------------------------------------------------------------
    def _scan(self, racer: RacerFrame) -> tuple[list[int], list[int]]:
        """Flip / return iterations up to the shown one, reading each kept record only once."""
        history = racer.history
        ev = self._events.get(racer.racer_id)
        stale = (
            ev is None
            or ev.history is not history
            or ev.epoch != getattr(history, "epoch", None)
            or ev.upto > history.latest_iteration  # truncated by a rewind-and-continue
            or (ev.last is not None and history.record_at(ev.upto) not in (None, ev.last))
        )
        if stale:
            ev = _Events(history, getattr(history, "epoch", None))
            self._events[racer.racer_id] = ev
        for k in range(ev.upto + 1, history.latest_iteration + 1):
            rec = history.record_at(k)
            if rec is None:
                continue
            vis = rec.visible
            if "flipped" in vis and bool(np.any(vis["flipped"][0])):
                ev.flips.append(k)
            if "returned" in vis and bool(np.any(vis["returned"][0])):
                ev.returns.append(k)
            ev.last = rec
        ev.upto = max(ev.upto, history.latest_iteration)
        shown = racer.k
        return [k for k in ev.flips if k <= shown], [k for k in ev.returns if k <= shown]

    # -- items ------------------------------------------------------------------------------------
    def _build(self, grp: Group, color: str) -> None:
        width = style.line_width(self.sizes)
        fill = pg.mkColor(color)
        fill.setAlpha(45)
        grp.box = grp.make_curve(
            style.Z_BOX,
            pen=pen(color, width, Qt.PenStyle.DashLine),
            shadowPen=outline_pen(width),
            fillBrush=pg.mkBrush(fill),
        )
        size = style.event_marker_size(self.sizes)
        grp.flips = grp.make_scatter(
            style.Z_EVENTS,
            symbol="x",
            size=size,
            pen=pg.mkPen("#000000", width=1.2),
            brush=pg.mkBrush(style.RPROP_FLIP_COLOR),
        )
        grp.returns = grp.make_scatter(
            style.Z_EVENTS - 0.05,
            symbol="d",
            size=0.9 * size,
            pen=pg.mkPen("#000000", width=1.2),
            brush=pg.mkBrush(style.RPROP_RETURN_COLOR),
        )
        grp.label = grp.make_label(self.sizes, color, priority=1)
        grp.half_widths = None


def _points(racer: RacerFrame, iterations: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Display positions of the given iterations of a racer's trail (finite ones only)."""
    ks = np.array([k for k in iterations if 0 <= k < racer.history.count], int)
    if ks.size == 0:
        return np.empty(0), np.empty(0)
    pts = racer.history.positions()[ks]
    if pts.shape[1] == 1:
        xs, ys = pts[:, 0], racer.history.losses()[ks]
    else:
        xs, ys = pts[:, 0], pts[:, 1]
    ok = np.isfinite(xs) & np.isfinite(ys)
    return xs[ok].copy(), ys[ok].copy()

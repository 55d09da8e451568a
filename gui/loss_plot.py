"""Loss against iteration for every racer, in the racers' colours, with a hover readout.

Like the trails, each curve is a cached settled part plus a live tail, and the axes grow in
steps (x to the next "nice" length, y by whole decades) so the cache survives between frames.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Slot
from PySide6.QtWidgets import QGraphicsItem

from gui import theme
from gui.polyline_batch import PolylineBatch


def nice_ceiling(value: float) -> float:
    """The next of 1, 2, 5 × 10^k at or above ``value``."""
    if value <= 10:
        return 10.0
    exp = math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if m * 10**exp >= value:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def peak_decimate(ks: np.ndarray, ys: np.ndarray, per_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A curve with many points per pixel column as each column's min and max (what drawing
    every point would show, as pyqtgraph's "peak" downsampling); the first and last points are
    kept (where the tail meets the settled part, and the racer's latest loss)."""
    size = int(per_px)
    n = len(ys)
    if size < 2 or n < 4 * size or not np.isfinite(ys).all():
        return ks, ys
    inner = (n - 2) // size * size
    blocks = ys[1 : 1 + inner].reshape(-1, size)
    lo, hi = blocks.min(axis=1), blocks.max(axis=1)
    middle = ks[1 : 1 + inner : size] + 0.5 * (size - 1)  # min and max: one column
    columns_k = np.repeat(middle, 2)
    columns_y = np.stack([lo, hi], axis=1).ravel()
    rest = slice(1 + inner, None)
    return (
        np.concatenate([ks[:1], columns_k, ks[rest]]),
        np.concatenate([ys[:1], columns_y, ys[rest]]),
    )


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


class LossCurve:
    """One racer's loss curve: settled part (its own cached item) + a tail, which is a line of
    the plot's shared :class:`PolylineBatch` (one item paints every racer's tail)."""

    def __init__(
        self, plot: pg.PlotItem, tails: PolylineBatch, key: int, color: str, width: float
    ) -> None:
        self.settled = pg.PlotDataItem(pen=pg.mkPen(color, width=width))
        self.settled.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.addItem(self.settled)  # PlotItem.addItem applies the plot's downsampling mode (below)
        self.tails = tails
        self.key = key
        self.tails.set_style(key, color, width)
        self.tail: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))  # k, E (not log)
        self.settled_key: object = None
        self.shown = True  # hidden when the map's legend hides the racer
        self.given_key: object = None  # the settled key of the last set_losses
        self.clean = True  # every loss in the settled part is finite
        self.settled_range: tuple[float, float] | None = None

    def set_pen(self, color: str, width: float) -> None:
        self.settled.setPen(pg.mkPen(color, width=width))
        self.tails.set_style(self.key, color, width)

    def draw_tail(self, log: bool, per_px: float = 1.0) -> None:
        ks, ys = peak_decimate(*self.tail, per_px)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                ys = np.log10(ys)
        self.tails.set_line(self.key, ks, ys)

    def remove(self, plot: pg.PlotItem) -> None:
        plot.removeItem(self.settled)
        self.tails.remove_line(self.key)


class LossPlot(pg.PlotWidget):
    """E(w_k) vs k; log-scaled y whenever every shown loss is positive."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="#1e1e24")
        self.plot = self.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "iteration k")
        self.plot.setLabel("left", "E(w_k)")
        # no grid: with log ticks it costs more to paint than all the curves together
        self.plot.getViewBox().disableAutoRange()
        for name in ("left", "bottom"):  # they change only with the range: from pixmaps
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # every curve added (and any later change of the plot's own settings) gets these: a
        # 100,000-step curve is drawn with about two points per pixel column, not all of them
        self.plot.setDownsampling(auto=True, mode="peak")
        self.curves: dict[int, LossCurve] = {}
        # every racer's live tail: one item, one paint (not antialiased, like the settled parts)
        self.tails = PolylineBatch(antialias=False)
        self.tails.setZValue(1)
        self.plot.addItem(self.tails, ignoreBounds=True)
        self.colors: dict[int, str] = {}
        self.titles: dict[int, str] = {}
        self._data: dict[int, np.ndarray] = {}
        self._summary: dict[int, tuple[float, float] | None] = {}  # finite min/max per racer
        self._log = False
        self._range: tuple[float, float, float] | None = None  # (x_max, y_lo, y_hi)
        self.readout = pg.TextItem(color="#f0f0f0", anchor=(0, 1), fill=pg.mkBrush(20, 20, 28, 210))
        self.readout.setZValue(50)
        self.readout.hide()
        self.plot.addItem(self.readout, ignoreBounds=True)
        self.dot = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#000000"), brush=pg.mkBrush("#ffffff"))
        self.dot.setZValue(49)
        self.plot.addItem(self.dot, ignoreBounds=True)
        self.sizes = theme.NORMAL
        self.scene().sigMouseMoved.connect(self._hover)

    def set_racers(self, racers: dict[int, tuple[str, str]]) -> None:
        for rid in list(self.curves):
            if rid not in racers:
                self.curves.pop(rid).remove(self.plot)
                self._data.pop(rid, None)
                self._summary.pop(rid, None)
        for rid, (color, title) in racers.items():
            self.titles[rid] = title
            self.colors[rid] = color
            if rid in self.curves:
                self.curves[rid].set_pen(color, self.sizes.trail_width)
            else:
                self.curves[rid] = LossCurve(
                    self.plot, self.tails, rid, color, self.sizes.trail_width
                )

    @Slot(int, bool)
    def show_racer(self, racer_id: int, shown: bool) -> None:
        """Show or hide a racer's curve (the map's legend hides its path; this follows)."""
        curve = self.curves.get(racer_id)
        if curve is None or curve.shown == shown:
            return
        curve.shown = shown
        curve.settled.setVisible(shown)
        self.tails.set_line_visible(racer_id, shown)
        self.readout.hide()
        self.dot.clear()
        # the axes fit the shown curves (a hidden diverged racer no longer squashes the rest)
        self._range = None
        for rid, ys in list(self._data.items()):
            if rid in self.curves and len(ys):
                self.curves[rid].settled_key = None
                self.set_losses(rid, ys, self.curves[rid].given_key)

    def set_losses(self, racer_id: int, losses: np.ndarray, settled_key: object = None) -> None:
        """Show E(w_0..w_k); the part before ``settled_key[0]`` is redrawn only when it changes."""
        curve = self.curves.get(racer_id)
        if curve is None:
            return
        # records never hold ±inf or NaN losses for accepted points, but a failed start may
        ys = losses if np.isfinite(losses[-1:]).all() and curve.clean else _finite_or_nan(losses)
        self._data[racer_id] = ys
        curve.given_key = settled_key
        settled = settled_key[0] if isinstance(settled_key, tuple) else 0
        settled = min(settled, len(ys) - 1) if len(ys) else 0
        if settled_key != curve.settled_key:
            # the settled part's extent is computed once per block, the tail's every frame
            head = ys[: settled + 1]
            finite = head[np.isfinite(head)]
            curve.clean = bool(finite.size == head.size)
            curve.settled_range = (
                (float(finite.min()), float(finite.max())) if finite.size else None
            )
        tail = ys[settled:]
        finite = tail[np.isfinite(tail)]
        ranges = [r for r in (curve.settled_range,) if r is not None]
        if finite.size:
            ranges.append((float(finite.min()), float(finite.max())))
        self._summary[racer_id] = (
            (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None
        )
        log_changed = self._update_log_mode()
        if settled_key != curve.settled_key or log_changed:
            curve.settled_key = settled_key
            ks = np.arange(settled + 1, dtype=float)
            curve.settled.setData(ks, ys[: settled + 1], connect="finite")
        curve.tail = (np.arange(settled, len(ys), dtype=float), tail)
        self._update_range()
        curve.draw_tail(self._log, self._iterations_per_px())

    def clear_losses(self) -> None:
        self._data.clear()
        self._summary.clear()
        for curve in self.curves.values():
            curve.settled_key = None
            curve.settled.setData([], [])
            curve.tail = (np.empty(0), np.empty(0))
            curve.draw_tail(self._log)
        self.readout.hide()
        self.dot.clear()
        self._range = None

    def curve_data(self, racer_id: int) -> tuple[np.ndarray, np.ndarray]:
        ys = self._data.get(racer_id, np.empty(0))
        return np.arange(len(ys), dtype=float), ys

    def _iterations_per_px(self) -> float:
        if self._range is None:
            return 1.0
        return self._range[0] / max(float(self.plot.getViewBox().width()), 1.0)

    def _shown_summaries(self) -> list[tuple[float, float]]:
        """The finite (min, max) of every shown racer's losses."""
        return [
            v
            for rid, v in self._summary.items()
            if v is not None and (rid not in self.curves or self.curves[rid].shown)
        ]

    def _update_log_mode(self) -> bool:
        values = self._shown_summaries()
        want_log = bool(values) and all(lo > 0 for lo, _ in values)
        if want_log == self._log:
            return False
        self._log = want_log
        # a neutral range first: pyqtgraph maps the old range through 10**y, which overflows
        # when a linear range is huge
        self.plot.getViewBox().setRange(yRange=(0.0, 1.0), padding=0)
        self.plot.setLogMode(x=False, y=want_log)
        self.plot.setLabel("left", "E(w_k)  (log scale)" if want_log else "E(w_k)")
        self._range = None
        for curve in self.curves.values():
            curve.settled_key = None
            curve.draw_tail(want_log, self._iterations_per_px())  # the settled parts follow
        return True

    def _update_range(self) -> None:
        """Grow the view in steps so cached curves stay valid between frames."""
        finite = self._shown_summaries()
        if not finite:
            return
        k_max = max(len(ys) for ys in self._data.values()) - 1
        lo = min(v[0] for v in finite)
        hi = max(v[1] for v in finite)
        if self._log:
            lo, hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
            if hi <= lo:
                hi = lo + 1
        else:
            pad = 0.05 * (hi - lo if hi > lo else max(abs(hi), 1.0))
            lo, hi = lo - pad, hi + pad
        old = self._range
        x_max = old[0] if old and k_max <= old[0] else nice_ceiling(max(k_max * 1.25, 10))
        if old and old[0] == x_max and old[1] <= lo and hi <= old[2]:
            return
        if old and not self._log:  # linear: widen generously so it does not change every frame
            lo = min(lo, old[1]) if old[1] <= lo + (hi - lo) else lo
            hi = max(hi, old[2])
        self._range = (x_max, lo, hi)
        margin = 0.04 * (hi - lo)  # keep the end ticks' labels inside the plot
        self.plot.getViewBox().setRange(
            xRange=(0, x_max), yRange=(lo - margin, hi + margin), padding=0
        )

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        self.sizes = sizes
        font = pg.QtGui.QFont()
        font.setPointSize(sizes.axis_pt)
        for name in ("bottom", "left"):
            axis = self.plot.getAxis(name)
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)
        for rid, curve in self.curves.items():
            curve.set_pen(self.colors[rid], sizes.trail_width)

    def _hover(self, scene_pos: QPointF) -> None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos) or not self._data:
            self.readout.hide()
            self.dot.clear()
            return
        p = vb.mapSceneToView(scene_pos)
        k = round(p.x())
        best = None
        for rid, ys in self._data.items():
            curve = self.curves.get(rid)
            if curve is not None and not curve.shown:  # hidden from the map's legend
                continue
            if 0 <= k < len(ys) and np.isfinite(ys[k]) and (ys[k] > 0 or not self._log):
                shown = math.log10(ys[k]) if self._log else ys[k]
                dist = abs(shown - p.y())
                if best is None or dist < best[0]:
                    best = (dist, rid, ys[k], shown)
        if best is None:
            self.readout.hide()
            self.dot.clear()
            return
        _, rid, value, shown = best
        self.readout.setText(f"{self.titles.get(rid, '')}\nk = {k}\nE = {value:.6g}")
        self.readout.setPos(k, shown)
        self.readout.show()
        self.dot.setData([k], [shown])

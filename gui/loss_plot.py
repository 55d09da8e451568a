"""Loss against iteration for every racer, in the racers' colours, with a hover readout."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF

from gui import theme


class LossPlot(pg.PlotWidget):
    """E(w_k) vs k; log-scaled y whenever every shown loss is positive."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="#1e1e24")
        self.plot = self.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "iteration k")
        self.plot.setLabel("left", "E(w_k)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.titles: dict[int, str] = {}
        self._data: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._log = False
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
                self.plot.removeItem(self.curves.pop(rid))
                self._data.pop(rid, None)
        for rid, (color, title) in racers.items():
            self.titles[rid] = title
            if rid in self.curves:
                self.curves[rid].setPen(pg.mkPen(color, width=self.sizes.trail_width))
                continue
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=self.sizes.trail_width))
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.plot.addItem(curve)
            self.curves[rid] = curve

    def set_losses(self, racer_id: int, losses: np.ndarray) -> None:
        curve = self.curves.get(racer_id)
        if curve is None:
            return
        ks = np.arange(len(losses), dtype=float)
        ys = np.where(np.isfinite(losses), losses, np.nan)
        self._data[racer_id] = (ks, ys)
        self._update_log_mode()
        curve.setData(ks, ys, connect="finite")

    def clear_losses(self) -> None:
        self._data.clear()
        for curve in self.curves.values():
            curve.setData([], [])
        self.readout.hide()
        self.dot.clear()

    def _update_log_mode(self) -> None:
        values = [ys[np.isfinite(ys)] for _, ys in self._data.values()]
        values = [v for v in values if v.size]
        want_log = bool(values) and all(float(v.min()) > 0 for v in values)
        if want_log != self._log:
            self._log = want_log
            self.plot.setLogMode(x=False, y=want_log)
            self.plot.setLabel("left", "E(w_k)  (log scale)" if want_log else "E(w_k)")

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        self.sizes = sizes
        font = pg.QtGui.QFont()
        font.setPointSize(sizes.axis_pt)
        for name in ("bottom", "left"):
            axis = self.plot.getAxis(name)
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)
        for curve in self.curves.values():
            pen = curve.opts["pen"]
            curve.setPen(pg.mkPen(pen.color(), width=sizes.trail_width))

    def _hover(self, scene_pos: QPointF) -> None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos) or not self._data:
            self.readout.hide()
            self.dot.clear()
            return
        p = vb.mapSceneToView(scene_pos)
        k = int(round(p.x()))
        best = None
        for rid, (_, ys) in self._data.items():
            if 0 <= k < len(ys) and np.isfinite(ys[k]):
                shown = np.log10(ys[k]) if self._log else ys[k]
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

"""The step-size regime box (lecture slides 44–56, 70).

Quadratic objectives (H constant, taken from a record's ``hess``): per eigen-direction λᵢ the
optimal step η_opt,i = 1/λᵢ and the divergence limit 2η_opt,i; κ = λmax/λmin (large κ ⇒ slow
convergence); and for each gradient-descent racer its η as a multiple of each η_opt,i with the
regime in words (engine.analysis). Other objectives: the *local* η_opt = 1/E″(w) (1-D) or the
Hessian's κ (2-D) at each head. The numbers come from engine.analysis.analyse_quadratic.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from engine.analysis import REGIME_TEXT, analyse_quadratic
from engine.optimizers import optimizer_spec
from gui import theme
from gui.overlays import style
from gui.overlays.base import LABEL_WEIGHT, Frame, Overlay, RacerFrame, Rect, finite, fmt, sub

QUADRATICS = ("quadratic_1d", "quadratic_2d")
# racers whose update is w ← w − η·(gradient-like direction); the thresholds are plain GD's
GD_LIKE = {
    "gd": "",
    "momentum": "momentum changes these limits; shown: plain GD's",
    "nesterov": "momentum changes these limits; shown: plain GD's",
}
MARGIN_PX = 10.0


class RegimeOverlay(Overlay):
    name = "regime"
    title = "Step-size regime (η vs η_opt, κ)"

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        super().__init__(plot, sizes)
        self.box: pg.TextItem | None = None
        self._html = ""
        self._dim = 2
        self._heads_px: list[tuple[float, float]] = []
        self._trail_px = np.empty((0, 2))
        self._sizes: dict[float, tuple[float, float]] = {}  # text width -> box size, this page
        self._text_width = -1.0
        self.corner = ""
        plot.getViewBox().sigResized.connect(self._resized)

    # -- Overlay API ------------------------------------------------------------------------------
    def update(self, frame: Frame) -> None:
        self.sizes = frame.sizes
        self._dim = frame.dim
        x0, _, _, y1 = frame.view
        self._heads_px = [
            ((r.head_xy[0] - x0) / frame.pixel[0], (y1 - r.head_xy[1]) / frame.pixel[1])
            for r in frame.racers
        ]
        self._trail_px = _trail_pixels(frame)
        body = self.compose(frame)
        if not body:
            self.clear()
            return
        page = (
            f'<div style="font-size:{style.box_font_pt(frame.sizes)}pt; '
            f'color:{style.LABEL_TEXT}">{body}</div>'
        )
        if self.box is None:
            self.box = pg.TextItem(
                anchor=(1.0, 0.0),
                fill=pg.mkBrush(style.LABEL_FILL),
                border=pg.mkPen(style.LABEL_BORDER),
            )
            self.box.setZValue(style.Z_LABEL + 5)
            self.box.setParentItem(self.plot.getViewBox())
        if page != self._html:
            self.box.setHtml(page)
            self._html = page
            self._sizes = {}
        self.box.show()
        self.reposition()

    def clear(self) -> None:
        if self.box is not None:
            self.box.hide()
            if self.box.scene() is not None:
                self.box.scene().removeItem(self.box)
            self.box.setParentItem(None)
            self.box = None
        self._html = ""
        self._sizes = {}
        self._text_width = -1.0

    def items(self) -> list:
        return [self.box] if self.box is not None else []

    def text(self) -> str:
        """What the box says, as plain text ('' when hidden)."""
        if self.box is None or not self.box.isVisible():
            return ""
        return self.box.textItem.toPlainText()

    def obstacles(self, frame: Frame) -> list[tuple[Rect, float]]:
        rect = self._rect()
        if rect is None:
            return []
        return [((rect.left(), rect.top(), rect.right(), rect.bottom()), LABEL_WEIGHT)]

    def _rect(self) -> QRectF | None:
        """The box in plot pixels (the ViewBox's own coordinates)."""
        if self.box is None or not self.box.isVisible():
            return None
        size = self.box.textItem.boundingRect()
        ax, ay = self.box.anchor
        pos = self.box.pos()
        return QRectF(
            pos.x() - ax * size.width(), pos.y() - ay * size.height(), size.width(), size.height()
        )

    def _size(self, width: float) -> tuple[float, float]:
        """The box's size with the text wrapped at ``width`` (−1: unwrapped), cached per page."""
        found = self._sizes.get(width)
        if found is None:
            self.box.setTextWidth(width)
            self._text_width = width
            rect = self.box.textItem.boundingRect()
            found = self._sizes[width] = (rect.width(), rect.height())
        return found

    def _resized(self, *_: object) -> None:
        self.reposition()

    def reposition(self, *_: object) -> None:
        """Into the freest corner of the plot: never over the legend (top-left) if avoidable,
        then over as few racer heads and trail points as possible; 2-D prefers top-right, 1-D
        bottom-right (the curve rises into the top corners). The text wraps to fit a corner."""
        if self.box is None:
            return
        view = self.plot.getViewBox()
        rect = view.rect()
        m = MARGIN_PX
        legend = getattr(self.plot, "legend", None)
        legend_rect = None
        if legend is not None and legend.isVisible() and legend.parentItem() is view:
            legend_rect = legend.mapRectToParent(legend.boundingRect())
        natural = self._size(-1.0)[0]
        full = rect.width() - 2 * m
        beside_legend = full if legend_rect is None else rect.right() - m - legend_rect.right() - m
        order = ["bottom-right", "bottom-left", "top-right"] if self._dim == 1 else None
        order = order or ["top-right", "bottom-right", "bottom-left"]
        best = None
        for rank, name in enumerate(order):
            limit = beside_legend if name == "top-right" else full
            width = -1.0 if natural <= limit else max(limit, 0.55 * natural, 160.0)
            w, h = self._size(width)
            left = rect.left() + m if name.endswith("left") else rect.right() - m - w
            top = rect.top() + m if name.startswith("top") else rect.bottom() - m - h
            box = QRectF(left, top, w, h)
            covers_legend = int(legend_rect is not None and box.intersects(legend_rect))
            heads = sum(1 for p in self._heads_px if box.contains(*p))
            trail = _count_inside(self._trail_px, box)
            cost = (covers_legend, heads, int(width > 0), trail, rank)
            if best is None or cost < best[0]:
                best = (cost, name, width, left, top)
        _, name, width, left, top = best
        if width != self._text_width:
            self.box.setTextWidth(width)
            self._text_width = width
        self.box.setAnchor((0.0, 0.0))
        self.box.setPos(left, top)
        self.corner = name

    # -- text -------------------------------------------------------------------------------------
    def compose(self, frame: Frame) -> str:
        """The box's HTML ('' for nothing to say)."""
        if not frame.racers:
            return ""
        name = frame.objective.name if frame.objective is not None else ""
        if name in QUADRATICS:
            return self._quadratic(frame)
        return self._local(frame)

    def _quadratic(self, frame: Frame) -> str:
        hess = next((r.record.hess[0] for r in frame.racers if r.record.hess is not None), None)
        if hess is None or not finite(hess):
            return ""
        base = analyse_quadratic(hess, 1.0)
        d = len(base.directions)
        rows = []
        title = "Quadratic: H = A is the same everywhere" if d == 2 else "Quadratic: E″(w) = a"
        rows.append(f"<b>{title}</b>")
        cells = []
        for i, direction in enumerate(base.directions):
            lam = direction.eigenvalue
            name = f"λ{sub(i + 1)}" if d == 2 else "a"
            idx = sub(i + 1) if d == 2 else ""
            if lam > 0:
                cells.append(
                    _row(
                        f"{name} = {fmt(lam)}",
                        f"η<sub>opt</sub>{idx} = 1/{name} = {fmt(direction.eta_opt)}",
                        f"2η<sub>opt</sub>{idx} = {fmt(direction.eta_limit)}",
                    )
                )
            else:
                cells.append(
                    _row(f"{name} = {fmt(lam)}", "no minimum along this direction", "(λ ≤ 0)")
                )
        rows.append(_table(cells))
        if d == 2:
            kappa = base.condition_number
            if math.isfinite(kappa):
                rows.append(
                    f"κ = λ<sub>max</sub>/λ<sub>min</sub> = <b>{fmt(kappa)}</b>"
                    + (
                        " — large κ ⇒ slow convergence:<br>&nbsp;&nbsp;η must stay below "
                        f"2/λ<sub>max</sub> = {fmt(base.eta_max_stable)}, so the λ<sub>min</sub> "
                        "direction crawls"
                        if kappa > 1.0 + 1e-9
                        else " — perfectly conditioned: one η fits every direction"
                    )
                )
            else:
                rows.append("κ undefined: H is not positive definite")
        for racer in frame.racers:
            spec = GD_LIKE.get(racer.config.optimizer)
            if spec is None:
                continue
            lr, lr_name = _learning_rate(racer)
            if lr is None:
                continue
            an = analyse_quadratic(hess, lr)
            rows.append(
                f"{_swatch(racer.color)} <b>{html.escape(racer.config.title)}</b>: "
                f"{lr_name} = {fmt(lr)}"
            )
            cells = []
            for i, direction in enumerate(an.directions):
                where = f"along λ{sub(i + 1)}:" if d == 2 else ""
                if direction.eigenvalue > 0:
                    ratio = f"{lr_name} = {fmt(lr / direction.eta_opt)}·η<sub>opt</sub>"
                else:
                    ratio = f"{lr_name} &gt; 0 with λ ≤ 0"
                color = _regime_color(direction.regime)
                words = _html_eta(html.escape(REGIME_TEXT[direction.regime]))
                cells.append(_row(where, ratio, f'→ <span style="color:{color}">{words}</span>'))
            rows.append(_table(cells, indent=True))
            if spec:
                rows.append(f"&nbsp;&nbsp;<i>({spec})</i>")
        return _join(rows)

    def _local(self, frame: Frame) -> str:
        head = "E″(w)" if frame.dim == 1 else "the Hessian"
        rows = [f"<b>Curvature at the heads</b> ({head}; E is not quadratic)"]
        cells: list[list[str]] = []
        seen: dict[bytes, int] = {}
        for racer in frame.racers:
            hess = racer.record.hess
            if hess is None or not finite(hess[0]):
                continue
            key = np.asarray(racer.head, float).tobytes()
            if key in seen:  # same point as an earlier racer: add its colour to that row
                cells[seen[key]][0] += _swatch(racer.color)
                continue
            an = analyse_quadratic(hess[0], 1.0)
            if frame.dim == 1:
                direction = an.directions[0]
                lam = direction.eigenvalue
                text = f"E″ = {fmt(lam)}"
                if lam > 0:
                    detail = (
                        f"local η<sub>opt</sub> = 1/E″ = {fmt(direction.eta_opt)}, "
                        f"2η<sub>opt</sub> = {fmt(direction.eta_limit)}"
                    )
                    lr, lr_name = _learning_rate(racer)
                    if lr is not None and racer.config.optimizer in GD_LIKE:
                        detail += f";  {lr_name} = {fmt(lr / direction.eta_opt)}·η<sub>opt</sub>"
                else:
                    detail = "E″ ≤ 0: curving down, no local η<sub>opt</sub>"
            else:
                lams = ", ".join(fmt(v.eigenvalue) for v in an.directions)
                text = f"λ = {lams}"
                kappa = an.condition_number
                detail = (
                    f"κ(H) = λ<sub>max</sub>/λ<sub>min</sub> = <b>{fmt(kappa)}</b>"
                    if math.isfinite(kappa)
                    else "not positive definite: κ undefined"
                )
            seen[key] = len(cells)
            cells.append([_swatch(racer.color), text, detail])
        if not cells:
            return ""
        rows.append(_table([_row(*c) for c in cells]))
        if frame.dim == 2 and any("κ(H)" in c[2] for c in cells):
            rows.append("large κ ⇒ narrow valley ⇒ slow gradient descent")
        return _join(rows)


# -- placement helpers ----------------------------------------------------------------------------
TRAIL_SAMPLES = 400  # trail points per racer considered when choosing the box's corner


def _trail_pixels(frame: Frame) -> np.ndarray:
    """A sample of every shown trail, in plot pixels (n, 2)."""
    x0, _, _, y1 = frame.view
    parts = []
    for racer in frame.racers:
        pts = racer.history.positions(racer.k)
        step = max(1, len(pts) // TRAIL_SAMPLES)
        pts = pts[::step]
        ys = racer.history.losses(racer.k)[::step] if frame.dim == 1 else pts[:, 1]
        xy = np.stack([(pts[:, 0] - x0) / frame.pixel[0], (y1 - ys) / frame.pixel[1]], axis=1)
        parts.append(xy[np.all(np.isfinite(xy), axis=1)])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _count_inside(points: np.ndarray, box: QRectF) -> int:
    if not len(points):
        return 0
    inside = (
        (points[:, 0] >= box.left())
        & (points[:, 0] <= box.right())
        & (points[:, 1] >= box.top())
        & (points[:, 1] <= box.bottom())
    )
    return int(inside.sum())


# -- html helpers --------------------------------------------------------------------------------
def _html_eta(text: str) -> str:
    return text.replace("η_opt", "η<sub>opt</sub>")


def _join(rows: list[str]) -> str:
    """Rows joined by line breaks, except around tables (which are blocks already)."""
    out = ""
    for i, row in enumerate(rows):
        if i and not row.startswith("<table") and not rows[i - 1].startswith("<table"):
            out += "<br>"
        out += row
    return out


def _row(*cells: str) -> str:
    return "<tr>" + "".join(f'<td style="padding-right:10px">{c}</td>' for c in cells) + "</tr>"


def _table(rows: list[str], indent: bool = False) -> str:
    margin = "margin-left:18px;" if indent else ""
    return f'<table cellspacing="0" cellpadding="1" style="{margin}">{"".join(rows)}</table>'


def _swatch(color: str) -> str:
    return f'<span style="color:{color}">■</span>'


def _regime_color(regime: str) -> str:
    return {
        "monotone": style.CURVATURE_POSITIVE,
        "one-step": style.CURVATURE_POSITIVE,
        "oscillating": style.RPROP_RETURN_COLOR,
        "oscillates-forever": "#ff9f1c",
        "divergent": style.CURVATURE_NEGATIVE,
    }[regime]


def _learning_rate(racer: RacerFrame) -> tuple[float | None, str]:
    """The racer's η: its lr parameter; with a schedule, the η_k of its latest step."""
    params = racer.config.params
    if params.get("schedule", "constant") != "constant":
        used = racer.record.visible.get("lr")
        if used is not None and finite(used[0]):
            return float(used[0]), "η<sub>k</sub>"
    lr = params.get("lr")
    if lr is None:
        try:
            lr = optimizer_spec(racer.config.optimizer).param("lr").default
        except (KeyError, ValueError):
            return None, "η"
    value = float(np.asarray(lr, float).ravel()[0])
    return (value, "η") if math.isfinite(value) and value > 0 else (None, "η")

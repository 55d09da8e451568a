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

from engine.analysis import REGIME_TEXT, analyse_quadratic
from engine.optimizers import optimizer_spec
from gui import theme
from gui.overlays import style
from gui.overlays.base import Frame, Overlay, RacerFrame, finite, fmt, sub

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
        plot.getViewBox().sigResized.connect(self.reposition)

    # -- Overlay API -------------------------------------------------------------------------------
    def update(self, frame: Frame) -> None:
        self.sizes = frame.sizes
        self._dim = frame.dim
        body = self.compose(frame)
        if not body:
            self.clear()
            return
        page = (
            f'<div style="font-size:{style.font_pt(frame.sizes)}pt; '
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

    def items(self) -> list:
        return [self.box] if self.box is not None else []

    def text(self) -> str:
        """What the box says, as plain text ('' when hidden)."""
        if self.box is None or not self.box.isVisible():
            return ""
        return self.box.textItem.toPlainText()

    def reposition(self, *_: object) -> None:
        """Top-right of the plot (the legend is top-left); 1-D: bottom-right, below the curve's
        rising branches."""
        if self.box is None:
            return
        rect = self.plot.getViewBox().rect()
        if self._dim == 1:
            self.box.setAnchor((1.0, 1.0))
            self.box.setPos(rect.right() - MARGIN_PX, rect.bottom() - MARGIN_PX)
        else:
            self.box.setAnchor((1.0, 0.0))
            self.box.setPos(rect.right() - MARGIN_PX, rect.top() + MARGIN_PX)

    # -- text ----------------------------------------------------------------------------------------
    def compose(self, frame: Frame) -> str:
        """The box's HTML ('' for nothing to say)."""
        if not frame.racers:
            return ""
        name = frame.objective.name if frame.objective is not None else ""
        if name in QUADRATICS:
            return self._quadratic(frame)
        return self._local(frame)

    def _quadratic(self, frame: Frame) -> str:
        hess = next(
            (r.record.hess[0] for r in frame.racers if r.record.hess is not None), None
        )
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
                words = html.escape(REGIME_TEXT[direction.regime])
                cells.append(
                    _row(where, ratio, f'→ <span style="color:{color}">{words}</span>')
                )
            rows.append(_table(cells, indent=True))
            if spec:
                rows.append(f"&nbsp;&nbsp;<i>({spec})</i>")
        return "<br>".join(rows)

    def _local(self, frame: Frame) -> str:
        rows = ["<b>Local curvature at each head</b> (E is not quadratic: it changes with w)"]
        cells = []
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
                text = f"E″(w) = {fmt(lam)}"
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
                    else "H not positive definite: κ undefined"
                )
            seen[key] = len(cells)
            cells.append([_swatch(racer.color), text, detail])
        if not cells:
            return ""
        rows.append(_table([_row(*c) for c in cells]))
        if frame.dim == 2:
            rows.append("large κ ⇒ a narrow valley: slow progress for gradient descent")
        return "<br>".join(rows)


# -- html helpers ------------------------------------------------------------------------------------
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

"""The Hessian at the head: its eigen-directions (green λ > 0, red λ < 0) with the eigenvalues, and
the curvature in words. 1-D: E″(w) as text. Values come from the record (hess_eigvals/-vecs)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from engine.linalg2 import sym_eig
from gui import theme
from gui.overlays import style
from gui.overlays.base import (
    Box,
    Curve,
    Frame,
    Group,
    Overlay,
    RacerFrame,
    anchor_away,
    finite,
    fmt,
    pen,
    polyline,
    set_polyline,
    sub,
)

AXIS_FRACTION = 0.085  # half-length of an eigen-direction segment, of the plot's shorter side
CAP_PX = 6.0  # half-length of the end caps
CONSTANT_HESSIAN = ("quadratic_1d", "quadratic_2d")  # objectives whose Hessian never changes
ZERO_TOL = 1e-9  # |λ| ≤ ZERO_TOL·max|λ| (or exactly 0) counts as flat


def sign_of(value: float, scale: float) -> int:
    if abs(value) <= ZERO_TOL * scale or value == 0.0:
        return 0
    return 1 if value > 0 else -1


def sign_color(sign: int) -> str:
    return {1: style.CURVATURE_POSITIVE, -1: style.CURVATURE_NEGATIVE, 0: style.CURVATURE_ZERO}[
        sign
    ]


def curvature_words(eigenvalues: np.ndarray) -> str:
    """'indefinite (saddle-like)', 'negative curvature', 'positive definite' or 'flat direction'."""
    lam = np.asarray(eigenvalues, float)
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    signs = [sign_of(float(v), scale) for v in lam]
    if 1 in signs and -1 in signs:
        return "indefinite (saddle-like)"
    if all(s == -1 for s in signs):
        return "negative curvature (maximum-like)" if len(signs) > 1 else "negative curvature"
    if all(s == 1 for s in signs):
        return "positive definite (bowl-like)" if len(signs) > 1 else "positive curvature"
    return "semi-definite: a flat direction (λ = 0)"


class HessianOverlay(Overlay):
    name = "hessian"
    title = "Hessian eigen-directions"

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        super().__init__(plot, sizes)
        self._eig: dict[int, tuple] = {}  # racer -> (record, its eigen-decomposition)

    def draw(self, frame: Frame) -> list:
        """One cross per neighbourhood (two crosses on top of each other cannot be read) and per
        distinct Hessian (on a quadratic it is the same everywhere: drawn once), so which racers
        get one depends on all of them; a chosen racer's cross is drawn again only when its
        record, the view or the sizes changed."""
        key = (frame.geometry, tuple(r.memo() for r in frame.racers))
        before = self._memo.get("frame")
        if before is not None and before[0] == key and all(k in self.groups for k in before[1]):
            return before[1]
        near = 2.2 * AXIS_FRACTION * frame.short_side_px
        drawn_px: list[tuple[float, float]] = []
        drawn_eig: list[list[float]] = []
        eigs = {}
        drawn = []
        for racer in frame.racers:
            here = (racer.head_xy[0] / frame.pixel[0], racer.head_xy[1] / frame.pixel[1])
            if racer.duplicate or any(
                math.hypot(here[0] - a, here[1] - b) < near for a, b in drawn_px
            ):
                continue
            found = self._eig.get(racer.racer_id)
            if found is None or found[0] is not racer.record:
                eig = _eigen(racer)
                found = (racer.record, eig, None if eig is None else _flat(eig))
            eigs[racer.racer_id] = found
            eig, both = found[1], found[2]
            if eig is None or any(_close(both, other) for other in drawn_eig):
                continue
            drawn_px.append(here)
            drawn_eig.append(both)
            mine = (frame.geometry, racer.memo())
            grp = self.groups.get(racer.racer_id)
            if grp is None or grp.memo[0] != mine:
                self.draw_racer(frame, racer, eig)
                grp = self.groups[racer.racer_id]
                # the objects compared by identity are kept alive with the key
                grp.memo = (mine, racer.record, racer.config, racer.history)
            drawn.append(racer.racer_id)
        self._eig = eigs
        keep = [(r.record, r.config, r.history) for r in frame.racers]
        self._memo = {"frame": (key, drawn, keep, frame.objective)}
        return drawn

    def clear(self) -> None:
        super().clear()
        self._eig = {}

    def draw_racer(
        self, frame: Frame, racer: RacerFrame, eig: tuple[np.ndarray, np.ndarray] | None = None
    ) -> bool:
        """The cross (2-D) or the curvature text (1-D) of one racer chosen by ``draw``."""
        eig = _eigen(racer) if eig is None else eig
        if eig is None:
            return False
        lam, vecs = eig
        constant = frame.objective is not None and frame.objective.name in CONSTANT_HESSIAN
        grp = self.group(racer.racer_id, lambda g: self._build(g, frame.dim))
        head = racer.head_xy
        words = curvature_words(lam)
        if frame.dim == 1:
            value = float(lam[0])
            grp.summary.set(
                f"E″(w) = {fmt(value)}{' (constant)' if constant else ''}:  {words}",
                frame.offset(head, 14.0, 14.0),  # above-right: a 1-D head sits on the curve
                (0.0, 1.0),
                swatch=racer.color,
            )
            grp.words = words
            return True
        scale = float(np.max(np.abs(lam)))
        half_px = AXIS_FRACTION * frame.short_side_px
        grp.blockers = []
        for i in range(2):
            value = float(lam[i])
            s = sign_of(value, scale)
            seg = grp.axes[i]
            vec = frame.along(vecs[:, i], half_px)
            if vec is None:
                seg.hide()
                grp.values[i].hide()
                continue
            if grp.signs[i] != s:  # restyle only when the sign changes (pens cost)
                width = style.line_width(self.sizes)
                seg.setPen(pen(sign_color(s), width))
                seg.setShadowPen(pen(style.CURVATURE_OUTLINE, width + 1.5))
                grp.signs[i] = s
            end_px = frame.to_px(vec)
            # an axis, not an arrow: a segment through the head with a short cap at each end
            n_px = math.hypot(*end_px) or 1.0
            cap = (
                -end_px[1] / n_px * CAP_PX * frame.pixel[0],
                end_px[0] / n_px * CAP_PX * frame.pixel[1],
            )
            a = (head[0] - vec[0], head[1] - vec[1])
            b = (head[0] + vec[0], head[1] + vec[1])
            _axis(seg, a, b, cap, frame.far_box())
            grp.segments[i] = (a, b)
            grp.blockers.append((a, b))
            # the value sits past the end of its segment that points more to the right / up
            sgn = 1.0 if (end_px[0], end_px[1]) >= (0.0, 0.0) else -1.0
            end = (head[0] + sgn * vec[0], head[1] + sgn * vec[1])
            d_px = (sgn * end_px[0], sgn * end_px[1])
            n = math.hypot(*d_px) or 1.0
            grp.values[i].set(
                f"λ{sub(i + 1)} = {fmt(value)}",
                frame.offset(end, 6.0 * d_px[0] / n, 6.0 * d_px[1] / n),
                anchor_away(d_px),
                color=sign_color(s),
            )
        grp.words = words
        what = "H (constant)" if constant else "H"
        # below the cross, clear of its axes
        below = frame.offset(head, 0.0, -(half_px + CAP_PX + 6.0))
        grp.summary.set(f"{what}: {words}", below, (0.5, 0.0), swatch=racer.color)
        return True

    def _build(self, grp: Group, dim: int) -> None:
        grp.summary = grp.make_label(self.sizes, priority=2)
        grp.axes = []
        grp.values = []
        grp.segments = [None, None]
        grp.signs = [None, None]
        if dim == 2:
            for _ in range(2):
                grp.axes.append(grp.make_curve(style.Z_CURVATURE))
                grp.values.append(grp.make_label(self.sizes, priority=4))
        grp.words = ""
        grp.memo = ((), None)


def _flat(eig: tuple[np.ndarray, np.ndarray]) -> list[float]:
    lam, vecs = eig
    return [*lam.tolist(), *vecs.ravel().tolist()]


def _close(a: list[float], b: list[float]) -> bool:
    """np.allclose(a, b, rtol=1e-9, atol=0) for short lists of floats."""
    return len(a) == len(b) and all(abs(x - y) <= 1e-9 * abs(y) for x, y in zip(a, b, strict=True))


def _axis(
    seg: Curve,
    a: tuple[float, float],
    b: tuple[float, float],
    cap: tuple[float, float],
    box: Box,
) -> None:
    """An eigen-axis a–b with a short cap across each end, clipped to ``box``."""
    xs = (a[0], b[0], a[0] - cap[0], a[0] + cap[0], b[0] - cap[0], b[0] + cap[0])
    ys = (a[1], b[1], a[1] - cap[1], a[1] + cap[1], b[1] - cap[1], b[1] + cap[1])
    x0, x1, y0, y1 = box
    if all(x0 <= x <= x1 for x in xs) and all(y0 <= y <= y1 for y in ys):  # the usual case
        seg.setData(np.array(xs), np.array(ys), connect=_AXIS_CONNECT)
        seg.show()
        return
    set_polyline(seg, polyline([(xs[0:2], ys[0:2]), (xs[2:4], ys[2:4]), (xs[4:6], ys[4:6])], box))


_AXIS_CONNECT = np.array([1, 0, 1, 0, 1, 0], bool)


def _eigen(racer: RacerFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(eigenvalues ascending, eigenvector columns) of the Hessian at the head, from the record."""
    vis = racer.record.visible
    if "hess_eigvals" in vis and "hess_eigvecs" in vis:
        lam = np.asarray(vis["hess_eigvals"][0], float)
        vecs = np.asarray(vis["hess_eigvecs"][0], float)
    elif racer.record.hess is not None:
        lam, vecs = (a[0] for a in sym_eig(racer.record.hess[:1]))
    else:
        return None
    if not finite(lam, vecs):
        return None
    return lam, vecs.reshape(lam.shape[0], lam.shape[0])

"""The Hessian at the head: its eigen-directions (green λ > 0, red λ < 0) with the eigenvalues, and
the curvature in words. 1-D: E″(w) as text. Values come from the record (hess_eigvals/-vecs)."""

from __future__ import annotations

import math

import numpy as np

from engine.linalg2 import sym_eig
from gui.overlays import style
from gui.overlays.base import (
    Frame,
    Group,
    Overlay,
    RacerFrame,
    anchor_away,
    finite,
    fmt,
    outline_pen,
    pen,
    sub,
)

AXIS_FRACTION = 0.11  # half-length of an eigen-direction segment, of the plot's shorter side
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

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:
        if racer.duplicate:
            return False
        eig = _eigen(racer)
        if eig is None:
            return False
        lam, vecs = eig
        grp = self.group(racer.racer_id, lambda g: self._build(g, frame.dim))
        head = racer.head_xy
        words = curvature_words(lam)
        if frame.dim == 1:
            value = float(lam[0])
            grp.summary.set(
                f"E″(w) = {fmt(value)}:  {words}",
                frame.offset(head, 0.0, -22.0),
                (0.5, 0.0),
            )
            grp.words = words
            return True
        scale = float(np.max(np.abs(lam)))
        half_px = AXIS_FRACTION * frame.short_side_px
        for i in range(2):
            value = float(lam[i])
            s = sign_of(value, scale)
            seg = grp.axes[i]
            vec = frame.along(vecs[:, i], half_px)
            if vec is None:
                seg.hide()
                grp.values[i].hide()
                continue
            width = style.line_width(self.sizes) + 1.0
            seg.setPen(pen(sign_color(s), width))
            seg.setShadowPen(outline_pen(width))
            seg.setData(
                [head[0] - vec[0], head[0] + vec[0]], [head[1] - vec[1], head[1] + vec[1]]
            )
            seg.show()
            # the value sits past the end of its segment that points more to the right / up
            end_px = frame.to_px(vec)
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
        grp.summary.set(f"H: {words}", frame.offset(head, 0.0, -24.0), (0.5, 0.0))
        return True

    def _build(self, grp: Group, dim: int) -> None:
        grp.axes = []
        grp.values = []
        if dim == 2:
            for _ in range(2):
                grp.axes.append(grp.make_curve(style.Z_ARROW - 0.2))
                grp.values.append(grp.make_label(self.sizes))
        grp.summary = grp.make_label(self.sizes)
        grp.words = ""


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

"""Newton's local quadratic model: m(w) = f + gᵀ(w−c) + ½(w−c)ᵀH(w−c), as the engine recorded it.

The record at iteration k carries the model fitted at c = w_{k−1} (``model_center``) whose
stationary point (``model_min``) Newton stepped to: with η = 1 that point *is* w_k.
2-D: level curves of m — exact ellipses when H is definite, contour lines of m sampled on a small
grid when it is indefinite or singular (hyperbola-like, crossing at the saddle). 1-D: the parabola.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.linalg2 import sym_eig
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

LEVEL_FRACTIONS = (0.1, 0.3, 0.6, 1.0)  # of m(c) − m(w*): the outermost level passes through c
GRID = 90
ELLIPSE_POINTS = 120


class NewtonModelOverlay(Overlay):
    name = "newton_model"
    title = "Newton's quadratic model"

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:
        vis = racer.record.visible
        if "model_hess" not in vis or racer.k == 0:
            return False
        c = np.asarray(vis["model_center"][0], float)
        f = float(vis["model_value"][0])
        g = np.asarray(vis["model_grad"][0], float)
        h = np.asarray(vis["model_hess"][0], float).reshape(frame.dim, frame.dim)
        w_star = np.asarray(vis["model_min"][0], float)
        if not finite(c, f, g, h, w_star):
            return False
        h = 0.5 * (h + h.T)
        lam = sym_eig(h[None])[0][0]
        kind = _kind(lam)
        model = _Model(c, f, g, h)
        grp = self.group(racer.racer_id, lambda g_: self._build(g_, racer.color))
        if frame.dim == 1:
            pieces = self._parabola(frame, model, c, w_star)
            star_xy = (float(w_star[0]), model(w_star[None])[0])
            center_xy = (float(c[0]), f)
        else:
            if kind in ("minimum", "maximum"):
                pieces = self._ellipses(frame, model, h, w_star)
            else:
                pieces = self._contours(frame, model, c, w_star)
            star_xy = (float(w_star[0]), float(w_star[1]))
            center_xy = (float(c[0]), float(c[1]))
        set_polyline(grp.levels, polyline(pieces, frame.far_box()))
        for item, xy in ((grp.star, star_xy), (grp.center, center_xy)):
            if finite(xy):
                item.setData([xy[0]], [xy[1]])
                item.show()
            else:
                item.hide()
        grp.star_xy = star_xy if finite(star_xy) else None
        lands = kind != "singular" and np.allclose(racer.head, w_star, rtol=1e-9, atol=1e-12)
        text = _label(kind, racer.k, lands, racer.config.params.get("lr", 1.0))
        grp.label.set(text, frame.offset(star_xy, 18.0, -16.0), (0.0, 0.0))
        return True

    # -- geometry ---------------------------------------------------------------------------------
    def _ellipses(
        self, frame: Frame, model: _Model, h: np.ndarray, w_star: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Level sets m = m* ± δ·t: ellipses (w−w*)ᵀH(w−w*) = 2δt around the stationary point."""
        lam, vecs = sym_eig(h[None])
        lam, vecs = np.abs(lam[0]), vecs[0]
        delta = abs(model.f - float(model(w_star[None])[0]))
        if not math.isfinite(delta) or delta <= 0.0:
            # the fit sits at its own stationary point: show levels a readable size instead
            radius = 0.15 * min(frame.view[1] - frame.view[0], frame.view[3] - frame.view[2])
            delta = 0.5 * float(lam.min()) * radius * radius
        theta = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_POINTS)
        circle = np.stack([np.cos(theta), np.sin(theta)])
        pieces = []
        with np.errstate(all="ignore"):
            for t in LEVEL_FRACTIONS:
                radii = np.sqrt(2.0 * delta * t / lam)
                pts = w_star[:, None] + vecs @ (radii[:, None] * circle)
                pieces.append((pts[0], pts[1]))
        return pieces

    def _contours(
        self, frame: Frame, model: _Model, c: np.ndarray, w_star: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Level lines of an indefinite or singular model, sampled on a grid around c and w*."""
        import contourpy

        x0, x1, y0, y1 = frame.view
        mid = 0.5 * (c + w_star)
        d = np.abs(c - w_star)
        hx = max(0.9 * d[0] + 0.4 * d[1] * (x1 - x0) / (y1 - y0), 0.22 * (x1 - x0))
        hy = max(0.9 * d[1] + 0.4 * d[0] * (y1 - y0) / (x1 - x0), 0.22 * (y1 - y0))
        fx0, fx1, fy0, fy1 = frame.far_box(1.6)
        gx = np.linspace(max(mid[0] - hx, fx0), min(mid[0] + hx, fx1), GRID)
        gy = np.linspace(max(mid[1] - hy, fy0), min(mid[1] + hy, fy1), GRID)
        if gx[0] >= gx[-1] or gy[0] >= gy[-1]:
            return []
        xx, yy = np.meshgrid(gx, gy)
        with np.errstate(all="ignore"):
            z = model(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(xx.shape)
        if not np.all(np.isfinite(z)):
            return []
        m_star = float(model(w_star[None])[0])
        delta = abs(model.f - m_star)
        if delta <= 1e-12 * max(1.0, abs(m_star)):
            delta = 0.3 * float(z.max() - z.min())
        levels = [m_star + delta * t for t in (-1.0, -0.4, 0.0, 0.4, 1.0)]
        gen = contourpy.contour_generator(gx, gy, z, line_type=contourpy.LineType.ChunkCombinedNan)
        pieces = []
        for level in levels:
            for chunk in gen.lines(level)[0]:
                if chunk is None or not len(chunk):
                    continue
                # ChunkCombinedNan: one array per chunk, its lines separated by NaN rows
                breaks = np.flatnonzero(~np.isfinite(chunk[:, 0]))
                for part in np.split(chunk, breaks):
                    part = part[np.isfinite(part[:, 0])]
                    if len(part) > 1:
                        pieces.append((part[:, 0], part[:, 1]))
        return pieces

    def _parabola(
        self, frame: Frame, model: _Model, c: np.ndarray, w_star: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        x0, x1 = frame.view[0], frame.view[1]
        mid = 0.5 * float(c[0] + w_star[0])
        half = max(1.3 * abs(float(c[0] - w_star[0])), 0.3 * (x1 - x0))
        lo, hi = max(mid - half, x0 - (x1 - x0)), min(mid + half, x1 + (x1 - x0))
        if not lo < hi:
            return []
        ws = np.linspace(lo, hi, 240)
        with np.errstate(all="ignore"):
            return [(ws, model(ws[:, None]))]

    # -- items ------------------------------------------------------------------------------------
    def _build(self, grp: Group, color: str) -> None:
        width = style.line_width(self.sizes)
        grp.levels = grp.make_curve(
            style.Z_MODEL,
            pen=pen(color, width, Qt.PenStyle.DashLine),
            shadowPen=outline_pen(width),
        )
        size = 2.1 * self.sizes.head_size
        grp.star = grp.make_scatter(
            style.Z_MARKER,
            symbol="d",
            size=size,
            pen=pg.mkPen(color, width=3),
            brush=pg.mkBrush(0, 0, 0, 0),
        )
        grp.center = grp.make_scatter(
            style.Z_MARKER,
            symbol="o",
            size=0.9 * self.sizes.head_size,
            pen=pg.mkPen(color, width=2.5),
            brush=pg.mkBrush(0, 0, 0, 150),
        )
        grp.label = grp.make_label(self.sizes, color, priority=0)
        grp.star_xy = None


class _Model:
    """m(w) = f + gᵀ(w−c) + ½(w−c)ᵀH(w−c) on rows of w (display sampling of the recorded model)."""

    def __init__(self, c: np.ndarray, f: float, g: np.ndarray, h: np.ndarray) -> None:
        self.c, self.f, self.g, self.h = c, f, g, h

    def __call__(self, w: np.ndarray) -> np.ndarray:
        d = np.asarray(w, float) - self.c
        with np.errstate(all="ignore"):
            return self.f + d @ self.g + 0.5 * np.einsum("ni,ij,nj->n", d, self.h, d)


def _kind(lam: np.ndarray) -> str:
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    tol = 1e-12 * max(scale, 1e-300)
    if scale == 0.0 or np.any(np.abs(lam) <= tol):
        return "singular"
    if np.all(lam > 0):
        return "minimum"
    if np.all(lam < 0):
        return "maximum"
    return "saddle"


def _label(kind: str, k: int, lands: bool, lr: float) -> str:
    fit = f"quadratic fit m(w) at w{sub(k - 1)}"
    if kind == "singular":
        return f"{fit}\nsingular H: no stationary point, step refused"
    where = {"minimum": "its minimum ◇", "maximum": "its MAXIMUM ◇", "saddle": "its SADDLE ◇"}[kind]
    if lands:
        tail = f"{where} → w{sub(k)}"
    else:
        tail = f"{where};  η = {fmt(float(lr))} goes part of the way to it"
    warn = {"maximum": "\nNewton climbs: H is negative definite", "saddle": "\nH is indefinite"}
    return f"{fit}\n{tail}{warn.get(kind, '')}"

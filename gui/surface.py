"""Surface data for the canvas: the sampled grid, its display scaling and contour lines.

Pure numpy + contourpy (no Qt) so the worker thread can build it while the GUI stays live.
Contour lines are one NaN-separated polyline per level: one cheap path item each to draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.objective import Objective

CONTOUR_LEVELS = 18


@dataclass(frozen=True)
class SurfaceData:
    """A ready-to-draw sampling of an objective over a rectangle (or a 1-D curve)."""

    generation: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    z: np.ndarray  # raw E values (ny, nx); NaN where undefined
    display: np.ndarray  # what the heatmap shows (log-compressed where needed)
    display_range: tuple[float, float]
    log_scale: bool
    z_min: float
    offset: float  # display = log10(z - z_min + offset) when log_scale
    contours: tuple[tuple[float, np.ndarray, np.ndarray], ...]  # (level, xs, ys) NaN-separated
    xs: np.ndarray
    ys: np.ndarray

    def to_display(self, value: float) -> float:
        if not self.log_scale:
            return value
        return float(np.log10(max(value - self.z_min, 0.0) + self.offset))

    def from_display(self, shown: float) -> float:
        if not self.log_scale:
            return shown
        return float(10.0**shown - self.offset + self.z_min)


def compute_surface(
    objective: Objective,
    x_range: tuple[float, float],
    y_range: tuple[float, float] | None,
    resolution: int = 512,
    generation: int = 0,
    levels: int = CONTOUR_LEVELS,
) -> SurfaceData:
    """Sample ``objective`` on a resolution² grid and trace its contour lines."""
    if objective.dim == 1:
        xs, _, z = objective.grid(x_range, shape=(1, max(resolution, 2) * 2))
        finite = z[np.isfinite(z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        return SurfaceData(
            generation, x_range, (lo, hi), z, z, (lo, hi), False, lo, 0.0, (), xs, np.empty(0)
        )
    assert y_range is not None
    xs, ys, z = objective.grid(x_range, y_range, shape=(resolution, resolution))
    finite = np.isfinite(z)
    if not np.any(finite):
        display = np.zeros_like(z)
        return SurfaceData(
            generation, x_range, y_range, z, display, (0.0, 1.0), False, 0.0, 0.0, (), xs, ys
        )
    z_min = float(np.min(z[finite]))
    z_max = float(np.max(z[finite]))
    spread = z_max - z_min
    # compress a huge dynamic range (Rosenbrock spans ~5 decades) so the valley stays visible;
    # the spread of the values from a quarter of the samples (a 1000x margin: the same answer)
    quarter = z[::2, ::2][finite[::2, ::2]]
    typical = _iqr(quarter if quarter.size >= 16 else z[finite])
    log_scale = bool(objective.log_scale or spread > 1e3 * max(1e-12, typical))
    offset = max(spread * 1e-5, 1e-12)
    with np.errstate(all="ignore"):
        display = np.log10(z - z_min + offset) if log_scale else z.copy()
    display = np.where(finite, display, np.nan)
    # statistics from a quarter of the samples: the same levels, a quarter of the sorting
    shown = display[::2, ::2][finite[::2, ::2]]
    if shown.size < 16:
        shown = display[finite]
    lo, hi = (float(v) for v in np.quantile(shown, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = float(shown.min()), float(shown.max()) + 1e-9
    return SurfaceData(
        generation=generation,
        x_range=x_range,
        y_range=y_range,
        z=z,
        display=display,
        display_range=(lo, hi),
        log_scale=log_scale,
        z_min=z_min,
        offset=offset,
        # lines traced on every other sample: indistinguishable on screen, 4x less work
        contours=contour_lines(xs[::2], ys[::2], display[::2, ::2], contour_levels(shown, levels)),
        xs=xs,
        ys=ys,
    )


def _iqr(values: np.ndarray) -> float:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1)


def contour_levels(shown: np.ndarray, count: int) -> np.ndarray:
    """Levels at evenly spaced quantiles of the displayed values: lines where the eye needs them."""
    qs = np.quantile(shown, np.linspace(0.03, 0.97, count))
    return np.unique(np.round(qs, 12))


def contour_lines(
    xs: np.ndarray, ys: np.ndarray, display: np.ndarray, levels: np.ndarray
) -> tuple[tuple[float, np.ndarray, np.ndarray], ...]:
    """One NaN-separated polyline per level, in data coordinates (contourpy)."""
    import contourpy

    z = np.ma.masked_invalid(display) if not np.all(np.isfinite(display)) else display
    gen = contourpy.contour_generator(xs, ys, z, line_type=contourpy.LineType.ChunkCombinedNan)
    out = []
    for level in levels:
        chunks = gen.lines(float(level))[0]
        pieces = [c for c in chunks if c is not None and len(c)]
        if not pieces:
            continue
        pts = np.concatenate(pieces)
        out.append((float(level), pts[:, 0].copy(), pts[:, 1].copy()))
    return tuple(out)

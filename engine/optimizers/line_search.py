"""A strong-Wolfe line search (Nocedal & Wright, Algorithms 3.5 and 3.6) for one point.

Used by BFGS and L-BFGS, which loop over rows: each row searches along its own direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Phi = Callable[[float], tuple[float, float]]  # alpha -> (phi(alpha), phi'(alpha))


@dataclass(frozen=True)
class LineSearchResult:
    alpha: float
    ok: bool
    evaluations: int


def wolfe_search(
    phi: Phi,
    phi0: float,
    dphi0: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    alpha1: float = 1.0,
    alpha_max: float = 1e4,
    max_iter: int = 30,
) -> LineSearchResult:
    """Find α with φ(α) ≤ φ(0) + c1·α·φ'(0) and |φ'(α)| ≤ c2·|φ'(0)|."""
    evals = 0
    alpha_prev, phi_prev, dphi_prev = 0.0, phi0, dphi0
    alpha = alpha1
    for i in range(max_iter):
        value, slope = phi(alpha)
        evals += 1
        if not math.isfinite(value):
            alpha = 0.5 * (alpha_prev + alpha)  # stepped into overflow: come back in
            continue
        if value > phi0 + c1 * alpha * dphi0 or (i > 0 and value >= phi_prev):
            return _zoom(
                phi, phi0, dphi0, alpha_prev, phi_prev, dphi_prev, alpha, value, c1, c2, evals
            )
        if abs(slope) <= -c2 * dphi0:
            return LineSearchResult(alpha, True, evals)
        if slope >= 0:
            return _zoom(phi, phi0, dphi0, alpha, value, slope, alpha_prev, phi_prev, c1, c2, evals)
        alpha_prev, phi_prev, dphi_prev = alpha, value, slope
        alpha = min(2.0 * alpha, alpha_max)
    return LineSearchResult(alpha_prev, alpha_prev > 0, evals)


def _zoom(
    phi: Phi,
    phi0: float,
    dphi0: float,
    lo: float,
    phi_lo: float,
    dphi_lo: float,
    hi: float,
    phi_hi: float,
    c1: float,
    c2: float,
    evals: int,
    max_iter: int = 40,
) -> LineSearchResult:
    for _ in range(max_iter):
        # quadratic interpolation from (lo, phi_lo, dphi_lo) and (hi, phi_hi), safeguarded
        width = hi - lo
        denom = 2.0 * (phi_hi - phi_lo - dphi_lo * width)
        alpha = lo - dphi_lo * width * width / denom if denom > 0 else lo + 0.5 * width
        low_end, high_end = sorted((lo, hi))
        margin = 0.1 * abs(width)
        if not (low_end + margin <= alpha <= high_end - margin):
            alpha = lo + 0.5 * width
        value, slope = phi(alpha)
        evals += 1
        if not math.isfinite(value) or value > phi0 + c1 * alpha * dphi0 or value >= phi_lo:
            hi, phi_hi = alpha, value if math.isfinite(value) else np.finfo(float).max
        else:
            if abs(slope) <= -c2 * dphi0:
                return LineSearchResult(alpha, True, evals)
            if slope * (hi - lo) >= 0:
                hi, phi_hi = lo, phi_lo
            lo, phi_lo, dphi_lo = alpha, value, slope
        if abs(hi - lo) < 1e-16 * max(1.0, abs(lo)):
            break
    # no point met both conditions: accept the best sufficient-decrease point found
    return LineSearchResult(lo, lo > 0, evals)

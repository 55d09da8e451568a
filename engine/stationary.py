"""Numerical stationary points (∇E = 0) of an Objective inside a box.

A damped Newton iteration on ∇E = 0 runs from a regular grid of starts, all starts at once:
the step solves H·d = −g through the eigen-decomposition of the (symmetric) Hessian, with
near-zero eigenvalues dropped (a pseudo-inverse, so singular Hessians are fine). The step is
halved until ‖∇E‖ decreases, or doubled while it keeps decreasing where a full step barely
helps (near degenerate points such as the minimum of x⁴). Newton on ∇E = 0, unlike Newton for
minimisation, is attracted to saddles and maxima as well as minima, which is wanted here.
Converged points inside the box are de-duplicated and classified by the signs of the
Hessian's eigenvalues.
"""

from __future__ import annotations

import numpy as np

from engine.objective import STATIONARY_KINDS, Objective, StationaryPoint, classify_hessian

MAX_ITER = 60
XTOL = 1e-9  # Newton step small enough, relative to the domain size
MAX_HALVINGS = 12
MAX_DOUBLINGS = 6
SLOW = 0.25  # a full step that keeps more than this fraction of ‖∇E‖ is tried longer
MAX_DEGENERATE = 12  # more degenerate points than this: a continuum (e.g. a valley floor)
MERGE_RADIUS = 1e-4  # relative to the size of the domain


def _newton_step(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """d = −H⁺g for each row, H⁺ the pseudo-inverse of the symmetrised Hessian."""
    eigval, eigvec = np.linalg.eigh(0.5 * (h + np.swapaxes(h, -1, -2)))
    scale = np.max(np.abs(eigval), axis=-1, keepdims=True)
    keep = np.abs(eigval) > 1e-12 * np.maximum(scale, 1e-300)
    inv = np.where(keep, 1.0 / np.where(keep, eigval, 1.0), 0.0)
    coeff = np.einsum("nji,nj->ni", eigvec, g) * inv
    return -np.einsum("nij,nj->ni", eigvec, coeff)


def _starts(bounds: np.ndarray, grid: int) -> np.ndarray:
    """Cell centres of a grid^d lattice over the box."""
    axes = [lo + (np.arange(grid) + 0.5) * (hi - lo) / grid for lo, hi in bounds]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


def _grad_norm(objective: Objective, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = objective.grad(x)
    norm = np.linalg.norm(g, axis=-1)
    return g, np.where(np.isfinite(norm), norm, np.inf)


def _newton(
    objective: Objective, x: np.ndarray, bounds: np.ndarray, gtol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Run the damped Newton iteration; returns final points and a 'converged' mask.

    A row has converged when ‖∇E‖ <= gtol and the Newton step is below XTOL of the domain
    size (so that slow, degenerate cases such as E = x⁴ are followed close to the point).
    """
    width = bounds[:, 1] - bounds[:, 0]
    xtol = XTOL * float(np.max(width))
    lo, hi = bounds[:, 0] - width, bounds[:, 1] + width  # starts that wander far are dropped
    g, gnorm = _grad_norm(objective, x)
    converged = np.zeros(x.shape[0], dtype=bool)
    active = np.isfinite(gnorm)
    for _ in range(MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        xa, ga, na = x[idx], g[idx], gnorm[idx]
        h = objective.hess(xa)
        ok = np.all(np.isfinite(h), axis=(-2, -1))
        d = np.zeros_like(xa)
        if np.any(ok):
            d[ok] = _newton_step(ga[ok], h[ok])
        small = ok & (np.linalg.norm(d, axis=-1) <= xtol)
        done = small & (na <= gtol)
        t = np.ones(idx.size)
        accepted = np.zeros(idx.size, dtype=bool)
        x_new, g_new, n_new = xa.copy(), ga.copy(), na.copy()
        pending = ok & ~done & np.any(d != 0, axis=-1)
        for _ in range(MAX_HALVINGS):
            if not np.any(pending):
                break
            p = np.flatnonzero(pending)
            trial = xa[p] + t[p, None] * d[p]
            gt, nt = _grad_norm(objective, trial)
            better = nt <= (1.0 - 1e-4 * t[p]) * na[p]
            good = p[better]
            x_new[good], g_new[good], n_new[good] = trial[better], gt[better], nt[better]
            accepted[good] = True
            pending[good] = False
            t[p[~better]] *= 0.5
        _extrapolate(objective, xa, d, t, accepted & (n_new > SLOW * na), x_new, g_new, n_new)
        x[idx], g[idx], gnorm[idx] = x_new, g_new, n_new
        # no acceptable step: fine if the gradient is already small (round-off level)
        done |= ~accepted & (na <= gtol)
        outside = np.any((x_new < lo) | (x_new > hi), axis=-1)
        converged[idx[done]] = True
        active[idx[done | ~accepted | outside]] = False
    return x, converged


def _extrapolate(
    objective: Objective,
    xa: np.ndarray,
    d: np.ndarray,
    t: np.ndarray,
    slow: np.ndarray,
    x_new: np.ndarray,
    g_new: np.ndarray,
    n_new: np.ndarray,
) -> None:
    """Longer steps (2d, 4d, ...) where a full step barely helped, in place.

    Near a degenerate root of ∇E (E = x⁴: Newton's step is only a third of the way) Newton
    converges linearly; doubling the step while ‖∇E‖ keeps falling restores fast progress.
    """
    rows = np.flatnonzero(slow & (t == 1.0))
    factor = 2.0
    for _ in range(MAX_DOUBLINGS):
        if rows.size == 0:
            break
        trial = xa[rows] + factor * d[rows]
        gt, nt = _grad_norm(objective, trial)
        better = nt < n_new[rows]
        good = rows[better]
        x_new[good], g_new[good], n_new[good] = trial[better], gt[better], nt[better]
        rows = good
        factor *= 2.0


def _cluster(points: np.ndarray, norms: np.ndarray, radius: float) -> np.ndarray:
    """Indices of representatives: best ‖∇E‖ first, one per ball of ``radius`` (max-norm)."""
    chosen: list[int] = []
    for i in np.argsort(norms, kind="stable"):
        if not chosen or np.all(np.max(np.abs(points[chosen] - points[i]), axis=-1) > radius):
            chosen.append(int(i))
    return np.asarray(chosen, dtype=int)


def find_stationary_points(
    objective: Objective,
    domain: tuple[tuple[float, float], ...] | None = None,
    grid: int = 24,
    tol: float = 1e-8,
) -> tuple[StationaryPoint, ...]:
    """Stationary points of ``objective`` inside ``domain`` (default: its own domain).

    Minima come first, then saddles, maxima and degenerate points; within a kind, by value.
    A continuum of degenerate points (more than a dozen, e.g. the floor of E = x² in 2-D)
    is left out. ``tol`` bounds ‖∇E‖, relative to the typical gradient size over the domain.
    """
    dim = objective.dim
    bounds = np.asarray(domain if domain is not None else objective.domain, dtype=float)
    if bounds.shape != (dim, 2) or not np.all(np.isfinite(bounds)):
        raise ValueError(f"domain must be {dim} finite (low, high) pairs")
    if not np.all(bounds[:, 0] < bounds[:, 1]):
        raise ValueError("each domain range must have low < high")
    width = bounds[:, 1] - bounds[:, 0]

    with np.errstate(all="ignore"):
        per_axis = max(2, int(grid))
        # 1-D: the same number of starts as a 2-D grid; they are cheap, and it resolves wiggles
        x = _starts(bounds, per_axis if dim > 1 else per_axis * per_axis)
        _, norm0 = _grad_norm(objective, x)
        finite = norm0[np.isfinite(norm0)]
        scale = max(1.0, float(np.median(finite))) if finite.size else 1.0
        gtol = tol * scale
        x, converged = _newton(objective, x, bounds, gtol)

        margin = 1e-9 * width
        inside = np.all((x >= bounds[:, 0] - margin) & (x <= bounds[:, 1] + margin), axis=-1)
        keep = converged & inside
        if not np.any(keep):
            return ()
        pts = np.clip(x[keep], bounds[:, 0], bounds[:, 1])
        _, norms = _grad_norm(objective, pts)
        reps = _cluster(pts, norms, MERGE_RADIUS * float(np.max(width)))
        pts = pts[reps]
        kinds = classify_hessian(objective.hess(pts))
        values = objective.value(pts)

    degenerate = kinds == "degenerate"
    if np.count_nonzero(degenerate) > MAX_DEGENERATE:
        pts, kinds, values = pts[~degenerate], kinds[~degenerate], values[~degenerate]

    # tidy coordinates: round-off dust around zero becomes 0; degenerate points converge
    # only linearly, so their coordinates are only good to about XTOL of the domain size
    dust = np.where(kinds == "degenerate", 100 * XTOL, 1e-12)[:, None] * float(np.max(width))
    pts = np.where(np.abs(pts) <= dust, 0.0, pts) + 0.0
    rank = {kind: i for i, kind in enumerate(STATIONARY_KINDS)}
    order = sorted(
        range(len(pts)),
        key=lambda i: (
            rank.get(str(kinds[i]), len(rank)),
            float(values[i]) if np.isfinite(values[i]) else np.inf,
            tuple(pts[i]),
        ),
    )
    return tuple(StationaryPoint(tuple(float(c) for c in pts[i]), str(kinds[i])) for i in order)

"""Closed-form linear algebra for batches of 1×1 and 2×2 symmetric matrices.

A basin map steps 65,536 Newton iterates at once; closed forms avoid LAPACK's per-matrix
overhead and never raise on a singular matrix (the caller decides what "singular" means).
"""

from __future__ import annotations

import numpy as np


def sym_eig(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending, (n, d)) and unit eigenvectors (columns, (n, d, d)) of h (n, d, d)."""
    h = np.asarray(h, float)
    n, d = h.shape[0], h.shape[-1]
    if d == 1:
        return h[:, :, 0].copy(), np.ones((n, 1, 1))
    a, b, c = h[:, 0, 0], 0.5 * (h[:, 0, 1] + h[:, 1, 0]), h[:, 1, 1]
    with np.errstate(all="ignore"):
        mean = 0.5 * (a + c)
        radius = np.hypot(0.5 * (a - c), b)
        lam = np.stack([mean - radius, mean + radius], axis=-1)
        # angle of the eigenvector of the larger eigenvalue
        phi = 0.5 * np.arctan2(2.0 * b, a - c)
    cos, sin = np.cos(phi), np.sin(phi)
    vecs = np.empty((n, 2, 2))
    vecs[:, 0, 1], vecs[:, 1, 1] = cos, sin  # larger eigenvalue
    vecs[:, 0, 0], vecs[:, 1, 0] = -sin, cos  # smaller eigenvalue
    return lam, vecs


def from_eig(lam: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """Rebuild V·diag(λ)·Vᵀ for each row."""
    return np.einsum("nij,nj,nkj->nik", vecs, lam, vecs)


def solve_sym(
    h: np.ndarray, g: np.ndarray, rel_tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Solve h·d = g row by row; returns (d, singular) where singular rows get d = 0."""
    h = np.asarray(h, float)
    g = np.asarray(g, float)
    dim = h.shape[-1]
    with np.errstate(all="ignore"):
        if dim == 1:
            det = h[:, 0, 0]
            scale = np.abs(det)
            out = g / det[:, None]
        else:
            a, b, c, e = h[:, 0, 0], h[:, 0, 1], h[:, 1, 0], h[:, 1, 1]
            det = a * e - b * c
            scale = np.maximum.reduce([np.abs(a), np.abs(b), np.abs(c), np.abs(e)]) ** 2
            out = np.stack(
                [(e * g[:, 0] - b * g[:, 1]) / det, (a * g[:, 1] - c * g[:, 0]) / det], axis=-1
            )
    singular = ~np.isfinite(det) | (np.abs(det) <= rel_tol * np.maximum(scale, 1e-300))
    singular |= ~np.all(np.isfinite(out), axis=-1)
    out[singular] = 0.0
    return out, singular

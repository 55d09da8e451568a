"""The Objective: a differentiable function of 1 or 2 variables, evaluated on batches and grids.

Every objective is stored as *component* functions that broadcast over arrays of any shape:
``f(x, y) -> array``, ``grad(x, y) -> (gx, gy)``, ``hess(x, y) -> ((hxx, hxy), (hxy, hyy))``.
That single form serves a batch of starts (shape (n,)) and a plotting grid (shape (ny, nx))
without copies, and it is exactly what sympy's lambdify produces for user expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

STATIONARY_KINDS = ("minimum", "saddle", "maximum", "degenerate")

ComponentFn = Callable[..., Any]


@dataclass(frozen=True)
class StationaryPoint:
    """A known stationary point, e.g. a global minimum, with its kind."""

    point: tuple[float, ...]
    kind: str = "minimum"
    label: str = ""


@dataclass(frozen=True, eq=False)
class Objective:
    """A loss surface E(w) with value, gradient and Hessian on arrays of shape (n, d)."""

    name: str
    title: str
    dim: int
    f: ComponentFn
    grad_components: ComponentFn
    hess_components: ComponentFn
    domain: tuple[tuple[float, float], ...]
    stationary: tuple[StationaryPoint, ...] = ()
    log_scale: bool = False
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    expression: str | None = None
    formula: str = ""

    # -- batch evaluation ----------------------------------------------------------------------
    def value(self, x: np.ndarray) -> np.ndarray:
        """E at each row of ``x`` (n, d) -> (n,). Non-finite results are returned as they are."""
        xb = as_batch(x, self.dim)
        with np.errstate(all="ignore"):
            out = self.f(*xb.T)
        return np.broadcast_to(np.asarray(out, dtype=float), (xb.shape[0],)).copy()

    def grad(self, x: np.ndarray) -> np.ndarray:
        """∇E at each row of ``x`` (n, d) -> (n, d)."""
        xb = as_batch(x, self.dim)
        n = xb.shape[0]
        with np.errstate(all="ignore"):
            parts = self.grad_components(*xb.T)
        return np.stack([np.broadcast_to(np.asarray(p, float), (n,)) for p in parts], axis=-1)

    def hess(self, x: np.ndarray) -> np.ndarray:
        """The Hessian at each row of ``x`` (n, d) -> (n, d, d)."""
        xb = as_batch(x, self.dim)
        n = xb.shape[0]
        with np.errstate(all="ignore"):
            rows = self.hess_components(*xb.T)
        return np.stack(
            [
                np.stack([np.broadcast_to(np.asarray(h, float), (n,)) for h in row], axis=-1)
                for row in rows
            ],
            axis=-2,
        )

    # -- grids ---------------------------------------------------------------------------------
    def grid(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float] | None = None,
        shape: tuple[int, int] = (256, 256),
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample E on a regular grid: returns (xs, ys, Z) with Z[row=y, col=x].

        For a 1-D objective ``ys`` is empty and Z has shape (nx,).
        """
        ny, nx = shape
        xs = np.linspace(x_range[0], x_range[1], nx)
        if self.dim == 1:
            with np.errstate(all="ignore"):
                z = np.broadcast_to(np.asarray(self.f(xs), float), xs.shape).copy()
            return xs, np.empty(0), z
        if y_range is None:
            raise ValueError("a 2-D objective needs a y range for its grid")
        ys = np.linspace(y_range[0], y_range[1], ny)
        xx, yy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            z = np.broadcast_to(np.asarray(self.f(xx, yy), float), xx.shape).copy()
        return xs, ys, z

    @property
    def minima(self) -> tuple[StationaryPoint, ...]:
        return tuple(p for p in self.stationary if p.kind == "minimum")

    @property
    def variables(self) -> tuple[str, ...]:
        return ("x",) if self.dim == 1 else ("x", "y")


def as_batch(x: Any, dim: int) -> np.ndarray:
    """Coerce a point or a batch of points to a float array of shape (n, dim)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1) if dim == 1 and arr.shape[0] != 1 else arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"expected points of dimension {dim}, got array of shape {arr.shape}")
    return arr


def classify_hessian(h: np.ndarray, rel_tol: float = 1e-7) -> np.ndarray:
    """Kind of stationary point for each Hessian in ``h`` (n, d, d), by eigenvalue signs."""
    h = np.asarray(h, float)
    finite = np.all(np.isfinite(h), axis=(-2, -1))
    safe = np.where(finite[:, None, None], h, 0.0)
    eig = np.linalg.eigvalsh(0.5 * (safe + np.swapaxes(safe, -1, -2)))
    scale = np.maximum(1.0, np.max(np.abs(eig), axis=-1, keepdims=True))
    pos = eig > rel_tol * scale
    neg = eig < -rel_tol * scale
    kinds = np.full(h.shape[0], "degenerate", dtype=object)
    kinds[np.all(pos, axis=-1)] = "minimum"
    kinds[np.all(neg, axis=-1)] = "maximum"
    kinds[np.any(pos, axis=-1) & np.any(neg, axis=-1)] = "saddle"
    kinds[~finite] = "degenerate"
    return kinds

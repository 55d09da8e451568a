"""The lecture's analysis: optimal step sizes, regimes, condition number, local quadratic models.

For E = ½wᵀAw + bᵀw + c, gradient descent along eigen-direction i multiplies the error by
(1 − η·λᵢ) per step (slides 44–56): η_opt,i = 1/λᵢ, and it diverges for η > 2·η_opt,i.
The condition number κ = λmax/λmin: slow convergence comes with a *large* κ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.linalg2 import solve_sym, sym_eig
from engine.objective import Objective, as_batch

REGIMES = ("monotone", "one-step", "oscillating", "oscillates-forever", "divergent")
REGIME_TEXT = {
    "monotone": "η < η_opt: monotone convergence",
    "one-step": "η = η_opt: one step to the minimum",
    "oscillating": "η_opt < η < 2η_opt: oscillating convergence",
    "oscillates-forever": "η = 2η_opt: oscillates forever",
    "divergent": "η > 2η_opt: divergence",
}


def regime(lr: float, curvature: float, rel_tol: float = 1e-9) -> str:
    """GD's behaviour along a direction of curvature λ with step size η (error factor 1 − ηλ)."""
    if curvature <= 0:
        return (
            "divergent"  # no minimum along this direction: GD walks away from the stationary point
        )
    r = lr * curvature
    if abs(r - 1.0) <= rel_tol:
        return "one-step"
    if abs(r - 2.0) <= rel_tol:
        return "oscillates-forever"
    if r < 1.0:
        return "monotone"
    if r < 2.0:
        return "oscillating"
    return "divergent"


@dataclass(frozen=True)
class DirectionAnalysis:
    eigenvalue: float
    direction: tuple[float, ...]
    eta_opt: float  # 1/λ (inf where λ ≤ 0)
    eta_limit: float  # 2/λ
    regime: str
    factor: float  # 1 − ηλ: the error's per-step multiplier


@dataclass(frozen=True)
class QuadraticAnalysis:
    directions: tuple[DirectionAnalysis, ...]
    condition_number: float  # κ = λmax/λmin (inf unless positive definite)
    eta_max_stable: float  # 2·min η_opt,i = 2/λmax
    lr: float

    @property
    def converges(self) -> bool:
        return all(d.regime != "divergent" for d in self.directions)


def analyse_quadratic(hessian: np.ndarray, lr: float) -> QuadraticAnalysis:
    """η_opt per eigen-direction, the 2η_opt thresholds, κ and the regime of ``lr``."""
    h = np.atleast_2d(np.asarray(hessian, float))
    lam, vecs = sym_eig(h[None, :, :])
    dirs = []
    for i, value in enumerate(lam[0]):
        value = float(value)
        eta_opt = 1.0 / value if value > 0 else float("inf")
        dirs.append(
            DirectionAnalysis(
                eigenvalue=value,
                direction=tuple(float(v) for v in vecs[0, :, i]),
                eta_opt=eta_opt,
                eta_limit=2.0 * eta_opt,
                regime=regime(lr, value),
                factor=1.0 - lr * value,
            )
        )
    lmin, lmax = float(lam[0].min()), float(lam[0].max())
    kappa = lmax / lmin if lmin > 0 else float("inf")
    stable = 2.0 / lmax if lmax > 0 else float("inf")
    return QuadraticAnalysis(tuple(dirs), kappa, stable, float(lr))


def condition_number(hessian: np.ndarray) -> float:
    """κ = λmax/λmin of a symmetric matrix (inf when not positive definite)."""
    return analyse_quadratic(hessian, 1.0).condition_number


@dataclass(frozen=True)
class LocalModel:
    """The second-order Taylor model m(w) = f + gᵀ(w−x) + ½(w−x)ᵀH(w−x) at x."""

    center: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray  # columns
    stationary_point: np.ndarray | None  # x − H⁻¹g, None where H is singular
    curvature: str  # "positive definite", "indefinite", "negative definite", "singular"

    def __call__(self, w: np.ndarray) -> np.ndarray:
        d = as_batch(w, self.center.shape[0]) - self.center
        return self.value + d @ self.grad + 0.5 * np.einsum("ni,ij,nj->n", d, self.hess, d)


def local_model(objective: Objective, x: np.ndarray) -> LocalModel:
    """Taylor model of ``objective`` at one point, with the Hessian's eigen-decomposition."""
    xb = as_batch(x, objective.dim)[:1]
    f = float(objective.value(xb)[0])
    g = objective.grad(xb)[0]
    h = objective.hess(xb)
    lam, vecs = sym_eig(h)
    step, singular = solve_sym(h, g[None, :])
    scale = max(1.0, float(np.max(np.abs(lam))))
    if np.all(lam > 1e-12 * scale):
        curvature = "positive definite"
    elif np.all(lam < -1e-12 * scale):
        curvature = "negative definite"
    elif np.any(lam > 1e-12 * scale) and np.any(lam < -1e-12 * scale):
        curvature = "indefinite"
    else:
        curvature = "singular"
    return LocalModel(
        center=xb[0].copy(),
        value=f,
        grad=g,
        hess=h[0],
        eigenvalues=lam[0],
        eigenvectors=vecs[0],
        stationary_point=None if singular[0] else xb[0] - step[0],
        curvature=curvature,
    )

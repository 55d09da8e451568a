"""Newton's method, w ← w − η H⁻¹∇E (lecture slides 86–99), with the lecture's Hessian fixes.

hessian_fix: ``none`` (plain Newton: heads for saddles and maxima too), ``abs`` (saddle-free
Newton: |eigenvalues|, so negative curvature is descended), ``damped`` (H + damping·I, the
Levenberg–Marquardt "diagonal loading"). A singular (fixed) Hessian refuses the step for that row.
"""

from __future__ import annotations

import numpy as np

from engine.linalg2 import from_eig, solve_sym, sym_eig
from engine.objective import Objective
from engine.optimizers.base import Optimizer, OptimizerSpec, ParamSpec, Probe, StepOutput

HESSIAN_FIXES = ("none", "abs", "damped")


def _init(opt: Optimizer, probe: Probe, objective: Objective) -> None:
    return None


def fixed_hessian(h: np.ndarray, fix: str, damping: float | np.ndarray) -> np.ndarray:
    """The matrix Newton actually inverts under the chosen fix."""
    if fix == "none":
        return h
    if fix == "abs":
        lam, vecs = sym_eig(h)
        return from_eig(np.abs(lam), vecs)
    d = h.shape[-1]
    damp = np.asarray(damping, float).reshape(-1, 1, 1)
    return h + damp * np.eye(d)[None, :, :]


def _step(opt: Optimizer, probe: Probe, state: None, objective: Objective) -> StepOutput:
    h = objective.hess(probe.x)
    h_used = fixed_hessian(h, opt.params["hessian_fix"], opt.params["damping"])
    direction, singular = solve_sym(h_used, probe.g)
    singular |= ~np.all(np.isfinite(h_used), axis=(-2, -1))
    model_min = probe.x - direction
    x = probe.x - opt.col("lr") * direction
    x[singular] = probe.x[singular]
    visible = {
        # the local quadratic model m(w) = f + gᵀ(w−x) + ½(w−x)ᵀH(w−x) at the current iterate
        "model_center": probe.x.copy(),
        "model_value": probe.f.copy(),
        "model_grad": probe.g.copy(),
        "model_hess": h_used,
        "model_min": np.where(singular[:, None], probe.x, model_min),
    }
    return StepOutput(
        x, state, visible, refused=singular, reason="singular Hessian: Newton step refused"
    )


NEWTON = OptimizerSpec(
    "newton",
    "Newton's method",
    (
        ParamSpec("lr", 1.0, low=0.0, low_open=True, log=True, help="step scale η (1 = full)"),
        ParamSpec(
            "hessian_fix",
            "none",
            kind="choice",
            choices=HESSIAN_FIXES,
            help="none / abs (|eigenvalues|) / damped (H + damping·I)",
        ),
        ParamSpec(
            "damping",
            1.0,
            low=0.0,
            help="added to the diagonal",
            visible_if={"hessian_fix": ("damped",)},
        ),
    ),
    _init,
    _step,
    order=2,
    description="w ← w − η H⁻¹ ∇E: minimise the local quadratic fit",
)

"""BFGS and L-BFGS (lecture slide 100) with a strong-Wolfe line search.

These loop over the rows of a batch: each row has its own line search and its own curvature
history. The record shows the current inverse-Hessian estimate so the GUI can draw it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.objective import Objective
from engine.optimizers.base import Optimizer, OptimizerSpec, ParamSpec, Probe, StepOutput
from engine.optimizers.line_search import wolfe_search

CURVATURE_EPS = 1e-12


class BfgsState(NamedTuple):
    inv_hess: np.ndarray  # (n, d, d) current estimate of H⁻¹
    updated: np.ndarray  # (n,) bool: has any curvature pair been used yet


class LbfgsState(NamedTuple):
    pairs: tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...]  # per row: ((s, y), ...)


def _line_search_params() -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(
            "c1",
            1e-4,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            help="Wolfe sufficient-decrease constant",
        ),
        ParamSpec(
            "c2",
            0.9,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            help="Wolfe curvature constant (c1 < c2)",
        ),
    )


def _search_row(
    objective: Objective,
    x: np.ndarray,
    f: float,
    g: np.ndarray,
    p: np.ndarray,
    c1: float,
    c2: float,
) -> tuple[np.ndarray, bool]:
    """Line search from x along p; returns (new point, ok)."""

    def phi(alpha: float) -> tuple[float, float]:
        point = (x + alpha * p)[None, :]
        value = float(objective.value(point)[0])
        slope = float(objective.grad(point)[0] @ p)
        return value, slope

    result = wolfe_search(phi, f, float(g @ p), c1=c1, c2=c2)
    return x + result.alpha * p, result.ok


def _per_row(value: float | np.ndarray, n: int) -> np.ndarray:
    """A scalar or per-row hyperparameter as n floats, one per row."""
    return np.broadcast_to(np.asarray(value, float), (n,))


def _descent_direction(h_inv: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, bool]:
    p = -h_inv @ g
    if not np.all(np.isfinite(p)) or p @ g >= 0:
        return -g, True  # not a descent direction: fall back to steepest descent
    return p, False


def _bfgs_init(opt: Optimizer, probe: Probe, objective: Objective) -> BfgsState:
    n, d = probe.x.shape
    return BfgsState(np.tile(np.eye(d), (n, 1, 1)), np.zeros(n, bool))


def _bfgs_step(opt: Optimizer, probe: Probe, state: BfgsState, objective: Objective) -> StepOutput:
    # c1, c2 may be per-row arrays (a sweep): each row searches with its own constants
    c1, c2 = (
        _per_row(opt.params["c1"], probe.x.shape[0]),
        _per_row(opt.params["c2"], probe.x.shape[0]),
    )
    x_new = probe.x.copy()
    h_all = state.inv_hess.copy()
    updated = state.updated.copy()
    refused = np.zeros(probe.x.shape[0], bool)
    eye = np.eye(probe.x.shape[1])
    for i in np.flatnonzero(probe.active):
        g = probe.g[i]
        p, reset = _descent_direction(h_all[i], g)
        if reset:
            h_all[i], updated[i] = eye, False
        x_i, ok = _search_row(objective, probe.x[i], float(probe.f[i]), g, p, c1[i], c2[i])
        if not ok:
            refused[i] = True
            continue
        s = x_i - probe.x[i]
        y = objective.grad(x_i[None, :])[0] - g
        sy = float(s @ y)
        if np.isfinite(sy) and sy > CURVATURE_EPS:
            h = h_all[i] if updated[i] else (sy / float(y @ y)) * eye  # N&W (6.20) scaling
            rho = 1.0 / sy
            left = eye - rho * np.outer(s, y)
            h_all[i] = left @ h @ left.T + rho * np.outer(s, s)
            updated[i] = True
        x_new[i] = x_i
    return StepOutput(
        x_new,
        BfgsState(h_all, updated),
        {"inv_hessian": h_all.copy()},
        refused=refused,
        reason="line search found no acceptable step",
    )


def _two_loop(pairs: tuple[tuple[np.ndarray, np.ndarray], ...], q: np.ndarray) -> np.ndarray:
    """Apply the L-BFGS inverse-Hessian estimate to q (Nocedal & Wright, Algorithm 7.4)."""
    q = q.copy()
    alphas = []
    for s, y in reversed(pairs):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q -= a * y
    if pairs:
        s, y = pairs[-1]
        q *= (s @ y) / (y @ y)
    for (s, y), a in zip(pairs, reversed(alphas)):
        b = (y @ q) / (y @ s)
        q += (a - b) * s
    return q


def _lbfgs_init(opt: Optimizer, probe: Probe, objective: Objective) -> LbfgsState:
    return LbfgsState(tuple(() for _ in range(probe.x.shape[0])))


def _lbfgs_step(
    opt: Optimizer, probe: Probe, state: LbfgsState, objective: Objective
) -> StepOutput:
    # c1, c2 may be per-row arrays (a sweep): each row searches with its own constants
    c1, c2 = (
        _per_row(opt.params["c1"], probe.x.shape[0]),
        _per_row(opt.params["c2"], probe.x.shape[0]),
    )
    memory = np.broadcast_to(np.asarray(opt.params["memory"]), probe.x.shape[:1])
    n, d = probe.x.shape
    x_new = probe.x.copy()
    pairs = list(state.pairs)
    refused = np.zeros(n, bool)
    inv_est = np.tile(np.eye(d), (n, 1, 1))
    for i in np.flatnonzero(probe.active):
        g = probe.g[i]
        p = -_two_loop(pairs[i], g)
        if not np.all(np.isfinite(p)) or p @ g >= 0:
            pairs[i], p = (), -g
        x_i, ok = _search_row(objective, probe.x[i], float(probe.f[i]), g, p, c1[i], c2[i])
        if not ok:
            refused[i] = True
            continue
        s = x_i - probe.x[i]
        y = objective.grad(x_i[None, :])[0] - g
        sy = float(s @ y)
        if np.isfinite(sy) and sy > CURVATURE_EPS:
            pairs[i] = (*pairs[i], (s, y))[-int(memory[i]) :]
        x_new[i] = x_i
        inv_est[i] = np.stack([_two_loop(pairs[i], e) for e in np.eye(d)], axis=-1)
    return StepOutput(
        x_new,
        LbfgsState(tuple(pairs)),
        {"inv_hessian": inv_est},
        refused=refused,
        reason="line search found no acceptable step",
    )


BFGS = OptimizerSpec(
    "bfgs",
    "BFGS",
    _line_search_params(),
    _bfgs_init,
    _bfgs_step,
    batched=False,
    ordered=(("c1", "c2"),),
    description="quasi-Newton: builds H⁻¹ from gradient differences; Wolfe line search",
)
LBFGS = OptimizerSpec(
    "lbfgs",
    "L-BFGS",
    (
        ParamSpec("memory", 10, kind="int", low=1, high=100, help="curvature pairs kept"),
        *_line_search_params(),
    ),
    _lbfgs_init,
    _lbfgs_step,
    batched=False,
    ordered=(("c1", "c2"),),
    description="limited-memory BFGS: H⁻¹ from the last m curvature pairs",
)

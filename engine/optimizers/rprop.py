"""Rprop, per coordinate, in five variants (design file; lecture slides 112–119).

Let s = g_prev·g (first step: g_prev = 0, so s = 0).
Step sizes: s > 0 → min(α·Δ, step_max); s < 0 → max(β·Δ, step_min); s = 0 → unchanged
(clamped to [step_min, step_max], exactly as torch.optim.Rprop does).

- ``rprop-``  move w −= sign(g)·Δ everywhere.
- ``irprop-`` where s < 0 set g = 0 first (no move, forget): equals torch.optim.Rprop.
- ``rprop+``  where s < 0 undo the previous move and forget g (Riedmiller & Braun 1993).
- ``irprop+`` like rprop+, but undo only if the loss went up (Igel & Hüsken 2000).
- ``seed``    the lecture's rule: where s < 0 return to the previous location, shrink Δ, and
              take the smaller step forward in the previous direction.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.objective import Objective
from engine.optimizers.base import Optimizer, OptimizerSpec, ParamSpec, Probe, StepOutput

VARIANTS = ("seed", "rprop+", "rprop-", "irprop+", "irprop-")


class RpropState(NamedTuple):
    step: np.ndarray  # Δ per coordinate (n, d)
    g_prev: np.ndarray  # remembered gradient (zeroed where forgotten)
    last_move: np.ndarray  # the previous update's displacement (seed: from its anchor point)
    f_prev: np.ndarray  # loss before the previous update (irprop+)


def _init(opt: Optimizer, probe: Probe, objective: Objective) -> RpropState:
    step = np.broadcast_to(opt.col("step0"), probe.x.shape).astype(float)
    zeros = np.zeros_like(probe.x)
    return RpropState(step, zeros, zeros.copy(), np.full(probe.x.shape[0], np.inf))


def _step(opt: Optimizer, probe: Probe, state: RpropState, objective: Objective) -> StepOutput:
    variant = opt.params["variant"]
    g = probe.g
    s = state.g_prev * g
    grow, shrink = s > 0, s < 0
    factor = np.where(grow, opt.col("alpha"), np.where(shrink, opt.col("beta"), 1.0))
    step = np.clip(state.step * factor, opt.col("step_min"), opt.col("step_max"))

    returned = np.zeros_like(shrink)
    anchor_move = None  # for `seed`: the displacement from the point a return goes back to
    if variant == "rprop-":
        move = -np.sign(g) * step
        g_keep = g
    elif variant == "irprop-":
        g_keep = np.where(shrink, 0.0, g)
        move = -np.sign(g_keep) * step
    elif variant in ("rprop+", "irprop+"):
        undo = shrink
        if variant == "irprop+":
            worse = (probe.f > state.f_prev)[:, None]
            undo = shrink & worse
        move = np.where(shrink, 0.0, -np.sign(g) * step)
        move = np.where(undo, -state.last_move, move)
        returned = undo
        g_keep = np.where(shrink, 0.0, g)
    elif variant == "seed":
        # back to where we were, then the smaller step forward in the direction we had there;
        # the gradient there stays the reference. When Δ is already at step_min the return would
        # repeat forever (in 2-D the other coordinate's moves can flip this one's sign), so there
        # the stale reference is dropped and the coordinate simply moves against its gradient.
        stuck = shrink & (state.step <= opt.col("step_min"))
        back = shrink & ~stuck
        forward = np.sign(state.last_move) * step
        move = np.where(back, -state.last_move + forward, -np.sign(g) * step)
        anchor_move = np.where(back, forward, move)
        returned = back
        g_keep = np.where(back, state.g_prev, np.where(stuck, 0.0, g))
    else:  # pragma: no cover - rejected by validation
        raise ValueError(f"rprop: unknown variant {variant!r}")

    last = move if anchor_move is None else anchor_move
    new_state = RpropState(step, g_keep, last, probe.f.copy())
    visible = {"step_sizes": step, "flipped": shrink, "returned": returned}
    return StepOutput(probe.x + move, new_state, visible)


RPROP = OptimizerSpec(
    "rprop",
    "Rprop",
    (
        ParamSpec("variant", "seed", kind="choice", choices=VARIANTS, help="which Rprop rule"),
        ParamSpec("step0", 0.1, low=0.0, low_open=True, log=True, help="initial step Δ₀"),
        ParamSpec("alpha", 1.2, low=1.0, low_open=True, help="increase factor α > 1"),
        ParamSpec(
            "beta",
            0.5,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            help="decrease factor 0 < β < 1",
        ),
        ParamSpec("step_min", 1e-6, low=0.0, log=True, help="smallest step"),
        ParamSpec("step_max", 50.0, low=0.0, low_open=True, log=True, help="largest step"),
    ),
    _init,
    _step,
    ordered=(("step_min", "step_max"),),
    description="per-coordinate steps: grow ×α while the sign holds, shrink ×β on a flip",
)

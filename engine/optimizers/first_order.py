"""Gradient descent and torch.optim's first-order rules (SGD momentum/Nesterov, Adagrad, RMSprop,
Adam), vectorized over a batch. Each update follows torch's documented algorithm line for line
(dampening = 0, weight_decay = 0, no lr decay, centered = False, amsgrad = False).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.objective import Objective
from engine.optimizers.base import Optimizer, OptimizerSpec, ParamSpec, Probe, StepOutput
from engine.schedules import SCHEDULES, scheduled_lr

LR_HELP = "learning rate η"


def _lr(default: float) -> ParamSpec:
    return ParamSpec("lr", default, low=0.0, low_open=True, log=True, help=LR_HELP)


# -- plain gradient descent ------------------------------------------------------------------------


def _gd_init(opt: Optimizer, probe: Probe, objective: Objective) -> None:
    return None


def _gd_step(opt: Optimizer, probe: Probe, state: None, objective: Objective) -> StepOutput:
    p = opt.params
    lr = scheduled_lr(
        p["schedule"],
        opt.col("lr"),
        probe.k,
        opt.col("step_size"),
        opt.col("gamma"),
        opt.col("decay"),
    )
    n = probe.x.shape[0]
    # one η for all rows, or per-row η shaped (n, 1); np.full is the cheap case for a single start
    lr_rows = np.full(n, float(lr)) if np.ndim(lr) == 0 else np.array(lr, float).reshape(n)
    return StepOutput(probe.x - lr * probe.g, state, {"lr": lr_rows})


GD = OptimizerSpec(
    "gd",
    "Gradient descent",
    (
        _lr(0.1),
        ParamSpec("schedule", "constant", kind="choice", choices=SCHEDULES, help="η schedule"),
        ParamSpec(
            "step_size",
            10,
            kind="int",
            low=1,
            help="updates between decays",
            visible_if={"schedule": ("step",)},
        ),
        ParamSpec(
            "gamma",
            0.5,
            low=0.0,
            high=1.0,
            low_open=True,
            help="decay factor",
            visible_if={"schedule": ("step", "exp")},
        ),
        ParamSpec(
            "decay",
            0.1,
            low=0.0,
            help="η_k = η/(1 + decay·k)",
            visible_if={"schedule": ("inv_time",)},
        ),
    ),
    _gd_init,
    _gd_step,
    description="w ← w − η ∇E(w)",
)


# -- SGD with momentum / Nesterov (torch.optim.SGD) -----------------------------------------------


class MomentumState(NamedTuple):
    buf: np.ndarray
    started: bool


def _momentum_init(opt: Optimizer, probe: Probe, objective: Objective) -> MomentumState:
    return MomentumState(np.zeros_like(probe.x), False)


def _momentum_step_for(nesterov: bool):
    def step(opt: Optimizer, probe: Probe, state: MomentumState, obj: Objective) -> StepOutput:
        g, mu = probe.g, opt.col("momentum")
        buf = g.copy() if not state.started else mu * state.buf + g
        direction = g + mu * buf if nesterov else buf
        return StepOutput(
            probe.x - opt.col("lr") * direction, MomentumState(buf, True), {"velocity": buf}
        )

    return step


_MOMENTUM_PARAMS = (
    _lr(0.01),
    ParamSpec("momentum", 0.9, low=0.0, high=1.0, high_open=True, help="momentum μ"),
)

MOMENTUM = OptimizerSpec(
    "momentum",
    "Momentum",
    _MOMENTUM_PARAMS,
    _momentum_init,
    _momentum_step_for(nesterov=False),
    description="torch.optim.SGD(momentum=μ): b ← μb + g, w ← w − ηb",
)
NESTEROV = OptimizerSpec(
    "nesterov",
    "Nesterov momentum",
    _MOMENTUM_PARAMS,
    _momentum_init,
    _momentum_step_for(nesterov=True),
    description="torch.optim.SGD(momentum=μ, nesterov=True): w ← w − η(g + μb)",
)


# -- Adagrad, RMSprop ------------------------------------------------------------------------------


class SquareState(NamedTuple):
    acc: np.ndarray


def _square_init(opt: Optimizer, probe: Probe, objective: Objective) -> SquareState:
    return SquareState(np.zeros_like(probe.x))


def _adagrad_step(opt: Optimizer, probe: Probe, state: SquareState, obj: Objective) -> StepOutput:
    g = probe.g
    acc = state.acc + g * g
    x = probe.x - opt.col("lr") * g / (np.sqrt(acc) + opt.col("eps"))
    return StepOutput(x, SquareState(acc), {"accumulator": acc})


def _rmsprop_step(opt: Optimizer, probe: Probe, state: SquareState, obj: Objective) -> StepOutput:
    g, alpha = probe.g, opt.col("alpha")
    acc = alpha * state.acc + (1.0 - alpha) * g * g
    x = probe.x - opt.col("lr") * g / (np.sqrt(acc) + opt.col("eps"))
    return StepOutput(x, SquareState(acc), {"accumulator": acc})


def _eps(default: float) -> ParamSpec:
    return ParamSpec("eps", default, low=0.0, low_open=True, log=True, help="ε for stability")


ADAGRAD = OptimizerSpec(
    "adagrad",
    "AdaGrad",
    (_lr(0.1), _eps(1e-10)),
    _square_init,
    _adagrad_step,
    description="torch.optim.Adagrad: s ← s + g², w ← w − η g/(√s + ε)",
)
RMSPROP = OptimizerSpec(
    "rmsprop",
    "RMSprop",
    (
        _lr(0.01),
        ParamSpec("alpha", 0.99, low=0.0, high=1.0, high_open=True, help="smoothing α"),
        _eps(1e-8),
    ),
    _square_init,
    _rmsprop_step,
    description="torch.optim.RMSprop: v ← αv + (1−α)g², w ← w − η g/(√v + ε)",
)


# -- Adam ------------------------------------------------------------------------------------------


class AdamState(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    t: int


def _adam_init(opt: Optimizer, probe: Probe, objective: Objective) -> AdamState:
    return AdamState(np.zeros_like(probe.x), np.zeros_like(probe.x), 0)


def _adam_step(opt: Optimizer, probe: Probe, state: AdamState, obj: Objective) -> StepOutput:
    g, b1, b2 = probe.g, opt.col("beta1"), opt.col("beta2")
    t = state.t + 1
    m = b1 * state.m + (1.0 - b1) * g
    v = b2 * state.v + (1.0 - b2) * g * g
    bias1 = 1.0 - np.power(b1, t)
    bias2 = 1.0 - np.power(b2, t)
    denom = np.sqrt(v) / np.sqrt(bias2) + opt.col("eps")
    x = probe.x - (opt.col("lr") / bias1) * m / denom
    return StepOutput(x, AdamState(m, v, t), {"m": m, "v": v})


ADAM = OptimizerSpec(
    "adam",
    "Adam",
    (
        # torch's default 0.001 barely moves on a demo surface spanning several units; 0.05 makes
        # Adam visibly race the others within a few hundred steps.
        _lr(0.05),
        ParamSpec("beta1", 0.9, low=0.0, high=1.0, high_open=True, help="first-moment decay β1"),
        ParamSpec("beta2", 0.999, low=0.0, high=1.0, high_open=True, help="second-moment decay β2"),
        _eps(1e-8),
    ),
    _adam_init,
    _adam_step,
    description="torch.optim.Adam with bias correction",
)

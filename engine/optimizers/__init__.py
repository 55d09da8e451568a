"""The one registry of optimizers: name -> spec (parameters, defaults, update rule)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.optimizers.base import (
    Optimizer,
    OptimizerSpec,
    ParamSpec,
    Probe,
    StepOutput,
    configure,
)
from engine.optimizers.first_order import ADAGRAD, ADAM, GD, MOMENTUM, NESTEROV, RMSPROP
from engine.optimizers.newton import NEWTON
from engine.optimizers.quasi_newton import BFGS, LBFGS
from engine.optimizers.rprop import RPROP

OPTIMIZERS: Mapping[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (GD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM, NEWTON, BFGS, LBFGS, RPROP)
}


def optimizer_names() -> list[str]:
    return list(OPTIMIZERS)


def optimizer_spec(name: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}"
        ) from None


def make_optimizer(name: str, **params: Any) -> Optimizer:
    """Build a configured optimizer; invalid names or parameters raise ValueError."""
    return configure(optimizer_spec(name), params)


__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "OptimizerSpec",
    "ParamSpec",
    "Probe",
    "StepOutput",
    "make_optimizer",
    "optimizer_names",
    "optimizer_spec",
]

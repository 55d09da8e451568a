"""The optimizer contract: parameter specs, validation, and the init/step pair.

Shaped after optax (an optimizer is ``init`` + ``step`` over a small state) and torch.optim
(hyperparameters validated up front with errors that name the parameter). Every numeric
hyperparameter may be a scalar or one value per row (shape (n,)), so one batch can sweep η.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from engine.objective import Objective


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter: its default, type and valid range, for validation and generated forms."""

    name: str
    default: Any
    kind: str = "float"  # float | int | choice
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: value must be > low (not >=)
    high_open: bool = False
    choices: tuple[str, ...] = ()
    log: bool = False  # a slider for it should be logarithmic
    help: str = ""
    visible_if: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def range_text(self) -> str:
        if self.kind == "choice":
            return " / ".join(self.choices)
        lo = "" if self.low is None else f"{'>' if self.low_open else '≥'} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '≤'} {self.high:g}"
        return ", ".join(p for p in (lo, hi) if p)

    def validate(self, owner: str, value: Any) -> Any:
        """Return the value coerced to its type, or raise ValueError naming the parameter."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(
                    f"{owner}: {self.name} must be one of {', '.join(self.choices)} (got {value!r})"
                )
            return value
        if isinstance(value, (bool, str)):
            raise ValueError(f"{owner}: {self.name} must be a number (got {value!r})")
        arr = np.asarray(value, dtype=float)
        if arr.ndim > 1 or arr.size == 0:
            raise ValueError(f"{owner}: {self.name} must be a number or a 1-D array of numbers")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{owner}: {self.name} must be finite (got {value!r})")
        if self.kind == "int" and not np.all(arr == np.round(arr)):
            raise ValueError(f"{owner}: {self.name} must be a whole number (got {value!r})")
        bad = np.zeros(arr.shape, bool)
        if self.low is not None:
            bad |= (arr <= self.low) if self.low_open else (arr < self.low)
        if self.high is not None:
            bad |= (arr >= self.high) if self.high_open else (arr > self.high)
        if np.any(bad):
            shown = float(np.ravel(arr)[np.argmax(np.ravel(bad))])
            raise ValueError(f"{owner}: {self.name} must be {self.range_text()} (got {shown:g})")
        if arr.ndim == 0:
            return int(arr) if self.kind == "int" else float(arr)
        return arr.astype(int) if self.kind == "int" else arr.copy()


@dataclass(frozen=True)
class StepOutput:
    """What one update proposes: new points, new state, and what the GUI may draw of it."""

    x: np.ndarray
    state: Any
    visible: Mapping[str, np.ndarray] = field(default_factory=dict)
    refused: np.ndarray | None = None  # (n,) rows whose step was refused; x unchanged there
    reason: str = ""


@dataclass(frozen=True)
class Probe:
    """The current iterate with its loss and gradient, computed once by the run."""

    x: np.ndarray  # (n, d)
    f: np.ndarray  # (n,)
    g: np.ndarray  # (n, d)
    k: int  # 0 for the first update
    active: np.ndarray  # (n,) rows still running


InitFn = Callable[["Optimizer", Probe, Objective], Any]
StepFn = Callable[["Optimizer", Probe, Any, Objective], StepOutput]


@dataclass(frozen=True)
class OptimizerSpec:
    """Registry entry: the optimizer's public name, parameters and update functions."""

    name: str
    title: str
    params: tuple[ParamSpec, ...]
    init: InitFn
    step: StepFn
    order: int = 1  # 1: uses gradients, 2: uses the Hessian
    batched: bool = True  # False: loops over rows (BFGS, L-BFGS)
    description: str = ""
    # constraints between parameters, e.g. (("c1", "c2"),) for c1 < c2: (smaller, larger)
    ordered: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


@dataclass(frozen=True, eq=False)
class Optimizer:
    """A configured optimizer: spec + validated hyperparameters (immutable)."""

    spec: OptimizerSpec
    params: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    def init(self, probe: Probe, objective: Objective) -> Any:
        return self.spec.init(self, probe, objective)

    def step(self, probe: Probe, state: Any, objective: Objective) -> StepOutput:
        return self.spec.step(self, probe, state, objective)

    def col(self, name: str) -> float | np.ndarray:
        """A numeric hyperparameter shaped to broadcast against (n, d): scalar or (n, 1)."""
        value = self.params[name]
        if isinstance(value, np.ndarray):
            return value[:, None]
        return value

    def row(self, name: str) -> float | np.ndarray:
        """A numeric hyperparameter shaped to broadcast against (n,)."""
        return self.params[name]

    def with_params(self, **changes: Any) -> Optimizer:
        """A copy with some hyperparameters changed (validated); state is kept by the caller."""
        return configure(self.spec, {**self.params, **changes})

    def rows(self) -> int | None:
        """The batch size implied by per-row hyperparameters, or None if all are scalars."""
        sizes = {v.shape[0] for v in self.params.values() if isinstance(v, np.ndarray)}
        if len(sizes) > 1:
            raise ValueError(f"{self.name}: per-row parameters have different lengths {sizes}")
        return sizes.pop() if sizes else None


def configure(spec: OptimizerSpec, params: Mapping[str, Any]) -> Optimizer:
    """Validate ``params`` against ``spec`` (unknown names rejected) and fill in defaults."""
    known = {p.name: p for p in spec.params}
    for key in params:
        if key not in known:
            allowed = ", ".join(known) or "none"
            raise ValueError(f"{spec.name}: unknown parameter {key!r} (parameters: {allowed})")
    values = {p.name: p.validate(spec.name, params.get(p.name, p.default)) for p in spec.params}
    for small, large in spec.ordered:
        if np.any(np.asarray(values[small]) >= np.asarray(values[large])):
            raise ValueError(f"{spec.name}: {small} must be smaller than {large}")
    opt = Optimizer(spec, MappingProxyType(values))
    opt.rows()
    return opt

"""Iterate an optimizer from one or many starts, one StepRecord per update.

The run owns the stop rules (design file): ``converged`` when ‖∇E‖ ≤ tol or no coordinate moves,
``diverged`` when x or E(x) is non-finite or |x| > 1e8, ``max_steps``, and ``failed`` when a step is
refused (singular Hessian, no line-search step, E undefined) or the objective raised. Stopped rows are
frozen; no non-finite point ever appears in a record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from engine.linalg2 import sym_eig
from engine.objective import Objective, as_batch, classify_hessian
from engine.optimizers import Optimizer, Probe, make_optimizer

STATUS_NAMES = ("running", "converged", "diverged", "max_steps", "failed")
RUNNING, CONVERGED, DIVERGED, MAX_STEPS, FAILED = range(len(STATUS_NAMES))
DIVERGENCE_BOUND = 1e8
DEFAULT_TOL = 1e-8


@dataclass(frozen=True)
class StepRecord:
    """Everything about the batch after ``iteration`` updates; arrays are copies, never shared."""

    iteration: int
    x: np.ndarray  # (n, d), always finite
    f: np.ndarray  # (n,)
    grad: np.ndarray  # (n, d)
    grad_norm: np.ndarray  # (n,)
    status: np.ndarray  # (n,) int8 index into STATUS_NAMES
    step: np.ndarray  # (n, d) displacement of this update (zero for the start record)
    kind: tuple[str, ...] = ()  # per row: stationary kind for converged rows, else ""
    messages: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    visible: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    hess: np.ndarray | None = None  # (n, d, d) at x when the run records Hessians

    def status_name(self, row: int = 0) -> str:
        return STATUS_NAMES[int(self.status[row])]

    def row_label(self, row: int = 0) -> str:
        """The status as a reader would say it, e.g. "converged (saddle)"."""
        name = self.status_name(row)
        kind = self.kind[row] if self.kind else ""
        return f"{name} ({kind})" if kind else name


class Run:
    """A batch run: ``first`` is the start record, ``step()`` performs one update for all rows."""

    def __init__(
        self,
        objective: Objective,
        optimizer: Optimizer,
        starts: Any,
        max_steps: int = 1000,
        tol: float = DEFAULT_TOL,
        record_hessian: bool = False,
    ) -> None:
        self.objective = objective
        self.optimizer = optimizer
        self.max_steps = int(max_steps)
        self.tol = float(tol)
        self.record_hessian = record_hessian
        x = as_batch(starts, objective.dim).copy()
        rows = optimizer.rows()
        if rows is not None and rows != x.shape[0]:
            if x.shape[0] != 1:
                raise ValueError(f"{rows} per-row parameters but {x.shape[0]} starts")
            x = np.repeat(x, rows, axis=0)
        if not np.all(np.isfinite(x)):
            raise ValueError("start points must be finite numbers")
        n = x.shape[0]
        self.iteration = 0
        self._x = x
        self._status = np.zeros(n, np.int8)
        self._kind = np.full(n, "", dtype=object)
        self._messages: dict[int, str] = {}
        self._unmoved = np.zeros(n, int)
        self._f, self._g = self._evaluate(x)
        undefined = ~np.isfinite(self._f) | ~np.all(np.isfinite(self._g), axis=1)
        self._stop(undefined, FAILED, "E or ∇E is undefined at the start")
        self._check_converged(np.linalg.norm(self._g, axis=1), np.ones(n, bool))
        if self.max_steps <= 0:
            self._status[self._status == RUNNING] = MAX_STEPS
        self._state = None
        if np.any(self._status == RUNNING):
            self._state = self._safe_init()
        self.first = self._record(np.zeros_like(x), {})

    # -- public API ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self._x.shape[0]

    @property
    def done(self) -> bool:
        return not np.any(self._status == RUNNING)

    def set_params(self, **changes: Any) -> None:
        """Change hyperparameters from the next update on (the optimizer's state is kept)."""
        self.optimizer = self.optimizer.with_params(**changes)

    def step(self) -> StepRecord:
        """One update of every running row; stopped rows stay where they are."""
        active = self._status == RUNNING
        x_old = self._x
        if not np.any(active):
            return self._record(np.zeros_like(x_old), {})
        probe = Probe(x_old, self._f, self._g, self.iteration, active)
        try:
            out = self.optimizer.step(probe, self._state, self.objective)
            x_new = np.array(out.x, dtype=float, copy=True)
            with np.errstate(all="ignore"):
                f_new, g_new = self._evaluate(np.where(np.isfinite(x_new), x_new, 0.0))
        except Exception as exc:  # an objective or optimizer bug must not kill the app
            self._stop(active, FAILED, f"error: {type(exc).__name__}: {exc}")
            self.iteration += 1
            return self._record(np.zeros_like(x_old), {})
        self.iteration += 1
        self._state = out.state

        refused = active & (out.refused if out.refused is not None else False)
        moving = active & ~refused
        finite_x = np.all(np.isfinite(x_new), axis=1)
        huge = ~finite_x | np.any(np.abs(np.where(finite_x[:, None], x_new, 0)) > DIVERGENCE_BOUND,
                                  axis=1)
        bad_f = ~np.isfinite(f_new)
        bad_g = ~np.all(np.isfinite(g_new), axis=1)
        diverged = moving & (huge | (bad_f & _is_overflow(f_new)))
        undefined = moving & ~diverged & (bad_f | bad_g)
        accept = moving & ~diverged & ~undefined

        x = x_old.copy()
        x[accept] = x_new[accept]
        self._f = np.where(accept, f_new, self._f)
        self._g = np.where(accept[:, None], g_new, self._g)
        self._x = x

        self._stop(refused, FAILED, out.reason or "step refused")
        self._stop(diverged, DIVERGED, "diverged: |w| or E(w) blew up")
        self._stop(undefined, FAILED, "stepped where E or ∇E is undefined")
        still = accept & (self._status == RUNNING)
        # one update without a move is normal (iRprop pauses a coordinate after a sign flip);
        # two in a row means nothing will move any more
        unmoved = np.all(x_new == x_old, axis=1)
        self._unmoved = np.where(still & unmoved, self._unmoved + 1, 0)
        self._check_converged(np.linalg.norm(self._g, axis=1), still, self._unmoved >= 2)
        if self.iteration >= self.max_steps:
            self._status[self._status == RUNNING] = MAX_STEPS
        return self._record(x - x_old, out.visible)

    def __iter__(self) -> Iterator[StepRecord]:
        """Yield records after each update until every row has stopped."""
        while not self.done:
            yield self.step()

    # -- internals -----------------------------------------------------------------------------
    def _safe_init(self) -> Any:
        probe = Probe(self._x, self._f, self._g, 0, self._status == RUNNING)
        try:
            return self.optimizer.init(probe, self.objective)
        except Exception as exc:
            self._stop(self._status == RUNNING, FAILED, f"error: {type(exc).__name__}: {exc}")
            return None

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.objective.value(x), self.objective.grad(x)

    def _stop(self, rows: np.ndarray, status: int, message: str) -> None:
        rows = rows & (self._status == RUNNING)
        if not np.any(rows):
            return
        self._status[rows] = status
        for i in np.flatnonzero(rows)[:64]:  # a basin map needs no 65,536 messages
            self._messages[int(i)] = message

    def _check_converged(
        self, grad_norm: np.ndarray, rows: np.ndarray, no_move: np.ndarray | None = None
    ) -> None:
        done = rows & (self._status == RUNNING) & (grad_norm <= self.tol)
        if no_move is not None:
            done |= no_move & (self._status == RUNNING)
        if not np.any(done):
            return
        self._status[done] = CONVERGED
        stationary = done & (grad_norm <= max(self.tol, 1e-6))
        if np.any(stationary):
            self._kind[stationary] = classify_hessian(self.objective.hess(self._x[stationary]))
        for i in np.flatnonzero(done & ~stationary)[:64]:
            self._messages[int(i)] = f"no coordinate moves any more (‖∇E‖ = {grad_norm[i]:.3g})"

    def _record(self, step: np.ndarray, visible: Mapping[str, Any]) -> StepRecord:
        hess = self.objective.hess(self._x) if self.record_hessian else None
        extra: dict[str, np.ndarray] = {k: np.array(v, copy=True) for k, v in visible.items()}
        if hess is not None:
            hess = np.where(np.isfinite(hess), hess, 0.0)
            lam, vecs = sym_eig(hess)
            extra["hess_eigvals"], extra["hess_eigvecs"] = lam, vecs
        return StepRecord(
            iteration=self.iteration,
            x=self._x.copy(),
            f=self._f.copy(),
            grad=self._g.copy(),
            grad_norm=np.linalg.norm(self._g, axis=1),
            status=self._status.copy(),
            step=step,
            kind=tuple(self._kind),
            messages=MappingProxyType(dict(self._messages)),
            visible=MappingProxyType(extra),
            hess=hess,
        )


def _is_overflow(f: np.ndarray) -> np.ndarray:
    """+inf (or a huge value) is a blow-up; NaN means "undefined here" (e.g. log of a negative)."""
    return np.isinf(f) | (np.abs(np.nan_to_num(f)) > 1e300)


@dataclass(frozen=True)
class Trajectory:
    """A finished single-start run, as the CLI and tests want it."""

    points: np.ndarray  # (k + 1, d)
    losses: np.ndarray  # (k + 1,)
    grad_norms: np.ndarray
    status: str
    kind: str
    message: str
    records: tuple[StepRecord, ...]


def trace(
    objective: Objective,
    optimizer: Optimizer | str,
    start: Any,
    steps: int,
    tol: float = DEFAULT_TOL,
    **params: Any,
) -> Trajectory:
    """Run one start for at most ``steps`` updates and collect the path."""
    opt = make_optimizer(optimizer, **params) if isinstance(optimizer, str) else optimizer
    run = Run(objective, opt, start, max_steps=steps, tol=tol)
    if run.n != 1:
        raise ValueError("trace takes exactly one start point")
    records = [run.first, *run]
    last = records[-1]
    return Trajectory(
        points=np.array([r.x[0] for r in records]),
        losses=np.array([r.f[0] for r in records]),
        grad_norms=np.array([r.grad_norm[0] for r in records]),
        status=last.status_name(0),
        kind=last.kind[0],
        message=last.messages.get(0, ""),
        records=tuple(records),
    )

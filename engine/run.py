"""Iterate an optimizer from one or many starts, one StepRecord per update.

The run owns the stop rules (design file): ``converged`` when ‖∇E‖ ≤ tol or no coordinate moves,
``diverged`` when x or E(x) is non-finite or |x| > 1e8, ``max_steps``, and ``failed`` when a step is
refused (singular Hessian, no line-search step, E undefined) or the objective raised. Stopped rows
are frozen; no non-finite point ever appears in a record.
"""

from __future__ import annotations

import copy
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
# "no further progress": every step below STALL_STEP·(1 + |w|) and no new best E for this many
# updates in a row (Rprop bouncing at step_min never reaches ‖∇E‖ ≤ tol, yet it has arrived)
STALL_STEP = 1e-5
STALL_UPDATES = 25
NEAR_STATIONARY = 1e-3  # a stopped row this close to ∇E = 0 is classified by its Hessian


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
        n, d = x.shape
        self.iteration = 0
        self._x = x
        self._status = np.zeros(n, np.int8)
        self._kind = np.full(n, "", dtype=object)
        self._messages: dict[int, str] = {}
        # read-only snapshots handed to records, rebuilt only when kinds / messages change
        # (tuple() of 65,536 kinds and a dict copy on every step cost more than the step itself)
        self._kind_view: tuple[str, ...] | None = None
        self._messages_view: Mapping[int, str] | None = None
        self._unmoved = np.zeros(n, int)  # consecutive updates without any move, per row
        self._any_unmoved = False
        self._stalled = np.zeros(n, int)  # consecutive tiny updates without a new best E
        self._any_stalled = False
        try:
            self._f, self._g, self._gn = self._evaluate(x)
            self._gn = _rescue_norms(self._g, self._gn)
        except Exception as exc:  # an objective that raises must not kill the app
            self._f, self._g, self._gn = (
                np.full(n, np.nan),
                np.full((n, d), np.nan),
                np.full(n, np.nan),
            )
            self._stop(np.ones(n, bool), FAILED, _error_message(exc))
        self._best_f = np.where(np.isfinite(self._f), self._f, np.inf)
        undefined = ~np.isfinite(self._f) | ~_all_rows(np.isfinite(self._g))
        infinite = np.isinf(self._f) | _any_rows(np.isinf(self._g))  # e.g. exp(x²) far out
        self._stop(undefined & infinite, FAILED, "E or ∇E is infinite at the start")
        self._stop(undefined, FAILED, "E or ∇E is undefined at the start")
        self._check_converged(self._gn, np.ones(n, bool))
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

    def clone(self) -> Run:
        """An independent copy of the run as it is now (cheap: states are replaced, not mutated,
        by a step; only the status, kind and message tables are updated in place)."""
        other = copy.copy(self)
        other._status = self._status.copy()
        other._kind = self._kind.copy()
        other._messages = dict(self._messages)
        return other

    def set_params(self, **changes: Any) -> None:
        """Change hyperparameters from the next update on (the optimizer's state is kept)."""
        optimizer = self.optimizer.with_params(**changes)
        rows = optimizer.rows()
        if rows is not None and rows != self.n:
            raise ValueError(f"{rows} per-row parameters but the run has {self.n} rows")
        self.optimizer = optimizer

    def step(self) -> StepRecord:
        """One update of every running row; stopped rows stay where they are."""
        active = self._status == RUNNING
        x_old = self._x
        if not active.any():
            return self._record(np.zeros_like(x_old), {})
        probe = Probe(x_old, self._f, self._g, self.iteration, active)
        try:
            # overflow inside an update (g·g, a matmul far out) is not news: the checks below
            # turn non-finite results into a status, so numpy must not warn about it
            with np.errstate(all="ignore"):
                out = self.optimizer.step(probe, self._state, self.objective)
            x_new = np.array(out.x, dtype=float, copy=True)
            in_bounds = np.abs(x_new) <= DIVERGENCE_BOUND  # False for inf and NaN
            all_in = bool(in_bounds.all())
            # never evaluate E at a blown-up point (its row is stopped below anyway)
            x_eval = x_new if all_in else np.where(in_bounds, x_new, 0.0)
            f_new, g_new, gn_new = self._evaluate(x_eval)
        except Exception as exc:  # an objective or optimizer bug must not kill the app
            self._stop(active, FAILED, _error_message(exc))
            self.iteration += 1
            return self._record(np.zeros_like(x_old), {})
        self.iteration += 1
        self._state = out.state

        refused = None
        if out.refused is not None:
            refused = active & np.asarray(out.refused, bool)
            if not refused.any():
                refused = None
        moving = active if refused is None else active & ~refused
        diverged = undefined = None
        if all_in and np.isfinite(f_new).all() and np.isfinite(gn_new).all():
            accept = moving  # the usual case: nothing blew up, nothing is undefined
        else:
            gn_new = _rescue_norms(g_new, gn_new)
            blown = ~_all_rows(in_bounds) | np.isinf(f_new)
            # NaN (e.g. log of a negative) means "undefined here", not a blow-up
            defined = np.isfinite(f_new) & _all_rows(np.isfinite(g_new))
            diverged = moving & blown
            undefined = moving & ~blown & ~defined
            accept = moving & ~blown & defined

        if accept.all():
            x, self._f, self._g, self._gn = x_new, f_new, g_new, gn_new
        else:
            x = _where_rows(accept, x_new, x_old)
            self._f = np.where(accept, f_new, self._f)
            self._g = _where_rows(accept, g_new, self._g)
            self._gn = np.where(accept, gn_new, self._gn)
        self._x = x

        if refused is not None:
            self._stop(refused, FAILED, out.reason or "step refused")
        if diverged is not None and undefined is not None:
            self._stop(diverged, DIVERGED, "diverged: |w| or E(w) blew up")
            self._stop(undefined, FAILED, "stepped where E or ∇E is undefined")
        still = accept  # accepted rows were not stopped above
        # one update without a move is normal (iRprop pauses a coordinate after a sign flip);
        # two in a row means nothing will move any more. (For finite floats, x − x_old == 0
        # exactly when x == x_old; when every coordinate moved, no row can be unmoved.)
        displacement = x - x_old
        no_move = None
        if self._any_unmoved or not displacement.all():
            unmoved = still & ~_any_rows(displacement != 0.0)
            self._unmoved = np.where(unmoved, self._unmoved + 1, 0)
            self._any_unmoved = bool(unmoved.any())
            no_move = self._unmoved >= 2
        tiny = _row_max(np.abs(displacement)) <= STALL_STEP * (1.0 + _row_max(np.abs(x)))
        stalled = None
        if self._any_stalled or tiny.any():  # only tiny steps can start or continue a stall
            with np.errstate(all="ignore"):  # best E may still be +inf for a failed row
                improved = self._f < self._best_f - 1e-9 * np.abs(self._best_f)
                self._best_f = np.fmin(self._best_f, self._f)
            self._stalled = np.where(still & tiny & ~improved, self._stalled + 1, 0)
            self._any_stalled = bool(self._stalled.any())
            over = self._stalled >= STALL_UPDATES
            stalled = over if over.any() else None
        else:
            self._best_f = np.fmin(self._best_f, self._f)
        self._check_converged(self._gn, still, no_move, stalled)
        if self.iteration >= self.max_steps:
            self._status[self._status == RUNNING] = MAX_STEPS
        return self._record(displacement, out.visible)

    def __iter__(self) -> Iterator[StepRecord]:
        """Yield records after each update until every row has stopped."""
        while not self.done:
            yield self.step()

    # -- internals -----------------------------------------------------------------------------
    def _safe_init(self) -> Any:
        probe = Probe(self._x, self._f, self._g, 0, self._status == RUNNING)
        try:
            with np.errstate(all="ignore"):
                return self.optimizer.init(probe, self.objective)
        except Exception as exc:
            self._stop(self._status == RUNNING, FAILED, _error_message(exc))
            return None

    def _evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E, ∇E and ‖∇E‖ at the rows of x (n, d): fresh arrays, no warnings.

        Same values as ``objective.value(x), objective.grad(x)``, but for a plain Objective the
        component functions are called directly: the generic path's coercion and stacking cost
        more than the function itself on a single point.
        """
        obj = self.objective
        with np.errstate(all="ignore"):
            if type(obj) is Objective:
                n, d = x.shape
                cols = (*x.T,)
                f = np.empty(n)
                g = np.empty((n, d))
                f[:] = obj.f(*cols)
                parts = obj.grad_components(*cols)
                if len(parts) != d:
                    raise ValueError(f"{obj.name}: ∇E has {len(parts)} components, expected {d}")
                for j, part in enumerate(parts):
                    g[:, j] = part
            else:
                f, g = obj.value(x), obj.grad(x)
            return f, g, _row_norms(g)

    def _hess(self, x: np.ndarray) -> np.ndarray:
        """The Hessian at x; NaN where the objective fails to provide one."""
        try:
            return self.objective.hess(x)
        except Exception:
            return np.full((x.shape[0], x.shape[1], x.shape[1]), np.nan)

    def _stop(self, rows: np.ndarray, status: int, message: str) -> None:
        rows = rows & (self._status == RUNNING)
        if not np.any(rows):
            return
        self._status[rows] = status
        for i in np.flatnonzero(rows)[:64]:  # a basin map needs no 65,536 messages
            self._messages[int(i)] = message
        self._messages_view = None

    def _check_converged(
        self,
        grad_norm: np.ndarray,
        rows: np.ndarray,
        no_move: np.ndarray | None = None,
        stalled: np.ndarray | None = None,
    ) -> None:
        small = grad_norm <= self.tol
        reasons = [
            (m, text)
            for m, text in (
                (no_move, "no coordinate moves any more"),
                (stalled, "no further progress: tiny steps, E no longer decreasing"),
            )
            if m is not None and m.any()
        ]
        if not small.any() and not reasons:
            return
        running = self._status == RUNNING
        done = rows & running & small
        for mask, text in reasons:
            early = mask & running & ~done
            for i in np.flatnonzero(early)[:64]:
                self._messages[int(i)] = (
                    text if "E no longer" in text else f"{text} (‖∇E‖ = {grad_norm[i]:.3g})"
                )
                self._messages_view = None
            done |= early
        if not done.any():
            return
        self._status[done] = CONVERGED
        # classify where ∇E ≈ 0; a standstill far from one (E = w, tiny η) is no stationary point
        near = grad_norm <= max(self.tol, 1e-6)
        if stalled is not None:
            near |= stalled & (grad_norm <= NEAR_STATIONARY)
        stationary = done & near
        if np.any(stationary):
            self._kind[stationary] = classify_hessian(self._hess(self._x[stationary]))
            self._kind_view = None

    def _record(self, step: np.ndarray, visible: Mapping[str, Any]) -> StepRecord:
        hess = self._hess(self._x) if self.record_hessian else None
        extra: dict[str, np.ndarray] = {k: np.array(v, copy=True) for k, v in visible.items()}
        if hess is not None:
            hess = np.where(np.isfinite(hess), hess, 0.0)
            lam, vecs = sym_eig(hess)
            extra["hess_eigvals"], extra["hess_eigvecs"] = lam, vecs
        if self._kind_view is None:
            self._kind_view = tuple(self._kind)
        if self._messages_view is None:
            self._messages_view = MappingProxyType(dict(self._messages))
        return StepRecord(
            iteration=self.iteration,
            x=self._x.copy(),
            f=self._f.copy(),
            grad=self._g.copy(),
            grad_norm=self._gn.copy(),
            status=self._status.copy(),
            step=step,
            kind=self._kind_view,
            messages=self._messages_view,
            visible=MappingProxyType(extra),
            hess=hess,
        )


def _row_max(a: np.ndarray) -> np.ndarray:
    """Largest entry of each row of an (n, d) array, for d = 1 or 2 without a reduction."""
    return a[:, 0] if a.shape[1] == 1 else np.maximum(a[:, 0], a[:, 1])


def _error_message(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"


def _all_rows(mask: np.ndarray) -> np.ndarray:
    """``mask.all(axis=1)`` for (n, d) with d ≤ 2, column by column: numpy's reduction along a
    short last axis is ~20× slower than an elementwise ``&`` (it dominated a 65,536-row step)."""
    out = mask[:, 0].copy()
    for j in range(1, mask.shape[1]):
        out &= mask[:, j]
    return out


def _any_rows(mask: np.ndarray) -> np.ndarray:
    """``mask.any(axis=1)`` column by column (see _all_rows)."""
    out = mask[:, 0].copy()
    for j in range(1, mask.shape[1]):
        out |= mask[:, j]
    return out


def _where_rows(rows: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Rows of ``new`` where ``rows`` is True, else rows of ``old``; a fresh (n, d) array.

    Column by column: np.where with an (n, 1) mask broadcast over (n, d) is several times slower.
    """
    out = np.empty_like(old)
    for j in range(old.shape[1]):
        out[:, j] = np.where(rows, new[:, j], old[:, j])
    return out


def _row_norms(g: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of g (n, d): the values of np.linalg.norm(g, axis=1), faster.

    Call under ``np.errstate(over="ignore")``; see _rescue_norms for rows whose squares overflow.
    """
    if g.shape[1] == 1:
        return np.abs(g[:, 0])
    sq = g[:, 0] * g[:, 0]
    for j in range(1, g.shape[1]):
        sq += g[:, j] * g[:, j]
    return np.sqrt(sq)


def _rescue_norms(g: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Recompute, by rescaling, the norms of finite rows of g whose squares overflowed to inf."""
    big = np.isinf(norms) & _all_rows(np.isfinite(g))
    if not big.any():
        return norms
    out = norms.copy()
    scale = np.max(np.abs(g[big]), axis=1, keepdims=True)
    out[big] = scale[:, 0] * np.sqrt(np.sum((g[big] / scale) ** 2, axis=1))
    return out


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

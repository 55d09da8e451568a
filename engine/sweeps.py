"""Batch work on many runs at once: basin-of-attraction maps and learning-rate sweeps.

Both drive :class:`engine.run.Run` on one batch (a basin map is N×N starts, a sweep is one start
with one η per row) and never touch Qt. ``progress(fraction)`` and ``cancel()`` callbacks are
always called on the caller's thread; ``cancel()`` returning True stops the work within a step
and raises :class:`Cancelled`.

Basin maps split the starts into chunks that run on up to two threads (numpy releases the GIL in
its loops); a chunk whose rows have all stopped costs nothing more, so easy regions finish early.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.analysis import QuadraticAnalysis, analyse_quadratic, regime
from engine.objective import Objective, as_batch, classify_hessian
from engine.optimizers import Optimizer, make_optimizer, optimizer_spec
from engine.palette import (
    DIVERGED_COLOR,
    NOT_CONVERGED_COLOR,
    UNRESOLVED_COLOR,
    attractor_color,
    hex_to_rgb,
)
from engine.run import CONVERGED, DEFAULT_TOL, DIVERGED, RUNNING, STATUS_NAMES, Run

# labels of starts that did not end at an attractor
NOT_CONVERGED = -1  # max_steps or failed
DIVERGED_LABEL = -2
UNRESOLVED = -3  # converged, but more distinct end points than MAX_ATTRACTORS

MIN_GRID, MAX_GRID = 2, 1024
MAX_STEPS = 100_000
MAX_ATTRACTORS = 64
MERGE_REL_TOL = 2e-3  # end points closer than this × the view size are one attractor
CHUNK = 16_384  # starts per Run: large enough to amortise Python overhead, small enough for cache
PROGRESS_EVERY = 5  # steps between progress/cancel calls when running on the caller's thread
POLL_SECONDS = 0.02  # how often the caller's thread checks on worker threads

ProgressFn = Callable[[float], Any]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """The caller's ``cancel()`` returned True; no result is produced."""


# -- basin maps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attractor:
    """A point that some starts converged to."""

    point: tuple[float, ...]
    kind: str  # minimum / saddle / maximum / degenerate, or "stalled" (stopped moving, ∇E ≠ 0)
    count: int  # number of starts that ended here
    name: str = ""  # the objective's label for a known stationary point, e.g. "global minimum"
    known: bool = False  # matched one of objective.stationary


@dataclass(frozen=True, eq=False)
class BasinMap:
    """Where each of N×N starts ended. Arrays are indexed [row = y, column = x], y ascending.

    ``labels``: index into ``attractors`` for converged starts, ``NOT_CONVERGED`` (-1) for
    max_steps or failed, ``DIVERGED_LABEL`` (-2), ``UNRESOLVED`` (-3, see MAX_ATTRACTORS).
    Starts sit at cell centres, so the image covers exactly x_range × y_range.
    """

    objective: str
    optimizer: str
    params: dict[str, Any]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    grid: int
    max_steps: int
    tol: float
    merge_tol: float
    xs: np.ndarray  # (N,) start x of each column
    ys: np.ndarray  # (N,) start y of each row
    final: np.ndarray  # (N, N, 2) end points
    status: np.ndarray  # (N, N) int8 index into engine.run.STATUS_NAMES
    iterations: np.ndarray  # (N, N) int32 updates taken before the start's run stopped
    labels: np.ndarray  # (N, N) int32
    attractors: tuple[Attractor, ...]
    seconds: float  # compute time (runs + labelling)

    def counts(self) -> dict[str, int]:
        """Starts per outcome: not_converged, diverged, unresolved (attractors have .count)."""
        return {
            "not_converged": int(np.count_nonzero(self.labels == NOT_CONVERGED)),
            "diverged": int(np.count_nonzero(self.labels == DIVERGED_LABEL)),
            "unresolved": int(np.count_nonzero(self.labels == UNRESOLVED)),
        }

    def status_counts(self) -> dict[str, int]:
        return {
            name: int(np.count_nonzero(self.status == code))
            for code, name in enumerate(STATUS_NAMES)
        }


def grid_points(lo: float, hi: float, n: int) -> np.ndarray:
    """Centres of n equal cells covering [lo, hi]."""
    return lo + (np.arange(n) + 0.5) * ((hi - lo) / n)


def basin_map(
    objective: Objective,
    optimizer: Optimizer | str,
    x_range: Sequence[float],
    y_range: Sequence[float],
    grid: int = 256,
    steps: int = 100,
    tol: float = DEFAULT_TOL,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    merge_tol: float | None = None,
    workers: int | None = None,
) -> BasinMap:
    """Run ``optimizer`` from every cell centre of a grid×grid map and label where each ended.

    ``merge_tol`` (default 2e-3 × the larger side of the view): converged end points closer than
    this are one attractor, and an end point this close to a known stationary point of the
    objective is that point. ``workers``: threads (default: up to 2).
    """
    t0 = time.perf_counter()
    if objective.dim != 2:
        raise ValueError(
            f"a basin map needs a function of two variables ({objective.title} is 1-D)"
        )
    xr = _check_range("x_range", x_range)
    yr = _check_range("y_range", y_range)
    grid = _check_int("grid", grid, MIN_GRID, MAX_GRID)
    steps = _check_int("steps", steps, 1, MAX_STEPS)
    tol = _check_tol(tol)
    opt = make_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    if opt.rows() is not None:
        raise ValueError("a basin map needs scalar optimizer parameters (one value for all starts)")
    view = max(xr[1] - xr[0], yr[1] - yr[0])
    merge = MERGE_REL_TOL * view if merge_tol is None else float(merge_tol)
    if not (math.isfinite(merge) and merge > 0):
        raise ValueError(f"merge_tol must be a finite number > 0 (got {merge_tol!r})")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, int(workers))

    xs = grid_points(xr[0], xr[1], grid)
    ys = grid_points(yr[0], yr[1], grid)
    xx, yy = np.meshgrid(xs, ys)
    starts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    batch = _run_batch(objective, opt, starts, steps, tol, progress, cancel, workers)
    labels, attractors = _label_end_points(
        objective, batch.x, batch.status, batch.kind, batch.grad_norm, tol, merge
    )
    shape = (grid, grid)
    result = BasinMap(
        objective=objective.expression or objective.name,
        optimizer=opt.name,
        params={k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in opt.params.items()},
        x_range=xr,
        y_range=yr,
        grid=grid,
        max_steps=steps,
        tol=tol,
        merge_tol=merge,
        xs=xs,
        ys=ys,
        final=batch.x.reshape(grid, grid, 2),
        status=batch.status.reshape(shape),
        iterations=batch.iterations.reshape(shape),
        labels=labels.reshape(shape),
        attractors=attractors,
        seconds=time.perf_counter() - t0,
    )
    if progress is not None:
        progress(1.0)
    return result


@dataclass
class _Batch:
    x: np.ndarray
    status: np.ndarray
    iterations: np.ndarray
    grad_norm: np.ndarray
    kind: np.ndarray


def _run_batch(
    objective: Objective,
    opt: Optimizer,
    starts: np.ndarray,
    steps: int,
    tol: float,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
    workers: int,
) -> _Batch:
    """Run all starts in chunks (on worker threads when workers > 1) and gather the end state."""
    n, d = starts.shape
    bounds = [(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]
    out = _Batch(
        x=np.empty((n, d)),
        status=np.empty(n, np.int8),
        iterations=np.zeros(n, np.int32),
        grad_norm=np.empty(n),
        kind=np.empty(n, dtype=object),
    )
    done_steps = [0] * len(bounds)
    stop = threading.Event()

    def fraction() -> float:
        return sum(done_steps) / (steps * len(bounds))

    def poll() -> None:  # caller's thread only
        if cancel is not None and cancel():
            stop.set()
            raise Cancelled("basin map cancelled")
        if progress is not None:
            progress(min(fraction(), 0.999))

    def work(j: int, inline: bool) -> None:
        lo, hi = bounds[j]
        run = Run(objective, opt, starts[lo:hi], max_steps=steps, tol=tol)
        rec = run.first
        running = rec.status == RUNNING
        iterations = out.iterations[lo:hi]
        while not run.done:
            if stop.is_set():
                return
            rec = run.step()
            now = rec.status == RUNNING
            iterations[running & ~now] = run.iteration
            running = now
            done_steps[j] = run.iteration
            if inline and run.iteration % PROGRESS_EVERY == 0:
                poll()
        done_steps[j] = steps
        out.x[lo:hi] = rec.x
        out.status[lo:hi] = rec.status
        out.grad_norm[lo:hi] = rec.grad_norm
        out.kind[lo:hi] = rec.kind

    if workers == 1 or len(bounds) == 1:
        for j in range(len(bounds)):
            poll()
            work(j, inline=True)
        return out
    with ThreadPoolExecutor(max_workers=min(workers, len(bounds))) as pool:
        futures = [pool.submit(work, j, False) for j in range(len(bounds))]
        try:
            pending = set(futures)
            while pending:
                poll()
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()  # re-raise a worker's exception here
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
    return out


def _label_end_points(
    objective: Objective,
    final: np.ndarray,
    status: np.ndarray,
    kinds: np.ndarray,
    grad_norm: np.ndarray,
    tol: float,
    merge: float,
) -> tuple[np.ndarray, tuple[Attractor, ...]]:
    """Cluster converged end points into attractors; label every start (see BasinMap)."""
    n, d = final.shape
    labels = np.full(n, NOT_CONVERGED, np.int32)
    labels[status == DIVERGED] = DIVERGED_LABEL
    remaining = np.flatnonzero(status == CONVERGED)
    # (sort key, member rows, attractor without its count)
    groups: list[tuple[tuple[int, int], np.ndarray, Attractor]] = []

    for k, sp in enumerate(objective.stationary):
        point = np.asarray(sp.point, float)
        if remaining.size == 0:
            break
        if point.shape != (d,) or not np.all(np.isfinite(point)):
            continue
        near = np.linalg.norm(final[remaining] - point, axis=1) <= merge
        if np.any(near):
            groups.append(
                (
                    (0, k),
                    remaining[near],
                    Attractor(tuple(map(float, point)), sp.kind, 0, sp.label, True),
                )
            )
            remaining = remaining[~near]

    if remaining.size:
        # quantise to cells of half the merge distance, then grow clusters greedily from the
        # most crowded cells; each cluster takes every unclaimed cell within ``merge`` of its seed
        pts = final[remaining]
        cells = np.floor(pts / (0.5 * merge)).astype(np.int64)
        _, first, inverse, counts = np.unique(
            cells, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = np.ravel(inverse)
        reps = pts[first]
        cell_cluster = np.full(len(first), -1, np.int64)
        seeds: list[int] = []
        for idx in np.argsort(-counts, kind="stable"):
            if cell_cluster[idx] >= 0:
                continue
            if len(groups) + len(seeds) >= MAX_ATTRACTORS:
                break
            claim = (cell_cluster < 0) & (np.linalg.norm(reps - reps[idx], axis=1) <= merge)
            cell_cluster[claim] = len(seeds)
            seeds.append(int(idx))
        row_cluster = cell_cluster[inverse]
        labels[remaining[row_cluster < 0]] = UNRESOLVED
        for c, seed in enumerate(seeds):
            members = remaining[row_cluster == c]
            rep_row = remaining[first[seed]]
            point = final[rep_row]
            kind = kinds[rep_row] or ""
            if not kind:
                if grad_norm[rep_row] <= max(tol, 1e-6):
                    kind = str(classify_hessian(objective.hess(point[None, :]))[0])
                else:
                    kind = "stalled"
            groups.append(
                ((1, -len(members)), members, Attractor(tuple(map(float, point)), kind, 0))
            )

    groups.sort(key=lambda g: g[0])
    attractors = []
    for i, (_, members, att) in enumerate(groups):
        labels[members] = i
        attractors.append(Attractor(att.point, att.kind, int(members.size), att.name, att.known))
    return labels, tuple(attractors)


def basin_image(basin: BasinMap, shade: bool = True) -> np.ndarray:
    """RGBA image (N, N, 4) uint8, rows as in the map (row 0 = lowest y; flip for a y-up PNG).

    One palette colour per attractor (engine.palette), grey for not converged, black for
    diverged; with ``shade`` an attractor's colour darkens (to 45 %) with the updates taken.
    """
    labels = basin.labels
    img = np.empty((*labels.shape, 4), np.uint8)
    img[..., 3] = 255
    img[..., :3] = hex_to_rgb(NOT_CONVERGED_COLOR)
    img[labels == DIVERGED_LABEL, :3] = hex_to_rgb(DIVERGED_COLOR)
    img[labels == UNRESOLVED, :3] = hex_to_rgb(UNRESOLVED_COLOR)
    if not basin.attractors:
        return img
    table = np.array([hex_to_rgb(attractor_color(i)) for i in range(len(basin.attractors))], float)
    hit = labels >= 0
    rgb = table[labels[hit]]
    if shade:
        its = basin.iterations[hit].astype(float)
        top = float(its.max()) if its.size else 0.0
        if top > 0:
            rgb *= (1.0 - 0.55 * np.log1p(its) / math.log1p(top))[:, None]
    img[hit, :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return img


# -- learning-rate sweeps -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LrSweep:
    """One run per η from the same start. ``final_loss`` is +inf where the run diverged."""

    optimizer: str
    lrs: np.ndarray  # (m,)
    start: np.ndarray  # (d,)
    initial_loss: float
    final_loss: np.ndarray  # (m,)
    final_x: np.ndarray  # (m, d) last finite iterate
    status: tuple[str, ...]
    iterations: np.ndarray  # (m,) updates taken
    steps_to_converge: tuple[int | None, ...]
    max_steps: int
    # for a quadratic objective (constant Hessian), else None:
    eta_opt: float | None = None  # 1/λmax = min_i η_opt,i (inf -> None: no minimum)
    eta_limit: float | None = None  # 2·η_opt: GD diverges above it
    analysis: QuadraticAnalysis | None = None  # at lrs[0]; the η-independent parts are what count
    regimes: tuple[str, ...] | None = None  # plain GD on a quadratic: engine.analysis.REGIMES


def log_spaced_lrs(lo: float, hi: float, count: int = 240) -> np.ndarray:
    """``count`` learning rates from lo to hi, evenly spaced on a log scale."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"need finite 0 < lo < hi (got lo={lo:g}, hi={hi:g})")
    count = _check_int("count", count, 2, 100_000)
    return np.geomspace(lo, hi, count)


def quadratic_hessian(
    objective: Objective, around: Any = None, rel_tol: float = 1e-9
) -> np.ndarray | None:
    """The Hessian if it is the same everywhere we look (so E is quadratic), else None."""
    probes = [
        np.array([lo for lo, _ in objective.domain]),
        np.array([hi for _, hi in objective.domain]),
    ]
    probes.append(0.5 * (probes[0] + probes[1]))
    probes.append(np.array([0.3 * lo + 0.7 * hi for lo, hi in objective.domain]))
    if around is not None:
        probes.append(as_batch(around, objective.dim)[0])
    h = objective.hess(np.stack(probes))
    if not np.all(np.isfinite(h)):
        return None
    scale = max(1.0, float(np.max(np.abs(h))))
    if np.max(np.abs(h - h[0])) > rel_tol * scale:
        return None
    return h[0]


def lr_sweep(
    objective: Objective,
    optimizer_name: str,
    start: Any,
    lrs: Any,
    steps: int,
    params: dict[str, Any] | None = None,
    tol: float = DEFAULT_TOL,
    cancel: CancelFn | None = None,
) -> LrSweep:
    """Run ``optimizer_name`` from ``start`` once per η in ``lrs`` (one batch, per-row lr)."""
    params = dict(params or {})
    spec = optimizer_spec(optimizer_name)
    if "lr" not in {p.name for p in spec.params}:
        raise ValueError(f"{optimizer_name} has no learning rate lr to sweep")
    if "lr" in params:
        raise ValueError("lr is what the sweep varies; do not pass it in params")
    lr_arr = np.asarray(lrs, float)
    if lr_arr.ndim != 1 or lr_arr.size == 0:
        raise ValueError("lrs must be a non-empty 1-D sequence of numbers")
    steps = _check_int("steps", steps, 1, MAX_STEPS)
    tol = _check_tol(tol)
    start_row = as_batch(start, objective.dim)
    if start_row.shape[0] != 1:
        raise ValueError("lr_sweep takes exactly one start point")
    opt = make_optimizer(optimizer_name, lr=lr_arr, **params)
    if not spec.batched:
        raise ValueError(f"{optimizer_name} cannot take one learning rate per row")

    run = Run(objective, opt, start_row, max_steps=steps, tol=tol)
    rec = run.first
    initial_loss = float(rec.f[0])
    m = lr_arr.size
    running = rec.status == RUNNING
    iterations = np.zeros(m, np.int32)
    while not run.done:
        if cancel is not None and cancel():
            raise Cancelled("learning-rate sweep cancelled")
        rec = run.step()
        now = rec.status == RUNNING
        iterations[running & ~now] = run.iteration
        running = now
    status = tuple(STATUS_NAMES[int(s)] for s in rec.status)
    final_loss = np.where(rec.status == DIVERGED, np.inf, rec.f)
    to_converge = tuple(
        int(iterations[i]) if rec.status[i] == CONVERGED else None for i in range(m)
    )

    eta_opt = eta_limit = None
    analysis = None
    regimes = None
    h = quadratic_hessian(objective, start_row)
    if h is not None:
        analysis = analyse_quadratic(h, float(lr_arr[0]))
        lam_max = max(dr.eigenvalue for dr in analysis.directions)
        if lam_max > 0:
            eta_opt = 1.0 / lam_max
            eta_limit = 2.0 * eta_opt
        if optimizer_name == "gd" and opt.params["schedule"] == "constant":
            lams = [dr.eigenvalue for dr in analysis.directions]
            regimes = tuple(_overall_regime(float(lr), lams) for lr in lr_arr)
    return LrSweep(
        optimizer=optimizer_name,
        lrs=lr_arr.copy(),
        start=start_row[0].copy(),
        initial_loss=initial_loss,
        final_loss=final_loss,
        final_x=rec.x.copy(),
        status=status,
        iterations=iterations,
        steps_to_converge=to_converge,
        max_steps=steps,
        eta_opt=eta_opt,
        eta_limit=eta_limit,
        analysis=analysis,
        regimes=regimes,
    )


def _overall_regime(lr: float, eigenvalues: Sequence[float]) -> str:
    """GD on a quadratic: divergent if any direction diverges, else the stiffest direction's."""
    kinds = [regime(lr, lam) for lam in eigenvalues]
    if "divergent" in kinds:
        return "divergent"
    return regime(lr, max(eigenvalues))


# -- argument checks ----------------------------------------------------------------------------


def _check_range(name: str, value: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (lo, hi), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with lo < hi (got {lo:g}, {hi:g})")
    return lo, hi


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number (got {value!r})")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi:,} (got {value})")
    return int(value)


def _check_tol(tol: float) -> float:
    tol = float(tol)
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number ≥ 0 (got {tol:g})")
    return tol

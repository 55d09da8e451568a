"""Engine speed: single-run steps per second and 256×256-start batch times, each against its goal.

Run from the repository root as ``python bench/engine.py`` or ``python -m bench.engine``.
Goals (design: the GUI steps one racer per frame and draws basin maps of 65,536 starts):

- single run, GD on Rosenbrock: ≥ 30,000 steps/s (a Run with n = 1, stepped 20,000 times)
- batch, 256×256 starts × 100 steps on Himmelblau: ≤ 1 s each for gd, newton and rprop

Every figure is the best of a few repeats (the least disturbed by other processes).
Exit code 0; with ``--strict``, 1 when a goal is missed.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: bench/ is sys.path[0] and this file is "engine"
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.objectives import get_objective, objective_names
from engine.optimizers import make_optimizer
from engine.run import STATUS_NAMES, Run

SINGLE_STEPS = 20_000
SINGLE_GOAL = 30_000.0  # steps/s, GD
BATCH_SIDE = 256
BATCH_STEPS = 100
BATCH_GOAL = 1.0  # seconds per optimizer
REPEATS = 3

# GD on Rosenbrock from (−1.2, 1) needs η ≈ 1e-4 to stay stable; Newton with η = 1 converges in
# six steps, so the single-run figure uses a short step (η = 1e-3) that keeps it running (tol = 0).
SINGLE_CASES = (("gd", {"lr": 1e-4}, SINGLE_GOAL), ("newton", {"lr": 1e-3}, None))
# GD's default η = 0.1 blows up within a few steps on most of Himmelblau's [−5, 5]² (the stopped
# rows then cost nothing); η = 0.01 converges there, row by row, over the 100 steps.
BATCH_CASES = (("gd", {"lr": 0.01}), ("newton", {}), ("rprop", {}))


@dataclass(frozen=True)
class Figure:
    label: str
    value: float
    unit: str
    goal: float | None
    higher_is_better: bool
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def line(self) -> str:
        if self.unit == "steps/s":
            shown = f"{self.value:>10,.0f} {self.unit}"
            goal = f"goal ≥ {self.goal:,.0f}" if self.goal is not None else "no goal"
        else:
            shown = f"{self.value:>10.3f} {self.unit}"
            goal = f"goal ≤ {self.goal:g} {self.unit}" if self.goal is not None else "no goal"
        verdict = {True: "PASS", False: "MISS", None: "info"}[self.passed]
        text = f"{self.label:<48s} {shown:<18s} ({goal:<16s}) {verdict}"
        return f"{text}  [{self.note}]" if self.note else text


def best_of(repeats: int, fn: Callable[[], tuple[float, str]]) -> tuple[float, str]:
    """Run ``fn`` (returning seconds, note) several times; keep the fastest."""
    results = [fn() for _ in range(repeats)]
    return min(results, key=lambda r: r[0])


def single_run(name: str, params: dict, steps: int = SINGLE_STEPS) -> tuple[float, str]:
    objective = get_objective("rosenbrock")
    optimizer = make_optimizer(name, **params)
    run = Run(objective, optimizer, [(-1.2, 1.0)], max_steps=10 * steps, tol=0.0)
    restarts = 0
    start = time.perf_counter()
    for _ in range(steps):
        if run.done:  # never expected with these settings; keep counting honest steps
            restarts += 1
            run = Run(objective, optimizer, [(-1.2, 1.0)], max_steps=10 * steps, tol=0.0)
        run.step()
    elapsed = time.perf_counter() - start
    return elapsed, f"{restarts} restarts" if restarts else ""


def batch_starts(objective_name: str, side: int = BATCH_SIDE) -> np.ndarray:
    (x0, x1), (y0, y1) = get_objective(objective_name).domain
    xs = np.linspace(x0, x1, side)
    ys = np.linspace(y0, y1, side)
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])


def batch_run(objective_name: str, name: str, params: dict) -> tuple[float, str]:
    objective = get_objective(objective_name)
    starts = batch_starts(objective_name)
    start = time.perf_counter()
    run = Run(objective, make_optimizer(name, **params), starts, max_steps=BATCH_STEPS)
    for _ in range(BATCH_STEPS):
        run.step()
    elapsed = time.perf_counter() - start
    counts = np.bincount(run.step().status, minlength=len(STATUS_NAMES))
    note = ", ".join(f"{int(c)} {STATUS_NAMES[i]}" for i, c in enumerate(counts) if c)
    return elapsed, note


def measure(repeats: int = REPEATS) -> list[Figure]:
    figures = []
    for name, params, goal in SINGLE_CASES:
        seconds, note = best_of(repeats, lambda n=name, p=params: single_run(n, p))
        settings = ", ".join(f"{k}={v:g}" for k, v in params.items())
        figures.append(
            Figure(
                f"single run, {name} ({settings}) on rosenbrock",
                SINGLE_STEPS / seconds,
                "steps/s",
                goal,
                higher_is_better=True,
                note=note,
            )
        )
    objective_name = "himmelblau"
    fallback = ""
    if objective_name not in objective_names():
        objective_name, fallback = "rosenbrock", "himmelblau not registered: rosenbrock instead"
    for name, params in BATCH_CASES:
        seconds, note = best_of(repeats, lambda n=name, p=params: batch_run(objective_name, n, p))
        settings = ", ".join(f"{k}={v:g}" for k, v in params.items()) or "defaults"
        figures.append(
            Figure(
                f"batch {BATCH_SIDE}×{BATCH_SIDE} × {BATCH_STEPS} steps, {name} ({settings})",
                seconds,
                "s",
                BATCH_GOAL,
                higher_is_better=False,
                note="; ".join(p for p in (f"on {objective_name}", note, fallback) if p),
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="keep the best of N runs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    figures = measure(max(1, args.repeats))
    for fig in figures:
        print(fig.line())
    missed = [f.label for f in figures if f.passed is False]
    print("all goals met" if not missed else f"MISSED: {'; '.join(missed)}")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

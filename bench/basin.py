"""Benchmark: a 256×256 basin map, ≤ 100 Newton steps on Himmelblau. Goal: ≤ 1 s of compute.

    python bench/basin.py

Also prints the single-thread time, a worst case in which no start stops early (every start
takes all 100 steps), and the cost of one Run.step on 65,536 rows for comparison.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from engine.sweeps import basin_image, basin_map

GOAL_SECONDS = 1.0
GRID, STEPS, REPEATS = 256, 100, 3


def timed(objective, optimizer, workers=None) -> tuple[float, float, object]:
    """(first run, best of REPEATS) compute seconds, and the last map."""
    times = []
    basin = None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        basin = basin_map(
            objective, optimizer, (-5, 5), (-5, 5), grid=GRID, steps=STEPS, workers=workers
        )
        times.append(time.perf_counter() - t0)
    return times[0], min(times), basin


def main() -> int:
    himmelblau = get_objective("himmelblau")
    newton = make_optimizer("newton")
    print(
        f"basin map {GRID}×{GRID} = {GRID * GRID:,} starts, ≤ {STEPS} steps, "
        f"{os.cpu_count()} CPU(s), numpy {np.__version__}"
    )

    first, best, basin = timed(himmelblau, newton)
    minima = sum(1 for a in basin.attractors if a.kind == "minimum")
    its = basin.iterations
    verdict = "OK" if best <= GOAL_SECONDS else "TOO SLOW"
    print(
        f"  newton on himmelblau:        {best:.3f} s best of {REPEATS} (first {first:.3f} s)"
        f"  goal ≤ {GOAL_SECONDS:g} s: {verdict}"
    )
    print(
        f"    {len(basin.attractors)} attractors ({minima} minima), steps per start: "
        f"median {int(np.median(its))}, max {int(its.max())}; counts {basin.counts()}"
    )
    t0 = time.perf_counter()
    basin_image(basin)
    print(f"    basin_image: {time.perf_counter() - t0:.3f} s")

    _, best1, _ = timed(himmelblau, newton, workers=1)
    print(f"  same, one thread:            {best1:.3f} s best of {REPEATS}")

    slow = make_optimizer("gd", lr=1e-4)  # nothing converges within 100 steps
    _, best_slow, b = timed(himmelblau, slow)
    print(
        f"  gd lr=1e-4 (all {STEPS} steps): {best_slow:.3f} s best of {REPEATS}"
        f"  ({b.status_counts()['max_steps']:,} starts at max_steps)"
    )

    # the per-step cost of Run itself on one batch of 65,536 rows
    xs = np.linspace(-5, 5, GRID)
    xx, yy = np.meshgrid(xs, xs)
    run = Run(himmelblau, newton, np.stack([xx.ravel(), yy.ravel()], 1), max_steps=10)
    t0 = time.perf_counter()
    for _ in range(10):
        run.step()
    per_step = (time.perf_counter() - t0) / 10
    print(f"  Run.step, newton, 65,536 rows in one Run: {per_step * 1e3:.1f} ms per step")
    return 0 if best <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Frame-time benchmark: draw cost of the default 512² scene with 4 and 8 racers after 5,000 steps
(all still moving: every racer has a new step in every frame).

Prints median/p95/p99 of one frame of a running race (controller redraw + canvas and loss-plot
repaint, offscreen; the race's worker is paused and the engine's records are fed by hand),
the same scene redrawn by matplotlib (dev-only comparison) as a ratio, the time from process start
to the first painted window, and the surface switch time at 512².

    QT_QPA_PLATFORM=offscreen python bench/frame.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = 5000
FRAMES = 300
# eight first-order racers with small steps: every one is still moving after 5,000 + FRAMES steps,
# so every racer shows a new record on every frame (the worst case: no path is ever settled whole)
RUNNING_RACERS = [
    ("gd", {"lr": 2e-5}),
    ("momentum", {"lr": 2e-6}),
    ("rprop", {"step_max": 0.0002}),
    ("adam", {"lr": 2e-4}),
    ("adagrad", {"lr": 0.005}),
    ("rmsprop", {"lr": 5e-5}),
    ("nesterov", {"lr": 2e-6}),
    ("gd", {"lr": 1e-5}),
]
RACER_SETS = {4: RUNNING_RACERS[:4], 8: RUNNING_RACERS}
STARTS = [
    (-4.5, 4.2),
    (4.6, 4.4),
    (-4.4, -1.0),
    (0.2, -4.6),
    (4.5, -4.5),
    (-1.0, 4.8),
    (1.0, 0.0),
    (-4.8, -4.8),
]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    arr = np.array(samples) * 1000
    return float(np.median(arr)), float(np.percentile(arr, 95)), float(np.percentile(arr, 99))


def precompute(count: int):
    """Real engine records for each racer: STEPS + FRAMES steps, all still running."""
    from engine.objectives import get_objective
    from engine.optimizers import make_optimizer
    from engine.run import Run

    objective = get_objective("himmelblau")
    out = []
    for (name, params), start in zip(RACER_SETS[count], STARTS, strict=False):
        run = Run(
            objective,
            make_optimizer(name, **params),
            start,
            max_steps=STEPS + FRAMES + 1,  # still running in the last frame
            record_hessian=True,
        )
        out.append((name, params, [run.first, *run]))
    return objective, out


def bench_qt(count: int, overlays: bool = False) -> tuple[list[float], object]:
    from PySide6.QtWidgets import QApplication

    from gui.history import RacerHistory
    from gui.main_window import MainWindow
    from gui.racers import make_racer
    from gui.theme import color_for

    app = QApplication.instance() or QApplication([])
    objective, runs = precompute(count)
    win = MainWindow()
    win.resize(1400, 860)
    win.show()
    while win.canvas.surface is None:
        app.processEvents()
    racers = [make_racer(n, color_for(n, i), **p) for i, (n, p, _) in enumerate(runs)]
    win.racers_panel.set_racers(racers)
    win.race.pause()
    win.race.frame_timer.stop()
    hist = {}
    for racer, (_, _, recs) in zip(racers, runs, strict=True):
        h = RacerHistory(2)
        h.extend(tuple(recs[: STEPS + 1]))
        hist[racer.racer_id] = (h, recs)
    win.race.histories = {rid: h for rid, (h, _) in hist.items()}
    # the frames of a running race: its worker is paused (the records are fed by hand below),
    # but what is drawn is drawn as while racing (readouts and label texts at 10 Hz)
    win.race.playing = True
    # and at 60 frames a second, as the race's frame timer draws them: the overlays pace their
    # label texts by time (10 Hz), and frames timed back to back would be ~3x closer together
    clock = [0.0]
    win.overlays.pace.clock = lambda: clock[0]
    if overlays:
        from engine.scenario import OVERLAYS

        for name in OVERLAYS:
            win.overlays.set_enabled(name, True)
    times = []
    for frame in range(FRAMES):
        clock[0] += 1 / 60
        for h, recs in hist.values():
            k = STEPS + 1 + frame
            if k < len(recs):
                h.extend((recs[k],))
        t0 = time.perf_counter()
        win.race._dirty = True
        win.race.draw_frame()  # emits frameDrawn: the overlays redraw too
        win.canvas.viewport().repaint()
        win.loss_plot.viewport().repaint()
        times.append(time.perf_counter() - t0)
    trails = [len(h.positions()) for h, _ in hist.values()]
    win.close()
    return times, (objective, runs, trails)


def bench_matplotlib(objective, runs, frames: int = 30) -> list[float] | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from gui.surface import compute_surface

    surface = compute_surface(objective, (-5, 5), (-5, 5), 512)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(14, 8.6), dpi=100)
    times = []
    for frame in range(frames):
        t0 = time.perf_counter()
        ax.clear()
        ax_loss.clear()
        ax.imshow(surface.display, extent=(-5, 5, -5, 5), origin="lower", cmap="viridis")
        for _, xs, ys in surface.contours:
            ax.plot(xs, ys, color="white", lw=0.7, alpha=0.3)
        for _, _, recs in runs:
            upto = min(len(recs), STEPS + 1 + frame)
            pts = np.array([r.x[0] for r in recs[:upto]])
            ax.plot(pts[:, 0], pts[:, 1], lw=2)
            ax_loss.semilogy([r.f[0] for r in recs[:upto]])
        fig.canvas.draw()
        times.append(time.perf_counter() - t0)
    plt.close(fig)
    return times


def startup_time() -> float:
    """Process start to first painted main window (median of 3 fresh processes)."""
    samples = []
    for _ in range(3):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "--startup-time"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        painted = float(out.stdout.strip().splitlines()[-1])
        samples.append(painted - t0)
    return float(np.median(samples))


def settle_startup(app, win, timeout: float = 20.0) -> None:
    """Wait for the steady state: after the start-up job that reads the lessons (their
    expressions import sympy on a background thread, about a second that the GUI shares the
    interpreter with)."""
    end = time.perf_counter() + timeout
    while not win.lesson_panel.lessons and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def surface_switch_time() -> list[float]:
    from PySide6.QtWidgets import QApplication

    from engine.scenario import ObjectiveSpec
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    win = MainWindow()
    win.show()
    settle_startup(app, win)
    times = []
    for name in [
        "rosenbrock",
        "himmelblau",
        "beale",
        "rastrigin",
        "ackley",
        "goldstein_price",
        "six_hump_camel",
        "booth",
    ] * 4:  # 32 switches: a p95 from 16 would be the second-slowest of them
        spec = ObjectiveSpec("builtin", name)
        t0 = time.perf_counter()
        win.scenes.request_objective(spec)
        target = win.race.surface_generation
        while win.canvas.surface is None or win.canvas.surface.generation != target:
            app.processEvents()
        win.canvas.viewport().repaint()
        times.append(time.perf_counter() - t0)
    win.close()
    return times


def main() -> None:
    print(f"DescentLab frame benchmark ({os.cpu_count()} cores, offscreen)")
    for count in (4, 8):
        times, (objective, runs, trails) = bench_qt(count)
        med, p95, p99 = percentiles(times)
        print(
            f"  {count} racers, trails {min(trails)}–{max(trails)} points: frame median "
            f"{med:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms"
            + ("   (goal p95 ≤ 10 ms, p99 ≤ 16.7 ms)" if count == 8 else "")
        )
        if count == 8:
            mpl = bench_matplotlib(objective, runs)
            if mpl is None:
                print("  matplotlib not installed (pip install matplotlib): no comparison")
            else:
                mpl_med = float(np.median(mpl)) * 1000
                print(
                    f"  matplotlib redraw of the same scene: median {mpl_med:.1f} ms -> "
                    f"DescentLab is {mpl_med / med:.1f}x faster (goal ≥ 5x)"
                )
    print(f"  first painted window: {startup_time():.3f} s (goal ≤ 0.7 s)")
    med, p95, _ = percentiles(surface_switch_time())
    print(f"  surface switch at 512²: median {med:.1f} ms, p95 {p95:.1f} ms (goal ≤ 50 ms)")


if __name__ == "__main__":
    main()

"""Memory and frame time over a long live race: 8 racers on Rosenbrock, as fast as possible.

Every ``--every`` steps the race is paused and the table gets a row: process RSS (after a garbage
collection), the cost of a usual frame (draw_frame + repaint of canvas and loss plot, the settled
parts cached) and of a full redraw (every SETTLE_BLOCK steps: trails thinned again, loss curves
re-sent; split into canvas and loss plot), the median live frame while the worker ran, and the
worker's speed. The tests (tests/gui/test_stress.py) assert on the same figures for a shorter run.

    QT_QPA_PLATFORM=offscreen python bench/memory.py                  (100,000 steps)
    QT_QPA_PLATFORM=offscreen python bench/memory.py --steps 20000 --every 5000
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# On Rosenbrock from (-1.5, 2.5) none of these stops within 100,000 steps
RACERS = (
    ("gd", {"lr": 1e-5}),
    ("gd", {"lr": 3e-6}),
    ("momentum", {"lr": 1e-6}),
    ("nesterov", {"lr": 1e-6}),
    ("adam", {"lr": 2e-5}),
    ("rmsprop", {"lr": 1e-5}),
    ("adagrad", {"lr": 1e-3}),
    ("rprop", {"step0": 2e-5, "step_max": 2e-5}),
)
COLORS = ("#ff5a5f", "#ffffff", "#00e5ff", "#ffd166", "#06d6a0", "#ef476f", "#8338ec", "#f77f00")
START = (-1.5, 2.5)


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def wait_until(condition, timeout_s: float) -> None:
    """Run the event loop until ``condition()`` holds (polled every 20 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s

    def check() -> None:
        if condition() or time.perf_counter() > deadline:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    check()
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError(f"gave up after {timeout_s:.0f} s")


class Bench:
    def __init__(self, steps: int) -> None:
        from PySide6.QtWidgets import QApplication

        from gui.main_window import MainWindow
        from gui.racers import make_racer

        self.app = QApplication.instance() or QApplication([])
        win = self.win = MainWindow()
        win.resize(1400, 860)
        win.show()
        wait_until(lambda: win.canvas.surface is not None, 30)
        choice = win.function_panel.choice
        choice.setCurrentIndex(choice.findData("rosenbrock"))
        race = win.race
        wait_until(lambda: win.canvas.surface.generation == race.surface_generation, 30)
        win.racers_panel.set_racers(
            [make_racer(n, c, **p) for (n, p), c in zip(RACERS, COLORS, strict=True)]
        )
        win.transport.set_speed(0)
        win.transport.max_steps.setValue(steps)
        # time every frame the race draws while it runs
        self.live: list[tuple[int, float]] = []
        race.frame_timer.timeout.disconnect(race.draw_frame)
        race.frame_timer.timeout.connect(self._live_frame)

    def iteration(self) -> int:
        return min((h.latest_iteration for h in self.win.race.histories.values()), default=0)

    def _frame(self) -> tuple[float, float]:
        win = self.win
        t0 = time.perf_counter()
        win.race.draw_frame()
        win.canvas.viewport().repaint()
        t1 = time.perf_counter()
        win.loss_plot.viewport().repaint()
        return t1 - t0, time.perf_counter() - t1

    def _live_frame(self) -> None:
        if self.win.race._dirty:
            canvas, loss = self._frame()
            self.live.append((self.iteration(), canvas + loss))

    def paused_frames(self) -> tuple[float, float, float]:
        """ms: usual frame, full redraw (canvas part, loss-plot part); fastest of 9 / 3."""
        race = self.win.race
        steady, canvas, loss = [], [], []
        for i in range(12):
            if i >= 9:
                for trail in self.win.canvas.trails.values():
                    trail.settled_key = None
                for curve in self.win.loss_plot.curves.values():
                    curve.key = None
            race._dirty = True
            c, lo = self._frame()
            if i >= 9:
                canvas.append(c)
                loss.append(lo)
            else:
                steady.append(c + lo)
        return 1000 * min(steady), 1000 * min(canvas), 1000 * min(loss)

    def run(self, steps: int, every: int) -> None:
        race = self.win.race
        print(
            f"{len(RACERS)} racers on Rosenbrock from {START}, {steps} steps, "
            f"a row every {every} steps"
        )
        print(
            f"{'step':>7} {'RSS MB':>7} {'frame ms':>9} {'full: canvas':>13} {'+ loss':>7} "
            f"{'live ms':>8} {'steps/s':>8} {'records':>8}"
        )
        print(f"{0:>7} {rss_mb():>7.0f}")
        race.start_at(START, play=True)
        last_k, running = 0, 0.0
        for checkpoint in range(every, steps + 1, every):
            t0 = time.perf_counter()
            wait_until(
                lambda c=checkpoint: len(race.histories) == len(RACERS) and self.iteration() >= c,
                3600,
            )
            running = time.perf_counter() - t0
            race.pause()
            wait_until(lambda: not race.playing, 30)
            time.sleep(0.05)
            self.app.processEvents()
            k = self.iteration()
            steady, canvas, loss = self.paused_frames()
            live = [t for i, t in self.live if last_k <= i < k]
            records = max(len(h._records) for h in race.histories.values())
            print(
                f"{k:>7} {rss_mb():>7.0f} {steady:>9.1f} {canvas:>13.1f} {loss:>7.1f} "
                f"{1000 * float(np.median(live)) if live else float('nan'):>8.0f} "
                f"{(k - last_k) / running:>8.0f} {records:>8}",
                flush=True,
            )
            last_k = k
            if checkpoint < steps:
                race.play()

    def close(self) -> None:
        self.win.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args(argv)
    bench = Bench(args.steps)
    try:
        bench.run(args.steps, args.every)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

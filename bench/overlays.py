"""Overlay cost benchmark: what the six teaching overlays add to one frame.

8 racers on the default 512² Himmelblau surface with 5,000-step histories from real engine runs
(record_hessian=True): ``--racers mixed`` (default) is one of each kind (gd, newton, rprop, adam,
momentum, bfgs, lbfgs, rmsprop: the second-order ones converge within a few steps), ``--racers
running`` eight first-order racers with small steps that all keep moving (the worst case: every
racer's overlays change every frame). The frame timer is stopped; each sample is timed by hand:

* update: ``race._dirty = True; race.draw_frame()`` (emits frameDrawn: the overlays refresh),
* paint:  ``canvas.viewport().repaint()``.

Two modes: *static* redraws the same shown step every frame (a paused or finished race) and
*advancing* appends one record per racer (those whose run has not stopped) before every frame (a
running race). Printed: min and median of the samples with no overlays, with all six, the
overlays' share (all − none), and each overlay alone (alone − none). With all six on, the time
spent inside each overlay's ``update`` and in the label layout is printed as well.

Times are this thread's CPU time (what the frame costs, little disturbed by other jobs on a
loaded machine) and wall time.

    QT_QPA_PLATFORM=offscreen python bench/overlays.py [--samples 60] [--racers running]
        [--mode static|advancing|both] [--profile] [--screenshot canvas.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.frame import RUNNING_RACERS, STARTS, STEPS  # noqa: E402  (after sys.path: same scene as bench/frame)

RACER_SETS = {
    # one of each kind: Newton, BFGS and L-BFGS converge within a few steps, Rprop in 175
    "mixed": [
        ("gd", {"lr": 2e-4}),
        ("newton", {}),
        ("rprop", {"step_max": 0.05}),
        ("adam", {"lr": 0.002}),
        ("momentum", {"lr": 2e-5}),
        ("bfgs", {}),
        ("lbfgs", {}),
        ("rmsprop", {"lr": 0.0005}),
    ],
    # eight first-order racers with small steps, all still moving (bench/frame's worst case)
    "running": RUNNING_RACERS,
}


def precompute(extra: int, racers: list):
    """Real engine records: up to STEPS + extra steps per racer (runs may stop earlier)."""
    from engine.objectives import get_objective
    from engine.optimizers import make_optimizer
    from engine.run import Run

    objective = get_objective("himmelblau")
    runs = []
    for (name, params), start in zip(racers, STARTS, strict=True):
        run = Run(
            objective,
            make_optimizer(name, **params),
            start,
            max_steps=STEPS + extra,
            record_hessian=True,
        )
        runs.append([run.first, *run])
    return objective, runs


class Bench:
    def __init__(self, samples: int, racers: str = "mixed") -> None:
        from PySide6.QtWidgets import QApplication

        from gui.main_window import MainWindow
        from gui.racers import make_racer
        from gui.theme import color_for

        self.samples = samples
        self.app = QApplication.instance() or QApplication([])
        chosen = RACER_SETS[racers]
        self.objective, self.runs = precompute(4 * samples + 40, chosen)
        win = self.win = MainWindow()
        win.resize(1400, 860)
        win.show()
        self._settle(lambda: win.canvas.surface is not None)
        self.racers = [make_racer(n, color_for(n, i), **p) for i, (n, p) in enumerate(chosen)]
        self.clock = 0.0
        win.overlays.pace.clock = lambda: self.clock
        win.racers_panel.set_racers(self.racers)
        self._settle(lambda: True)
        win.race.pause()
        win.race.frame_timer.stop()
        self.reset_histories()

    def _settle(self, done, seconds: float = 10.0) -> None:
        end = time.perf_counter() + seconds
        while True:
            self.app.processEvents()
            if done() or time.perf_counter() > end:
                break
        for _ in range(5):
            self.app.processEvents()

    def reset_histories(self) -> None:
        """Every racer at step STEPS (or its last step when the run stopped earlier)."""
        from gui.history import RacerHistory

        self.win.race.cursor = None
        self.cursors = {}
        hist = {}
        for racer, recs in zip(self.racers, self.runs, strict=True):
            h = RacerHistory(2)
            h.extend(tuple(recs[: STEPS + 1]))
            hist[racer.racer_id] = h
            self.cursors[racer.racer_id] = min(STEPS + 1, len(recs))
        self.win.race.histories = hist
        self.win.race.frame_timer.stop()

    def advance(self) -> None:
        for racer, recs in zip(self.racers, self.runs, strict=True):
            k = self.cursors[racer.racer_id]
            if k < len(recs):
                self.win.race.histories[racer.racer_id].extend((recs[k],))
                self.cursors[racer.racer_id] = k + 1

    def enable(self, names) -> None:
        from engine.scenario import OVERLAYS

        for name in OVERLAYS:
            self.win.overlays.set_enabled(name, name in names)

    def frame(self, advancing: bool) -> tuple[float, float, float, float]:
        """Seconds of (update wall, paint wall, update CPU, paint CPU) for one frame; CPU is this
        thread's CPU time, which other jobs on a loaded machine disturb far less than wall time."""
        race, view = self.win.race, self.win.canvas.viewport()
        # advancing: the frames of a running race (whose records are fed by hand here), so
        # label texts follow at 10 Hz as they do while racing; static: a paused race
        race.playing = advancing
        self.clock += 1 / 60  # the overlays pace label texts by time: frames at 60 Hz
        if advancing:
            self.advance()
        t0, c0 = time.perf_counter(), time.thread_time()
        race._dirty = True
        race.draw_frame()
        t1, c1 = time.perf_counter(), time.thread_time()
        view.repaint()
        t2, c2 = time.perf_counter(), time.thread_time()
        return t1 - t0, t2 - t1, c1 - c0, c2 - c1

    def measure_many(self, configs, advancing: bool, rounds: int = 6) -> list[np.ndarray]:
        """(samples, 4) arrays in ms (see ``frame``) for each set of enabled overlays; the
        configurations take turns in ``rounds`` rounds so that changes in machine load hit them
        alike."""
        out = [[] for _ in configs]
        per_round = max(1, self.samples // rounds)
        for _ in range(rounds):
            for i, names in enumerate(configs):
                self.reset_histories()
                self.enable(names)
                for _ in range(4):  # warm-up: items built, caches filled
                    self.frame(advancing)
                out[i] += [self.frame(advancing) for _ in range(per_round)]
        return [np.array(o) * 1000.0 for o in out]


def stats(a: np.ndarray) -> str:
    return f"min {a.min():6.2f}  med {np.median(a):6.2f}"


def delta(a: np.ndarray, b: np.ndarray) -> str:
    return f"min {a.min() - b.min():+6.2f}  med {np.median(a) - np.median(b):+6.2f}"


def inside_costs(bench: Bench, advancing: bool) -> dict[str, float]:
    """Median ms spent in each overlay's update and in the label layout, all six on."""
    import gui.overlays.manager as manager_mod
    from engine.scenario import OVERLAYS

    mgr = bench.win.overlays
    spent: dict[str, list[float]] = {name: [] for name in (*OVERLAYS, "labels")}
    originals = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key][-1] += time.thread_time() - t0

        return wrapper

    bench.reset_histories()
    bench.enable(OVERLAYS)
    for name in OVERLAYS:
        overlay = mgr.overlays[name]
        originals[name] = overlay.update
        overlay.update = timed(name, overlay.update)
    layout = manager_mod.layout_labels
    manager_mod.layout_labels = timed("labels", layout)
    try:
        for i in range(8 + bench.samples):
            for values in spent.values():
                values.append(0.0)
            bench.frame(advancing)
            if i < 8:
                for values in spent.values():
                    values.pop()
    finally:
        manager_mod.layout_labels = layout
        for name, fn in originals.items():
            del mgr.overlays[name].update
            assert mgr.overlays[name].update.__func__ is fn.__func__
    return {k: 1000.0 * float(np.median(v)) for k, v in spent.items()}


def run(samples: int, modes: list[str], racers: str) -> None:
    from engine.scenario import OVERLAYS

    bench = Bench(samples, racers)
    trails = [min(STEPS + 1, len(r)) for r in bench.runs]
    print(
        f"DescentLab overlay benchmark: 8 racers ({racers}), trails "
        f"{'/'.join(map(str, trails))} points, 512² himmelblau, {samples} samples, ms "
        f"({os.cpu_count()} cores, offscreen)"
    )
    for mode in modes:
        advancing = mode == "advancing"
        print(f"\n[{mode}] {'one new record per racer per frame' if advancing else 'same step'}")
        configs = [(), tuple(OVERLAYS), *((name,) for name in OVERLAYS)]
        none, every, *alone = bench.measure_many(configs, advancing)
        for title, cols in (("thread CPU time", (2, 3)), ("wall time", (0, 1))):
            u, p = cols
            print(f"  {title:18s} {'update (draw_frame)':>24s}   {'paint (repaint)':>24s}")
            print(f"  {'no overlays':18s} {stats(none[:, u]):>24s}   {stats(none[:, p]):>24s}")
            print(f"  {'all six':18s} {stats(every[:, u]):>24s}   {stats(every[:, p]):>24s}")
            print(
                f"  {'overlays add':18s} {delta(every[:, u], none[:, u]):>24s}   "
                f"{delta(every[:, p], none[:, p]):>24s}   (goal ≤ 1.5 / ≤ 1.5 ms)"
            )
            for name, a in zip(OVERLAYS, alone, strict=True):
                print(
                    f"  {'+ ' + name + ' alone':18s} {delta(a[:, u], none[:, u]):>24s}   "
                    f"{delta(a[:, p], none[:, p]):>24s}"
                )
        inside = inside_costs(bench, advancing)
        parts = "  ".join(f"{k} {v:.2f}" for k, v in inside.items())
        print(f"  inside refresh, all six (median CPU ms): {parts}")
        print(f"    = {sum(inside.values()):.2f}")
    bench.win.close()


def profile(samples: int, advancing: bool, racers: str) -> None:
    import cProfile
    import pstats

    from engine.scenario import OVERLAYS

    bench = Bench(samples, racers)
    bench.reset_histories()
    bench.enable(OVERLAYS)
    for _ in range(8):
        bench.frame(advancing)
    prof = cProfile.Profile(time.thread_time)  # CPU time: other jobs do not count
    prof.enable()
    for _ in range(samples):
        bench.frame(advancing)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    bench.win.close()


def screenshot(path: str, racers: str) -> None:
    """The canvas with all six overlays on (to compare before / after a change by eye)."""
    from engine.scenario import OVERLAYS

    bench = Bench(8, racers)
    bench.reset_histories()
    bench.enable(OVERLAYS)
    bench.frame(False)
    bench.win.canvas.grab().save(path)
    print(f"saved {path}")
    bench.win.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--mode", choices=["static", "advancing", "both"], default="both")
    parser.add_argument(
        "--racers",
        choices=sorted(RACER_SETS),
        default="mixed",
        help="mixed: one of each kind (default); running: eight first-order racers that all "
        "keep moving",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile all six instead")
    parser.add_argument("--screenshot", metavar="PNG", help="save the canvas, all six on")
    args = parser.parse_args(argv)
    if args.screenshot:
        screenshot(args.screenshot, args.racers)
        return 0
    modes = ["static", "advancing"] if args.mode == "both" else [args.mode]
    if args.profile:
        profile(args.samples, modes[-1] == "advancing", args.racers)
    else:
        run(args.samples, modes, args.racers)
    return 0


if __name__ == "__main__":
    sys.exit(main())

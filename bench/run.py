"""The performance suite: every figure DescentLab promises, each with its goal, in one table.

    QT_QPA_PLATFORM=offscreen python -m bench            (or: python bench/run.py)
    python -m bench --markdown > table.md                 (the table for BENCHMARKS.md)

Figures: first painted window, bundle start and size (if dist/DescentLab exists: build it with
`pyinstaller descentlab.spec --noconfirm`), frame time with 8 racers + all overlays + 5,000-step
trails on a 512² surface and the ratio to a matplotlib redraw (needs matplotlib: the dev extra),
click-to-first-drawn-step latency, surface switch, contour computation at 512² and 1024², engine
single-run steps/s and batch times, the 256² × 100 Newton basin map, and a 120-frame GIF export.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUNDLE = ROOT / "dist" / "DescentLab"
FRAME_MS = 1000 / 60


@dataclass(frozen=True)
class Row:
    label: str
    shown: str
    goal: str
    ok: bool | None  # None: no goal

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "—"}[self.ok]


def row(
    label: str,
    value: float,
    fmt: str,
    goal: float | None = None,
    higher: bool = False,
    goal_text: str | None = None,
) -> Row:
    ok = None if goal is None else (value >= goal if higher else value <= goal)
    text = goal_text or ("" if goal is None else f"{'≥' if higher else '≤'} {goal:g}")
    return Row(label, fmt.format(value), text, ok)


# -- start-up -------------------------------------------------------------------------------------
def launch_to_paint(command: list[str], runs: int = 5) -> float:
    samples = []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run(
            [*command, "--startup-time"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=env,
        )
        lines = out.stdout.strip().splitlines()
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"{command[0]} --startup-time failed: {out.stderr[-300:]}")
        samples.append(float(lines[-1]) - t0)
    return statistics.median(samples)


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}–{hi}"


# -- in-process GUI figures ------------------------------------------------------------------------
def gui_rows() -> list[Row]:
    from PySide6.QtWidgets import QApplication

    import bench.frame as frame

    app = QApplication.instance() or QApplication([])
    rows = []
    times, (objective, runs, trails) = frame.bench_qt(8, overlays=True)
    med, p95, p99 = frame.percentiles(times)
    rows.append(
        row(
            f"frame, 8 racers, all overlays, {_span(trails)}-pt trails: median",
            med,
            "{:.2f} ms",
        )
    )
    rows.append(row("frame p95", p95, "{:.2f} ms", 10.0))
    rows.append(row("frame p99", p99, "{:.2f} ms", 16.7))
    mpl = frame.bench_matplotlib(objective, runs)
    if mpl is None:
        rows.append(
            Row("matplotlib redraw of the same scene", "not installed", "≥ 5× faster", None)
        )
    else:
        ratio = statistics.median(mpl) * 1000 / med
        rows.append(
            row(
                "speed-up over a matplotlib redraw (median)",
                ratio,
                "{:.0f}×",
                5.0,
                higher=True,
                goal_text="≥ 5×",
            )
        )
    latency = click_latency(app)
    rows.append(
        row("click to first drawn step: median", statistics.median(latency) * 1000, "{:.1f} ms")
    )
    rows.append(
        row(
            "click to first drawn step: p95",
            float(np.percentile(latency, 95)) * 1000,
            "{:.1f} ms",
            FRAME_MS,
            goal_text="≤ 16.7 ms (1 frame)",
        )
    )
    med, p95, _ = frame.percentiles(frame.surface_switch_time())
    rows.append(row("surface switch at 512² (compute + draw): median", med, "{:.1f} ms"))
    rows.append(row("surface switch at 512²: p95", p95, "{:.1f} ms", 50.0))
    return rows


def click_latency(app, clicks: int = 20) -> list[float]:
    """From a click's start request to the frame that shows every racer's first step."""
    from bench.frame import settle_startup
    from gui.main_window import MainWindow

    win = MainWindow()
    win.resize(1400, 860)
    win.show()
    while win.canvas.surface is None:
        app.processEvents()
    settle_startup(app, win)
    samples = []
    rng = np.random.default_rng(1)
    for _ in range(clicks):
        done = []

        def drawn(done: list[float] = done) -> None:
            hs = win.race.histories.values()
            if hs and all(h.latest_iteration >= 1 for h in hs) and not done:
                done.append(time.perf_counter())

        win.race.frameDrawn.connect(drawn)
        point = tuple(rng.uniform(-4, 4, size=2))
        t0 = time.perf_counter()
        win.canvas.startRequested.emit(point)
        while not done and time.perf_counter() - t0 < 2:
            app.processEvents()
        win.race.frameDrawn.disconnect(drawn)
        samples.append((done[0] if done else time.perf_counter()) - t0)
        win.race.pause()
        for _ in range(5):
            app.processEvents()
    win.close()
    return samples


# -- computation ----------------------------------------------------------------------------------
def contour_rows() -> list[Row]:
    from engine.objectives import get_objective
    from gui.surface import compute_surface

    rows = []
    objective = get_objective("rosenbrock")
    for n in (512, 1024):
        compute_surface(objective, *objective.domain, resolution=n)
        best = min(
            _timed(lambda n=n: compute_surface(objective, *objective.domain, resolution=n))
            for _ in range(3)
        )
        rows.append(
            row(f"surface + contours at {n}² (rosenbrock, 18 levels)", best * 1000, "{:.1f} ms")
        )
    return rows


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def engine_rows() -> list[Row]:
    import bench.basin as basin
    import bench.engine as engine

    rows = []
    for fig in engine.measure(repeats=3):
        if fig.unit == "steps/s":
            rows.append(
                row(
                    fig.label,
                    fig.value,
                    "{:,.0f} steps/s",
                    fig.goal,
                    higher=True,
                    goal_text=None if fig.goal is None else f"≥ {fig.goal:,.0f}",
                )
            )
        else:
            rows.append(row(fig.label, fig.value, "{:.3f} s", fig.goal))
    from engine.objectives import get_objective
    from engine.optimizers import make_optimizer

    _, best, _ = basin.timed(get_objective("himmelblau"), make_optimizer("newton"))
    rows.append(row("basin map 256² × 100 Newton steps (himmelblau)", best, "{:.3f} s", 1.0))
    return rows


def gif_rows() -> list[Row]:
    import bench.gif as gif

    snap = gif.snapshot()
    with tempfile.TemporaryDirectory() as folder:
        render, encode, size = gif.bench_split(snap, 120, Path(folder))
    return [
        row("GIF export, 120 frames 800×600 (render + encode)", render + encode, "{:.2f} s", 5.0),
        row("GIF file size", size / 1e6, "{:.2f} MB"),
    ]


def bundle_rows() -> list[Row]:
    exe = BUNDLE / "DescentLab"
    if not exe.exists():
        note = "not built (pyinstaller descentlab.spec --noconfirm)"
        return [
            Row("bundle start (onedir)", note, "≤ 0.8 s", None),
            Row("bundle size (onedir)", note, "≤ 180 MB", None),
        ]
    size = sum(f.stat().st_size for f in BUNDLE.rglob("*") if f.is_file() and not f.is_symlink())
    return [
        row(
            "bundle start (onedir): launch to first paint",
            launch_to_paint([str(exe)]),
            "{:.3f} s",
            0.8,
        ),
        row("bundle size (onedir)", size / 1e6, "{:.0f} MB", 180.0),
    ]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; Qt offscreen platform"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    rows = [
        row(
            "first painted window (python main.py)",
            launch_to_paint([sys.executable, str(ROOT / "main.py")]),
            "{:.3f} s",
            0.7,
        )
    ]
    rows += bundle_rows()
    rows += gui_rows()
    rows += contour_rows()
    rows += engine_rows()
    rows += gif_rows()
    if args.markdown:
        print(f"Machine: {machine()}\n")
        print("| figure | measured | goal | |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r.label} | {r.shown} | {r.goal} | {r.verdict} |")
    else:
        print(f"DescentLab performance suite — {machine()}")
        width = max(len(r.label) for r in rows)
        for r in rows:
            print(f"  {r.label:<{width}}  {r.shown:>16}  {r.goal:<22} {r.verdict}")
    missed = [r.label for r in rows if r.ok is False]
    print(
        f"\n{len(rows) - len(missed)} of {len(rows)} figures within their goals"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

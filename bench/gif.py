"""GIF export benchmark: 120 frames at 800×600 of the default Himmelblau race (goal: ≤ 5 s).

Prints, best of --repeat runs:
  render   drawing the frames on the offscreen canvas (GUI thread) + QImage -> Pillow copies
  encode   shared palette + quantizing every frame onto it + writing the GIF (JobRunner thread)
  file     size of the GIF
  GUI path GifExport end to end (frames one per event-loop tick, encoding overlapped in the
           JobRunner): what the user waits for, and the longest event-loop stall meanwhile
  naive    (with --naive) Pillow's own per-frame quantize of the same frames, for comparison

    QT_QPA_PLATFORM=offscreen python bench/gif.py [--repeat 3] [--frames 120] [--naive]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (800, 600)
STEPS = 500
START = (-0.5, 0.5)
RACERS = (("gd", {"lr": 0.002}, "#ff5a5f"), ("newton", {}, "#ffffff"), ("rprop", {}, "#00e5ff"))


def snapshot():
    from engine.objectives import get_objective
    from engine.optimizers import make_optimizer
    from engine.run import Run
    from gui.frame_renderer import RacerPath, RaceSnapshot
    from gui.surface import compute_surface

    objective = get_objective("himmelblau")
    view = objective.domain
    surface = compute_surface(objective, view[0], view[1])
    paths = []
    for i, (name, params, color) in enumerate(RACERS):
        run = Run(objective, make_optimizer(name, **params), START, STEPS)
        points = np.array([run.first.x[0], *(r.x[0] for r in run)])
        paths.append(RacerPath(i + 1, color, name, points))
    return RaceSnapshot(objective, view, surface, tuple(paths), START)


def bench_split(snap, frames: int, folder: Path) -> tuple[float, float, int]:
    from gui.frame_renderer import FrameRenderer
    from gui.gif_export import build_palette, qimage_to_pil, sample_indices, write_gif

    renderer = FrameRenderer(snap, SIZE)
    try:
        ks = renderer.frame_iterations(frames)
        t0 = time.perf_counter()
        images = [qimage_to_pil(renderer.render(k)) for k in ks]
        render = time.perf_counter() - t0
    finally:
        renderer.close()
    t0 = time.perf_counter()
    palette = build_palette(
        [images[i] for i in sample_indices(len(images))], [c for *_, c in RACERS]
    )
    result = write_gif(images, folder / "split.gif", len(images), palette)
    encode = time.perf_counter() - t0
    return render, encode, result.bytes


def bench_gui_path(app, snap, frames: int, folder: Path) -> tuple[float, float, int]:
    from PySide6.QtCore import QEventLoop, QTimer

    from gui.gif_export import GifExport
    from gui.jobs import JobRunner

    jobs = JobRunner("bench jobs")
    export = GifExport(jobs)
    loop = QEventLoop()
    outcome: list[str] = []
    export.finished.connect(lambda path: (outcome.append(path), loop.quit()))
    export.failed.connect(lambda message: (outcome.append("failed: " + message), loop.quit()))
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start()
    t0 = time.perf_counter()
    export.start(snap, folder / "gui.gif", SIZE, frames)
    loop.exec()
    total = time.perf_counter() - t0
    heartbeat.stop()
    jobs.shutdown()
    if not outcome or outcome[0].startswith("failed"):
        raise SystemExit(f"GUI path did not finish: {outcome}")
    stall = float(np.max(np.diff(ticks))) if len(ticks) > 1 else total
    return total, stall, (folder / "gui.gif").stat().st_size


def bench_naive(snap, frames: int, folder: Path) -> tuple[float, int]:
    from gui.frame_renderer import FrameRenderer
    from gui.gif_export import qimage_to_pil

    renderer = FrameRenderer(snap, SIZE)
    try:
        images = [qimage_to_pil(renderer.render(k)) for k in renderer.frame_iterations(frames)]
    finally:
        renderer.close()
    t0 = time.perf_counter()
    path = folder / "naive.gif"
    images[0].save(path, save_all=True, append_images=images[1:], duration=50, loop=0)
    return time.perf_counter() - t0, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--naive", action="store_true", help="also time per-frame quantizing")
    args = parser.parse_args()

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([])
    snap = snapshot()
    print(
        f"scene: himmelblau, {len(RACERS)} racers, {snap.last} steps; "
        f"{args.frames} frames at {SIZE[0]}×{SIZE[1]}; {os.cpu_count()} CPUs; "
        f"best of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        split = [bench_split(snap, args.frames, folder) for _ in range(args.repeat)]
        render = min(s[0] for s in split)
        encode = min(s[1] for s in split)
        size = split[0][2]
        print(f"render    {render:6.2f} s  ({1000 * render / args.frames:.1f} ms/frame)")
        print(f"encode    {encode:6.2f} s  (palette + quantize + write)")
        print(f"sum       {render + encode:6.2f} s  (goal ≤ 5 s)")
        print(f"file      {size / 1e6:6.2f} MB")
        gui = [bench_gui_path(app, snap, args.frames, folder) for _ in range(args.repeat)]
        total = min(g[0] for g in gui)
        stall = statistics.median(g[1] for g in gui)
        print(
            f"GUI path  {total:6.2f} s  end to end (GifExport + JobRunner); "
            f"longest event-loop stall {1000 * stall:.0f} ms (median over runs)"
        )
        if args.naive:
            naive_time, naive_size = bench_naive(snap, args.frames, folder)
            print(
                f"naive     {naive_time:6.2f} s encode, {naive_size / 1e6:.2f} MB "
                f"(per-frame palettes: {naive_time / encode:.0f}× the time, "
                f"{naive_size / size:.0f}× the size)"
            )


if __name__ == "__main__":
    main()

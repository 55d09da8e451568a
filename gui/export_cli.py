"""``descentlab export``: race a scene headless and write an animated GIF and/or a 2× PNG.

    python main.py export SCENE.json [--gif OUT.gif] [--png OUT.png] [--steps N]
        [--frames N] [--size WxH]

Loads and validates the scene (engine.scenario), builds its objective and surface, runs every
enabled racer with engine.run.Run for N steps (default: the scene's max_steps) from the scene's
start (or the centre of the view), and draws the frames with the same FrameRenderer as the app:
the GIF shows the race from the start to step N, the PNG its last frame at 2×. Needs no screen:
Qt runs on the offscreen platform unless QT_QPA_PLATFORM says otherwise.

Prints one line per file written. Bad input of any kind (scene, arguments, output path) exits
with code 2 and one clear line on stderr, never a traceback. Nothing Qt is imported before the
scene has been read and the arguments checked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

PROG = "descentlab export"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_STEPS = 100_000
MAX_FRAMES = 1000
DEFAULT_FRAMES = 120
DEFAULT_SIZE = (800, 600)


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise UsageError(message)


def export_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Race a scene without a window; write an animated GIF and/or a 2× PNG.",
    )
    parser.add_argument("scene", help="scene file (JSON, as saved by DescentLab)")
    parser.add_argument("--gif", metavar="OUT.gif", help="animated GIF: start to last step")
    parser.add_argument("--png", metavar="OUT.png", help="PNG of the last step at 2× the size")
    parser.add_argument(
        "--steps",
        type=_int_arg("--steps"),
        help=f"updates per racer, 1–{MAX_STEPS:,} (default: the scene's max_steps)",
    )
    parser.add_argument(
        "--frames",
        type=_int_arg("--frames"),
        default=DEFAULT_FRAMES,
        help=f"most GIF frames, 1–{MAX_FRAMES} (default {DEFAULT_FRAMES})",
    )
    parser.add_argument(
        "--size",
        default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}",
        help="frame size in pixels, WIDTHxHEIGHT (default 800x600; the PNG is twice that)",
    )
    return parser


def _int_arg(name: str):
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None

    parse.__name__ = name  # argparse names the argument by the type's name in some messages
    return parse


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--size must be WIDTHxHEIGHT, e.g. 800x600 (got {text!r})") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise UsageError(f"--size must be 64–4096 pixels per side (got {w}x{h})")
    return w, h


@dataclass(frozen=True)
class Job:
    scene_path: str
    gif: str | None
    png: str | None
    steps: int | None
    frames: int
    size: tuple[int, int]


def parse_args(argv: Sequence[str]) -> Job:
    args = export_parser().parse_args(list(argv))
    if args.gif is None and args.png is None:
        raise UsageError("give --gif OUT.gif and/or --png OUT.png")
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be between 1 and {MAX_STEPS:,} (got {args.steps})")
    if not 1 <= args.frames <= MAX_FRAMES:
        raise UsageError(f"--frames must be between 1 and {MAX_FRAMES} (got {args.frames})")
    both = args.gif is not None and args.png is not None
    if both and Path(args.gif).resolve() == Path(args.png).resolve():
        raise UsageError("--gif and --png must be different files")
    return Job(args.scene, args.gif, args.png, args.steps, args.frames, parse_size(args.size))


def check_output(option: str, path: str) -> None:
    """Fail early (before any work) when the file cannot be written."""
    target = Path(path).expanduser()
    if not target.name or target.is_dir():
        raise UsageError(f"{option} {path}: is a folder, not a file name")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: folder {str(folder)!r} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"{option} {path}: the file exists and is not writable")


def race_paths(scene: Any, objective: Any, steps: int) -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """(RacerPath per enabled racer, start): every racer run for ``steps`` updates."""
    from engine.optimizers import make_optimizer
    from engine.run import Run
    from gui.frame_renderer import RacerPath
    from gui.racers import RacerConfig
    from gui.theme import color_for

    view = scene.view or objective.domain
    start = scene.start or tuple((lo + hi) / 2 for lo, hi in view[: objective.dim])
    paths = []
    for i, spec in enumerate(scene.racers):
        if not spec.enabled:
            continue
        color = spec.color or color_for(spec.optimizer, i)
        config = RacerConfig(spec.optimizer, spec.params, color, spec.label or "", True, i + 1)
        run = Run(objective, make_optimizer(spec.optimizer, **dict(spec.params)), start, steps)
        points = [run.first.x[0]]
        points.extend(record.x[0] for record in run)
        paths.append(RacerPath(i + 1, color, config.title, np.array(points, dtype=float)))
    return tuple(paths), tuple(float(v) for v in start)


def run_export(job: Job, out=sys.stdout) -> None:
    from engine.scenario import build_objective, load_scenario

    scene = load_scenario(job.scene_path)  # ScenarioError names file and field
    objective = build_objective(scene.objective)
    steps = job.steps if job.steps is not None else scene.max_steps
    for option, path in (("--gif", job.gif), ("--png", job.png)):
        if path is not None:
            check_output(option, path)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_quiet_qt)  # no platform chatter on stderr (one line or nothing)
    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([PROG])

    from gui.export_png import save_image
    from gui.frame_renderer import FrameRenderer, RaceSnapshot
    from gui.gif_export import render_gif
    from gui.surface import compute_surface

    started = time.perf_counter()
    view = tuple(scene.view or objective.domain)
    y_range = view[1] if objective.dim == 2 else None
    surface = compute_surface(objective, view[0], y_range)
    paths, start = race_paths(scene, objective, steps)
    snapshot = RaceSnapshot(objective, view, surface, paths, start)
    renderer = FrameRenderer(snapshot, job.size)
    try:
        if job.gif is not None:
            result = render_gif(renderer, job.gif, job.frames)
            print(
                f"wrote {job.gif}: {result.frames} frames, {result.size[0]}×{result.size[1]}, "
                f"{result.bytes / 1e6:.2f} MB",
                file=out,
            )
        if job.png is not None:
            image = renderer.render(snapshot.last, scale=2)
            save_image(image, job.png)
            print(f"wrote {job.png}: {image.width()}×{image.height()}", file=out)
    finally:
        renderer.close()
        app.processEvents()  # deliver the deferred deletes before the interpreter tears down
    elapsed = time.perf_counter() - started
    early = " (every racer had stopped by then)" if snapshot.last < steps else ""
    print(
        f"{len(paths)} racer(s), shown to step {snapshot.last} of {steps}{early}, {elapsed:.1f} s",
        file=out,
    )


def _quiet_qt(mode, context, message) -> None:
    """Qt's own warnings (e.g. the offscreen plugin's) are not ours to print."""


def main(argv: Sequence[str]) -> int:
    """Run ``export`` with its arguments (without the word "export"); returns the exit code."""
    try:
        job = parse_args(argv)
        run_export(job)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, OSError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug of ours: still one line, not a traceback
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.removeprefix(f"{PROG}: ")

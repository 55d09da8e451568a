"""``descentlab basin``: a basin-of-attraction map written as a PNG, plus one summary line.

    python main.py basin (--function NAME | --expr EXPR) [--param k=v] --optimizer NAME
        [--set k=v] --grid N --steps K --png OUT.png [--view xmin,xmax,ymin,ymax]

Each pixel is a start; its colour says which stationary point the run reached (engine.palette),
grey = did not converge, black = diverged; darker = more steps. The PNG has y pointing up.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.cli import (
    UsageError,
    _common_arguments,
    _Parser,
    build_objective,
    parse_assignments,
    register_command,
)
from engine.optimizers import make_optimizer
from engine.sweeps import MAX_GRID, MAX_STEPS, MIN_GRID, basin_image, basin_map

MIN_PNG_SIDE = 512


def basin_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="descentlab basin",
        description="Colour every start of a grid by the stationary point its run reaches.",
    )
    _common_arguments(parser)
    parser.add_argument(
        "--grid",
        type=int,
        default=256,
        help=f"starts per side ({MIN_GRID}–{MAX_GRID}; default 256)",
    )
    parser.add_argument("--png", help="output image file (PNG)")
    parser.add_argument(
        "--view", help="xmin,xmax,ymin,ymax, e.g. --view=-5,5,-5,5 (default: the function's domain)"
    )
    return parser


def parse_view(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--view must be xmin,xmax,ymin,ymax (got {text!r})") from None
    if len(values) != 4:
        raise UsageError(f"--view needs 4 numbers xmin,xmax,ymin,ymax (got {len(values)})")
    if not all(math.isfinite(v) for v in values):
        raise UsageError("--view must be finite numbers")
    x0, x1, y0, y1 = values
    if not (x0 < x1 and y0 < y1):
        raise UsageError("--view needs xmin < xmax and ymin < ymax")
    return (x0, x1), (y0, y1)


def write_png(rgba: np.ndarray, path: str) -> tuple[int, int]:
    """Write an image (rows = y ascending) as a y-up PNG, upscaled to ≥ 512 px by whole pixels."""
    from PIL import Image

    h, w = rgba.shape[:2]
    scale = max(1, math.ceil(MIN_PNG_SIDE / min(h, w)))
    image = Image.fromarray(np.ascontiguousarray(rgba[::-1]))
    if scale > 1:
        image = image.resize((w * scale, h * scale), Image.Resampling.NEAREST)
    image.save(path, format="PNG")
    return image.size


def run_basin(argv: Sequence[str]) -> str:
    args = basin_parser().parse_args(list(argv))
    objective = build_objective(args)
    if objective.dim != 2:
        raise UsageError(
            "a basin map needs a function of two variables x and y; "
            f"{objective.expression or objective.name} is 1-D"
        )
    if args.optimizer is None:
        raise UsageError("give --optimizer NAME (see: descentlab trace --list-optimizers)")
    if args.png is None:
        raise UsageError("give --png OUT.png for the image")
    if not args.png or Path(args.png).is_dir():  # say so before minutes of work, not after
        raise UsageError(f"--png {args.png!r}: not a file name (a folder, or empty)")
    folder = Path(args.png).resolve().parent
    if not folder.is_dir():
        raise UsageError(f"--png: folder {str(folder)!r} does not exist")
    if not MIN_GRID <= args.grid <= MAX_GRID:
        raise UsageError(f"--grid must be between {MIN_GRID} and {MAX_GRID} (got {args.grid})")
    if not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be between 1 and {MAX_STEPS:,} (got {args.steps})")
    if not (math.isfinite(args.tol) and args.tol >= 0):
        raise UsageError("--tol must be a finite number ≥ 0")
    if args.view is not None:
        x_range, y_range = parse_view(args.view)
    else:
        x_range, y_range = objective.domain[0], objective.domain[1]
    optimizer = make_optimizer(args.optimizer, **parse_assignments(args.settings, "--set"))

    basin = basin_map(
        objective, optimizer, x_range, y_range, grid=args.grid, steps=args.steps, tol=args.tol
    )
    width, height = write_png(basin_image(basin), args.png)

    parts = []
    for a in basin.attractors:
        where = ", ".join(f"{v:.4g}" for v in a.point)
        parts.append(f"{a.kind} ({where}): {a.count}")
    counts = basin.counts()
    tail = [f"not converged {counts['not_converged']}", f"diverged {counts['diverged']}"]
    if counts["unresolved"]:
        tail.append(f"unresolved {counts['unresolved']}")
    n = len(basin.attractors)
    return (
        f"basin {basin.objective} {optimizer.name} {args.grid}×{args.grid} starts, "
        f"≤{args.steps} steps: {n} attractor{'' if n == 1 else 's'}"
        + (f" — {'; '.join(parts)}" if parts else "")
        + f"; {', '.join(tail)}; {basin.seconds:.2f} s; wrote {args.png} ({width}×{height})"
    )


register_command("basin", run_basin)

"""Headless commands: ``trace`` (one run as JSON/CSV) and ``basin`` (a basin-of-attraction PNG).

Bad input of any kind exits with code 2 and one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from engine.objective import Objective
from engine.objectives import get_objective, objective_entry, objective_names
from engine.optimizers import OPTIMIZERS, make_optimizer

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def parse_assignments(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["lr=0.1", "variant=seed"]`` -> {"lr": 0.1, "variant": "seed"}."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{what} expects key=value, got {item!r}")
        raw = raw.strip()
        try:
            value: Any = float(raw)
        except ValueError:
            value = raw
        out[key] = value
    return out


def parse_point(text: str, dim: int) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--start must be numbers separated by commas, got {text!r}") from None
    if len(values) != dim:
        raise UsageError(f"--start needs {dim} coordinate(s) for this function, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise UsageError("--start must be finite numbers")
    return values


def build_objective(args: argparse.Namespace) -> Objective:
    params = parse_assignments(args.param, "--param")
    if args.expr is not None:
        if params:
            raise UsageError("--param applies to built-in functions, not to --expr")
        from engine.expressions import ExpressionError, objective_from_expression

        try:
            return objective_from_expression(args.expr)
        except ExpressionError as exc:
            raise UsageError(f"--expr: {exc}") from None
    if args.function is None:
        raise UsageError("give --function NAME or --expr EXPR (see --list-functions)")
    return get_objective(args.function, **params)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--function", help="a built-in function (see --list-functions)")
    source.add_argument("--expr", help='your own function of x (and y), e.g. "x^2 + 3*y^2"')
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a parameter of the built-in function, e.g. a=2",
    )
    parser.add_argument("--optimizer", help="optimizer name (see --list-optimizers)")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        dest="settings",
        help="an optimizer parameter, e.g. lr=0.05 (repeatable)",
    )
    parser.add_argument("--steps", type=int, default=100, help="maximum number of updates")
    parser.add_argument("--tol", type=float, default=1e-8, help="gradient-norm tolerance")


def trace_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="descentlab trace", description="Run one optimizer from one start.")
    _common_arguments(parser)
    parser.add_argument("--start", help="start point, e.g. --start=-1.2,1")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument("--list-functions", action="store_true", help="list built-in functions")
    parser.add_argument(
        "--list-optimizers",
        action="store_true",
        help="list optimizers with their parameters and defaults",
    )
    return parser


def list_functions() -> str:
    lines = []
    for name in objective_names():
        entry = objective_entry(name)
        params = ", ".join(f"{p.name}={p.default:g}" for p in entry.params)
        lines.append(
            f"{name:18s} {entry.dim}-D  {entry.title}" + (f"  [{params}]" if params else "")
        )
    return "\n".join(lines)


def list_optimizers() -> str:
    lines = []
    for spec in OPTIMIZERS.values():
        lines.append(f"{spec.name:10s} {spec.title}: {spec.description}")
        for p in spec.params:
            lines.append(
                f"    {p.name:12s} default {p.default!s:10s} {p.range_text():22s} {p.help}"
            )
    return "\n".join(lines)


def run_trace(argv: Sequence[str]) -> str:
    from engine.run import trace

    args = trace_parser().parse_args(list(argv))
    if args.list_functions:
        return list_functions()
    if args.list_optimizers:
        return list_optimizers()
    objective = build_objective(args)
    if args.optimizer is None:
        raise UsageError("give --optimizer NAME (see --list-optimizers)")
    if args.start is None:
        raise UsageError("give a start point, e.g. --start=-1.2,1")
    if args.steps < 0 or args.steps > 1_000_000:
        raise UsageError("--steps must be between 0 and 1,000,000")
    if not (math.isfinite(args.tol) and args.tol >= 0):
        raise UsageError("--tol must be a finite number ≥ 0")
    start = parse_point(args.start, objective.dim)
    optimizer = make_optimizer(args.optimizer, **parse_assignments(args.settings, "--set"))
    result = trace(objective, optimizer, start, args.steps, tol=args.tol)
    if args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["iteration", *objective.variables, "loss", "grad_norm"])
        for k, (p, f, gn) in enumerate(zip(result.points, result.losses, result.grad_norms)):
            writer.writerow([k, *(repr(float(v)) for v in p), repr(float(f)), repr(float(gn))])
        return buffer.getvalue().rstrip("\n")
    payload = {
        "function": objective.expression or objective.name,
        "dim": objective.dim,
        "optimizer": optimizer.name,
        "parameters": {k: _jsonable(v) for k, v in optimizer.params.items()},
        "start": start,
        "points": [[float(v) for v in p] for p in result.points],
        "losses": [_finite(v) for v in result.losses],
        "grad_norms": [_finite(v) for v in result.grad_norms],
        "iterations": len(result.points) - 1,
        "status": result.status,
        "stationary_kind": result.kind or None,
        "message": result.message or None,
    }
    return json.dumps(payload, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


COMMANDS = {"trace": run_trace}


def register_command(name: str, handler: Any) -> None:
    COMMANDS[name] = handler


def main(argv: Sequence[str]) -> int:
    """Run a headless subcommand; returns the process exit code."""
    if not argv or argv[0] not in COMMANDS:
        print(f"descentlab: unknown command; use one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        output = COMMANDS[argv[0]](argv[1:])
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, ValueError) as exc:
        print(f"descentlab {argv[0]}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"descentlab {argv[0]}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # whatever the input provoked: one line, never a traceback
        print(
            f"descentlab {argv[0]}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr
        )
        return EXIT_USAGE
    if output:
        try:
            print(output)
        except BrokenPipeError:  # e.g. piped into `head`
            sys.stderr.close()
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).strip().splitlines())  # \r, \x1e, U+2028 ... too
    return text.removeprefix("descentlab trace: ").removeprefix("descentlab basin: ")


import engine.basin_cli  # noqa: E402, F401  (registers the "basin" command)

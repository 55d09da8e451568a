"""The headless trace command (design file: a public contract)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.objectives import get_objective, objective_names
from engine.optimizers import OPTIMIZERS, optimizer_names
from engine.run import STATUS_NAMES

REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main(["trace", *args])
    out, err = capsys.readouterr()
    return code, out, err


def trace_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "trace", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the JSON shape -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "optimizer", "start", "settings"),
    [
        ("rosenbrock", "gd", "-1.2,1", ["lr=0.001"]),
        ("rosenbrock", "adam", "-1.2,1", []),
        ("himmelblau", "rprop", "0.5,-0.5", ["variant=irprop+", "step0=0.2"]),
        ("beale", "momentum", "1,1", ["lr=0.001", "momentum=0.5"]),
        ("saddle", "gd", "1,0.001", []),
    ],
)
def test_json_shape(capsys, function: str, optimizer: str, start: str, settings: list) -> None:
    steps = 30
    args = ["--function", function, "--optimizer", optimizer, f"--start={start}"]
    args += ["--steps", str(steps)]
    for s in settings:
        args += ["--set", s]
    data = trace_json(capsys, *args)
    obj = get_objective(function)
    points = np.array(data["points"], float)
    expected_start = [float(v) for v in start.split(",")]
    assert data["points"][0] == expected_start
    assert data["start"] == expected_start
    assert points.shape[1] == 2
    assert data["status"] in STATUS_NAMES
    if data["status"] == "max_steps":
        assert len(points) == steps + 1
    else:
        assert len(points) <= steps + 1
    assert data["iterations"] == len(points) - 1
    assert len(data["losses"]) == len(points) == len(data["grad_norms"])
    np.testing.assert_allclose(data["losses"], obj.value(points), rtol=1e-15)
    np.testing.assert_allclose(
        data["grad_norms"], np.linalg.norm(obj.grad(points), axis=1), rtol=1e-15
    )
    assert data["optimizer"] == optimizer
    assert data["function"] == function
    assert set(data["parameters"]) == set(OPTIMIZERS[optimizer].defaults())


def test_json_matches_engine_run(capsys) -> None:
    from engine.run import trace

    data = trace_json(
        capsys,
        "--function",
        "rosenbrock",
        "--optimizer",
        "newton",
        "--start=-1.2,1",
        "--steps",
        "50",
    )
    ref = trace(get_objective("rosenbrock"), "newton", [-1.2, 1.0], 50)
    assert data["points"] == ref.points.tolist()
    assert data["status"] == ref.status == "converged"
    assert data["stationary_kind"] == "minimum"
    assert len(data["points"]) < 51


def test_saddle_reports_stationary_kind(capsys) -> None:
    data = trace_json(capsys, "--function", "saddle", "--optimizer", "newton", "--start=1,1")
    assert data["status"] == "converged"
    assert data["stationary_kind"] == "saddle"
    assert data["points"] == [[1.0, 1.0], [0.0, 0.0]]


def test_divergent_run_has_finite_points_and_valid_json(capsys) -> None:
    code, out, err = run_cli(
        capsys,
        "--function",
        "rosenbrock",
        "--optimizer",
        "gd",
        "--set",
        "lr=0.5",
        "--start=-1.2,1",
        "--steps",
        "500",
    )
    assert code == 0 and err == ""
    data = json.loads(out)  # allow_nan=False on the writer: strict JSON
    assert data["status"] == "diverged"
    assert np.all(np.isfinite(np.array(data["points"])))
    assert data["message"]


def test_steps_zero_gives_only_the_start(capsys) -> None:
    data = trace_json(
        capsys, "--function", "booth", "--optimizer", "gd", "--start=-3,2.5", "--steps", "0"
    )
    assert data["points"] == [[-3.0, 2.5]]
    assert data["status"] == "max_steps"


@pytest.mark.parametrize("start", ["-1.2,1", "-0.5,-2", "1e-3,-1e-3"])
def test_negative_starts(capsys, start: str) -> None:
    data = trace_json(
        capsys,
        "--function",
        "rosenbrock",
        "--optimizer",
        "gd",
        f"--start={start}",
        "--steps",
        "3",
        "--set",
        "lr=1e-4",
    )
    assert data["points"][0] == [float(v) for v in start.split(",")]
    assert len(data["points"]) == 4


def test_function_parameters(capsys) -> None:
    data = trace_json(
        capsys,
        "--function",
        "quadratic_1d",
        "--param",
        "a=4",
        "--param",
        "b=-2",
        "--optimizer",
        "gd",
        "--set",
        "lr=0.25",
        "--start=3",
    )
    # η = 1/a: one step to w* = 0.5 (lecture slide 45)
    assert data["points"] == [[3.0], [0.5]]
    assert data["status"] == "converged"
    assert data["dim"] == 1


def test_one_dimensional_expression_gives_1d_points(capsys) -> None:
    pytest.importorskip("engine.expressions")
    data = trace_json(
        capsys,
        "--expr",
        "x^2 - 2*x",
        "--optimizer",
        "gd",
        "--set",
        "lr=0.25",
        "--start=-3",
        "--steps",
        "10",
    )
    assert data["dim"] == 1
    assert all(len(p) == 1 for p in data["points"])
    assert data["points"][0] == [-3.0]
    # E = x² − 2x: x ← x − 0.25(2x − 2) = 0.5x + 0.5, so x_k − 1 = (−4)·0.5^k
    xs = np.array(data["points"])[:, 0]
    np.testing.assert_allclose(xs - 1.0, -4.0 * 0.5 ** np.arange(len(xs)), atol=1e-12)


def test_csv_format(capsys) -> None:
    args = ["--function", "himmelblau", "--optimizer", "rprop", "--start=-1,2", "--steps", "12"]
    code, out, err = run_cli(capsys, *args, "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["iteration", "x", "y", "loss", "grad_norm"]
    data = trace_json(capsys, *args)
    body = rows[1:]
    assert len(body) == len(data["points"])
    for k, row in enumerate(body):
        assert int(row[0]) == k
        assert [float(row[1]), float(row[2])] == data["points"][k]
        assert float(row[3]) == data["losses"][k]
        assert float(row[4]) == data["grad_norms"][k]


def test_list_functions(capsys) -> None:
    code, out, err = run_cli(capsys, "--list-functions")
    assert code == 0 and err == ""
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == objective_names()


def test_list_optimizers(capsys) -> None:
    code, out, err = run_cli(capsys, "--list-optimizers")
    assert code == 0 and err == ""
    names = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert names == optimizer_names()
    for spec in OPTIMIZERS.values():
        for p in spec.params:
            assert p.name in out


# -- errors: exit code 2, one line on stderr, no traceback ----------------------------------------

BASE = ["--function", "rosenbrock", "--optimizer", "gd", "--start=1,1"]

BAD_INPUT = [
    pytest.param(["--function", "nope", "--optimizer", "gd", "--start=1,1"], "nope", id="function"),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "sgd9", "--start=1,1"], "sgd9", id="optimizer"
    ),
    pytest.param([*BASE, "--set", "bogus=1"], "bogus", id="unknown-parameter"),
    pytest.param([*BASE, "--set", "lr=-1"], "lr", id="negative-lr"),
    pytest.param([*BASE, "--set", "lr=fast"], "lr", id="lr-not-a-number"),
    pytest.param([*BASE, "--set", "lr"], "lr", id="set-without-value"),
    pytest.param(
        [
            "--function",
            "rosenbrock",
            "--optimizer",
            "rprop",
            "--set",
            "variant=rprop",
            "--start=1,1",
        ],
        "variant",
        id="unknown-variant",
    ),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "rprop", "--set", "beta=1", "--start=1,1"],
        "beta",
        id="beta-ge-1",
    ),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "gd", "--start=a,b"], "start", id="bad-start"
    ),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "gd", "--start=1"], "start", id="1-coord"
    ),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "gd", "--start=1,2,3"], "start", id="3-coords"
    ),
    pytest.param(
        ["--function", "quadratic_1d", "--optimizer", "gd", "--start=1,2"], "start", id="2-for-1d"
    ),
    pytest.param(
        ["--function", "rosenbrock", "--optimizer", "gd", "--start=nan,1"], "start", id="nan"
    ),
    pytest.param(["--function", "rosenbrock", "--optimizer", "gd"], "start", id="missing-start"),
    pytest.param(["--function", "rosenbrock", "--start=1,1"], "optimizer", id="missing-optimizer"),
    pytest.param(["--optimizer", "gd", "--start=1,1"], "function", id="missing-function"),
    pytest.param([], "function", id="nothing"),
    pytest.param([*BASE, "--steps", "many"], "steps", id="steps-not-int"),
    pytest.param([*BASE, "--steps", "-5"], "steps", id="negative-steps"),
    pytest.param([*BASE, "--format", "xml"], "format", id="format"),
    pytest.param([*BASE, "--tol", "-1"], "tol", id="tol"),
    pytest.param([*BASE, "--garbage"], "garbage", id="unknown-flag"),
    pytest.param([*BASE, "extra", "words"], "extra", id="stray-words"),
    pytest.param(
        ["--function", "quadratic_1d", "--param", "a=x", "--optimizer", "gd", "--start=1"],
        "a",
        id="function-param-not-number",
    ),
    pytest.param(
        ["--function", "quadratic_1d", "--param", "zz=1", "--optimizer", "gd", "--start=1"],
        "zz",
        id="function-param-unknown",
    ),
    pytest.param(
        ["--function", "quadratic_1d", "--param", "a=1e9", "--optimizer", "gd", "--start=1"],
        "a",
        id="function-param-range",
    ),
    pytest.param([*BASE, "--expr", "x^2"], "expr", id="function-and-expr"),
]


@pytest.mark.parametrize(("args", "mentions"), BAD_INPUT)
def test_bad_input_in_process(capsys, args: list, mentions: str) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert mentions in lines[0]


@pytest.mark.parametrize(
    "expr",
    ["x^^2", "__import__('os')", "x +", "", "y^2 + z"],
    ids=["syntax", "import", "dangling", "empty", "unknown-var"],
)
def test_bad_expression(capsys, expr: str) -> None:
    pytest.importorskip("engine.expressions")
    code, out, err = run_cli(capsys, "--expr", expr, "--optimizer", "gd", "--start=1,1")
    assert code == 2 and out == ""
    assert len(err.strip("\n").split("\n")) == 1 and "Traceback" not in err


def test_unknown_command(capsys) -> None:
    assert cli_main(["fly"]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1


# -- through main.py, as a user runs it -----------------------------------------------------------


def test_main_py_trace_json() -> None:
    proc = run_main(
        "--function", "rosenbrock", "--optimizer", "rprop", "--start=-1.2,1", "--steps", "20"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert data["points"][0] == [-1.2, 1.0]
    assert len(data["points"]) == 21


@pytest.mark.parametrize(
    "args",
    [
        ["--function", "rosenbrock", "--optimizer", "gd", "--start", "-1.2,1"],  # needs '='
        ["--function", "nope", "--optimizer", "gd", "--start=1,1"],
        ["--function", "rosenbrock", "--optimizer", "gd", "--set", "lr=0", "--start=1,1"],
        ["--what", "?"],
    ],
)
def test_main_py_bad_input(args: list) -> None:
    proc = run_main(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip("\n").split("\n")) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_main_py_csv_with_1d_expression() -> None:
    pytest.importorskip("engine.expressions")
    proc = run_main(
        "--expr", "x^2", "--optimizer", "gd", "--start=-2", "--steps", "3", "--format", "csv"
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["iteration", "x", "loss", "grad_norm"]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx([-2.0, -1.6, -1.28, -1.024])

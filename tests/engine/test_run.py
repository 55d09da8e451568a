"""Run: batches equal separate runs, stop statuses, divergence, failures that never escape."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.objective import Objective
from engine.objectives import get_objective, objective_names
from engine.optimizers import OPTIMIZERS, make_optimizer, optimizer_names
from engine.run import STATUS_NAMES, Run, StepRecord, trace

STARTS = {
    "rosenbrock": [(-1.2, 1.0), (0.5, 0.5), (2.0, -1.0), (-0.3, 2.5)],
    "himmelblau": [(0.0, 0.0), (-4.0, 4.0), (1.0, -3.0), (-0.27, -0.92)],
}
BATCH_OBJECTIVES = [name for name in ("rosenbrock", "himmelblau") if name in objective_names()]
STEPS = 40


def collect(run: Run) -> list[StepRecord]:
    return [run.first, *run]


def assert_row_matches_single(batch: list[StepRecord], row: int, single: list[StepRecord]) -> None:
    """Row ``row`` of a batch run follows the single run exactly, then stays frozen."""
    for k, rec in enumerate(batch):
        ref = single[min(k, len(single) - 1)]
        np.testing.assert_allclose(rec.x[row], ref.x[0], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(rec.f[row], ref.f[0], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(rec.grad[row], ref.grad[0], rtol=1e-12, atol=1e-300)
        assert rec.status[row] == ref.status[0], (k, rec.status_name(row), ref.status_name(0))
        if rec.kind:
            assert rec.kind[row] == ref.kind[0]
        if k < len(single):
            for key, value in ref.visible.items():
                np.testing.assert_allclose(rec.visible[key][row], value[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("fname", BATCH_OBJECTIVES)
@pytest.mark.parametrize("name", optimizer_names())
def test_batch_equals_separate_runs(name: str, fname: str) -> None:
    obj = get_objective(fname)
    starts = np.array(STARTS[fname])
    params = {"lr": 1e-3} if name in ("gd", "momentum", "nesterov") else {}
    batch = collect(Run(obj, make_optimizer(name, **params), starts, max_steps=STEPS))
    for i, start in enumerate(starts):
        single = collect(Run(obj, make_optimizer(name, **params), [start], max_steps=STEPS))
        assert_row_matches_single(batch, i, single)


@pytest.mark.parametrize("name", optimizer_names())
def test_batch_rows_stop_independently(name: str) -> None:
    # one row starts at the minimum (converged at once), one diverges or runs, one is plain
    obj = get_objective("rosenbrock")
    starts = np.array([(1.0, 1.0), (-1.2, 1.0), (3.0, 3.0)])
    params = {"lr": 0.01} if name in ("gd", "momentum", "nesterov") else {}
    records = collect(Run(obj, make_optimizer(name, **params), starts, max_steps=25))
    assert records[0].status_name(0) == "converged"
    assert records[0].kind[0] == "minimum"
    for rec in records:
        assert rec.x[0].tolist() == [1.0, 1.0]
    for i in (1, 2):
        single = collect(Run(obj, make_optimizer(name, **params), [starts[i]], max_steps=25))
        assert_row_matches_single(records, i, single)


PER_ROW = [
    ("gd", "lr", [1e-4, 5e-4, 1e-3, 2e-3]),
    ("gd", "gamma", [0.1, 0.5, 0.9, 1.0]),
    ("momentum", "lr", [1e-4, 3e-4, 1e-3, 2e-4]),
    ("nesterov", "momentum", [0.0, 0.5, 0.9, 0.99]),
    ("adagrad", "lr", [0.01, 0.1, 0.5, 1.0]),
    ("rmsprop", "lr", [0.001, 0.01, 0.03, 0.1]),
    ("adam", "lr", [0.001, 0.01, 0.05, 0.2]),
    ("adam", "beta1", [0.0, 0.5, 0.9, 0.95]),
    ("newton", "lr", [0.1, 0.5, 1.0, 1.5]),
    ("newton", "damping", [0.0, 1.0, 10.0, 100.0]),
    ("rprop", "step0", [0.01, 0.1, 0.5, 1.0]),
    ("rprop", "beta", [0.2, 0.5, 0.7, 0.9]),
    ("bfgs", "c2", [0.1, 0.5, 0.9, 0.99]),
    ("lbfgs", "memory", [1, 2, 5, 10]),
    ("lbfgs", "c1", [1e-4, 1e-3, 0.01, 0.1]),
]


@pytest.mark.parametrize(("name", "param", "values"), PER_ROW)
def test_per_row_hyperparameters_equal_separate_runs(name: str, param: str, values: list) -> None:
    obj = get_objective("rosenbrock")
    extra = {"schedule": "exp"} if param == "gamma" else {}
    if name == "newton" and param == "damping":
        extra = {"hessian_fix": "damped"}
    start = (-1.2, 1.0)
    # one start repeated for every row, and one start per row
    for starts in ([start], [start, (0.5, 0.5), (2.0, -1.0), (-0.3, 2.5)]):
        opt = make_optimizer(name, **{param: np.array(values)}, **extra)
        run = Run(obj, opt, starts, max_steps=STEPS)
        assert run.n == len(values)
        batch = collect(run)
        for i, value in enumerate(values):
            s = starts[0] if len(starts) == 1 else starts[i]
            single = collect(
                Run(obj, make_optimizer(name, **{param: value}, **extra), [s], max_steps=STEPS)
            )
            assert_row_matches_single(batch, i, single)


def test_per_row_lr_is_visible_per_row() -> None:
    obj = get_objective("quadratic_1d", a=1.0)
    lrs = np.array([0.1, 0.5, 1.0, 1.5])
    rec = Run(obj, make_optimizer("gd", lr=lrs), [2.0]).step()
    np.testing.assert_array_equal(rec.visible["lr"], lrs)
    np.testing.assert_allclose(rec.x[:, 0], 2.0 * (1.0 - lrs))


def test_per_row_length_must_match_starts() -> None:
    obj = get_objective("rosenbrock")
    with pytest.raises(ValueError, match="per-row"):
        Run(obj, make_optimizer("gd", lr=np.array([0.1, 0.2, 0.3])), [(0, 0), (1, 1)])
    with pytest.raises(ValueError):
        make_optimizer("adam", lr=np.array([0.1, 0.2]), beta1=np.array([0.1, 0.2, 0.3]))


# -- set_params -----------------------------------------------------------------------------------


def test_set_params_changes_the_next_step() -> None:
    q = get_objective("quadratic_1d", a=1.0)
    run = Run(q, make_optimizer("gd", lr=0.1), [2.0], tol=0.0)
    assert run.step().x[0, 0] == pytest.approx(1.8)
    run.set_params(lr=0.5)
    rec = run.step()
    assert rec.x[0, 0] == pytest.approx(0.9)
    assert rec.visible["lr"][0] == 0.5
    assert run.optimizer.params["lr"] == 0.5


def test_set_params_keeps_optimizer_state() -> None:
    # momentum's buffer survives a change of η: b = μb + g continues
    q = get_objective("quadratic_1d", a=1.0)
    run = Run(q, make_optimizer("momentum", lr=0.1, momentum=0.9), [2.0], tol=0.0)
    run.step()  # b = 2, w = 1.8
    run.set_params(lr=0.2)
    rec = run.step()  # b = 0.9·2 + 1.8 = 3.6, w = 1.8 − 0.2·3.6
    assert rec.x[0, 0] == pytest.approx(1.8 - 0.72)
    # and Rprop keeps its step sizes when its variant changes
    run = Run(q, make_optimizer("rprop", variant="rprop-", step0=0.3), [1.0], tol=0.0)
    run.step()
    run.step()  # Δ = 0.36
    run.set_params(variant="irprop-")
    rec = run.step()  # s > 0: Δ = 0.432
    assert rec.visible["step_sizes"][0, 0] == pytest.approx(0.432)


def test_set_params_validates() -> None:
    run = Run(get_objective("rosenbrock"), make_optimizer("gd"), [(0.0, 0.0)])
    with pytest.raises(ValueError, match="lr"):
        run.set_params(lr=-1.0)
    with pytest.raises(ValueError, match="nope"):
        run.set_params(nope=1.0)
    with pytest.raises(ValueError, match="per-row"):
        run.set_params(lr=np.array([0.1, 0.2]))
    assert run.optimizer.params["lr"] == 0.1  # unchanged after the refusals
    assert run.step().status_name(0) == "running"


# -- divergence -----------------------------------------------------------------------------------


def _eigen_start(theta: float, cx: float, cy: float) -> list[float]:
    t = math.radians(theta)
    v1 = np.array([math.cos(t), math.sin(t)])
    v2 = np.array([-math.sin(t), math.cos(t)])
    return list(np.array([cx, cy]) + 1.0 * v1 + 1.0 * v2)  # one unit along each eigenvector


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lam1=st.floats(0.05, 500.0),
    lam2=st.floats(0.05, 500.0),
    theta=st.floats(-180.0, 180.0),
    frac=st.floats(0.01, 0.995),
)
def test_gd_never_flagged_divergent_below_two_over_lambda_max(lam1, lam2, theta, frac) -> None:
    q = get_objective("quadratic_2d", lambda1=lam1, lambda2=lam2, theta=theta, cx=1.0, cy=-1.0)
    lr = frac * 2.0 / max(lam1, lam2)
    result = trace(q, "gd", _eigen_start(theta, 1.0, -1.0), 300, lr=lr)
    assert result.status in ("max_steps", "converged")
    assert np.all(np.isfinite(result.points))
    assert result.losses[-1] <= result.losses[0]
    assert all(not np.any(r.status == STATUS_NAMES.index("diverged")) for r in result.records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lam1=st.floats(0.05, 500.0),
    lam2=st.floats(0.05, 500.0),
    theta=st.floats(-180.0, 180.0),
    over=st.floats(1.1, 50.0),
)
def test_gd_flagged_divergent_above_two_over_lambda_max(lam1, lam2, theta, over) -> None:
    q = get_objective("quadratic_2d", lambda1=lam1, lambda2=lam2, theta=theta)
    lr = over * 2.0 / max(lam1, lam2)
    assume(abs(1.0 - lr * max(lam1, lam2)) > 1.15)  # grows ≥ 15 % per step
    result = trace(q, "gd", _eigen_start(theta, 0.0, 0.0), 2000, lr=lr)
    assert result.status == "diverged"
    assert "diverged" in result.message
    assert np.all(np.isfinite(result.points))
    assert np.all(np.isfinite(result.losses))
    assert np.all(np.abs(result.points) <= 1e8)


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_huge_lr_diverges_with_finite_records(name: str) -> None:
    r = get_objective("rosenbrock")
    result = trace(r, name, [-1.2, 1.0], 5000, lr=1e3)
    assert result.status in ("diverged", "max_steps", "converged", "failed")
    assert np.all(np.isfinite(result.points))
    if name == "gd":
        assert result.status == "diverged"


# -- run invariants -------------------------------------------------------------------------------


def check_invariants(records: list[StepRecord], obj: Objective) -> None:
    n = records[0].x.shape[0]
    stopped_at: dict[int, int] = {}
    for k, rec in enumerate(records):
        assert rec.iteration == k
        assert rec.x.shape == (n, obj.dim) and np.all(np.isfinite(rec.x))
        assert rec.f.shape == (n,) and rec.grad.shape == (n, obj.dim)
        assert set(rec.status.tolist()) <= set(range(len(STATUS_NAMES)))
        assert len(rec.kind) == n
        np.testing.assert_allclose(
            rec.grad_norm, np.linalg.norm(rec.grad, axis=1), rtol=1e-15, atol=0
        )
        finite = np.isfinite(rec.f)
        np.testing.assert_allclose(rec.f[finite], obj.value(rec.x[finite]), rtol=1e-15)
        if k:
            np.testing.assert_allclose(rec.step, rec.x - records[k - 1].x, rtol=0, atol=0)
        for i in range(n):
            name = rec.status_name(i)
            if i in stopped_at:  # a stopped row never moves or changes status again
                first = records[stopped_at[i]]
                assert rec.status[i] == first.status[i]
                assert np.array_equal(rec.x[i], first.x[i])
                assert not np.any(rec.step[i])
            elif name != "running":
                stopped_at[i] = k
            if name == "converged" and rec.kind[i]:
                assert rec.kind[i] in ("minimum", "saddle", "maximum", "degenerate")
            if name in ("failed", "diverged") and i < 64:
                assert rec.messages.get(i)
    assert all(STATUS_NAMES[s] != "running" for s in records[-1].status)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(OPTIMIZERS)),
    fname=st.sampled_from(
        [n for n in objective_names() if n not in ("quadratic_1d", "quadratic_2d")]
    ),
    starts=st.lists(st.tuples(st.floats(-6.0, 6.0), st.floats(-6.0, 6.0)), min_size=1, max_size=4),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
)
def test_run_invariants(name: str, fname: str, starts: list, scale: float) -> None:
    obj = get_objective(fname)
    params = (
        {"lr": scale * OPTIMIZERS[name].defaults()["lr"]}
        if "lr" in OPTIMIZERS[name].defaults()
        else {}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = collect(Run(obj, make_optimizer(name, **params), starts, max_steps=30))
    check_invariants(records, obj)


def test_records_are_copies() -> None:
    run = Run(get_objective("rosenbrock"), make_optimizer("rprop"), [(-1.2, 1.0)])
    rec = run.step()
    saved = rec.x.copy(), rec.visible["step_sizes"].copy()
    rec.x[:] = 99.0
    rec.visible["step_sizes"][:] = 99.0
    nxt = run.step()
    assert np.all(nxt.x != 99.0)
    np.testing.assert_allclose(nxt.x[0], saved[0][0], atol=1.0)
    assert np.all(nxt.visible["step_sizes"] < 99.0)


def test_max_steps_zero_and_converged_start() -> None:
    r = get_objective("rosenbrock")
    run = Run(r, make_optimizer("gd"), [(-1.2, 1.0)], max_steps=0)
    assert run.done and run.first.status_name(0) == "max_steps"
    run = Run(r, make_optimizer("gd"), [(1.0, 1.0)])
    assert run.done and run.first.row_label(0) == "converged (minimum)"
    assert run.step().iteration == 0  # nothing left to do


def test_converged_when_no_coordinate_moves() -> None:
    # E = w at w = 1e6 with η = 1e-20: w − η·1 rounds back to w, so nothing ever moves even
    # though ‖∇E‖ = 1. One update without a move is allowed (iRprop pauses), two stop the run.
    line = get_objective("quadratic_1d", a=0.0, b=1.0)
    records = collect(Run(line, make_optimizer("gd", lr=1e-20), [1e6]))
    assert [r.status_name(0) for r in records] == ["running", "running", "converged"]
    assert "no coordinate moves" in records[-1].messages[0]
    assert records[-1].kind[0] == ""  # not a stationary point
    # on a flat function Rprop never moves either (sign(0) = 0); with tol < 0 the zero gradient
    # is no reason to stop, the standstill is, and the point is a (degenerate) stationary one
    flat = get_objective("quadratic_1d", a=0.0, b=0.0, c=3.0)
    records = collect(Run(flat, make_optimizer("rprop"), [1.0], tol=-1.0))
    assert records[-1].iteration == 2
    assert records[-1].row_label(0) == "converged (degenerate)"


# -- failures never escape ------------------------------------------------------------------------


def _log_objective() -> Objective:
    # E(x, y) = log(x) + y², undefined for x ≤ 0 (NaN there, not an overflow)
    return Objective(
        name="log",
        title="log",
        dim=2,
        f=lambda x, y: np.log(x) + y * y,
        grad_components=lambda x, y: (1.0 / x + 0.0 * y, 2.0 * y),
        hess_components=lambda x, y: ((-1.0 / (x * x), 0.0 * x), (0.0 * x, 2.0 + 0.0 * x)),
        domain=((0.1, 5.0), (-2.0, 2.0)),
    )


def test_undefined_start_fails_without_warning() -> None:
    obj = _log_objective()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = Run(obj, make_optimizer("gd"), [(-1.0, 0.5), (2.0, 0.5)], max_steps=3)
        records = collect(run)
    assert records[0].status_name(0) == "failed"
    assert "undefined" in records[0].messages[0]
    assert records[0].status_name(1) == "running"
    assert records[-1].x[0].tolist() == [-1.0, 0.5]  # start kept, finite
    assert records[-1].status_name(1) == "max_steps"


def test_stepping_into_undefined_region_fails_and_keeps_last_point() -> None:
    obj = _log_objective()
    # dE/dx = 1/x: from x = 0.5 with η = 1 the step lands at x = 0.5 − 2 = −1.5 (log undefined)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = trace(obj, "gd", [0.5, 1.0], 10, lr=1.0)
    assert result.status == "failed"
    assert "undefined" in result.message
    assert result.points[-1].tolist() == [0.5, 1.0]
    assert np.all(np.isfinite(result.points))


class Boom(RuntimeError):
    pass


def _raising(after: float | None = None):
    def f(x, y):
        if after is None or np.any(np.asarray(x) < after):
            raise Boom("objective exploded")
        return (x - 1.0) ** 2 + y * y

    return f


@pytest.mark.parametrize("name", optimizer_names())
def test_objective_that_raises_at_start_fails_rows(name: str) -> None:
    obj = replace(get_objective("booth"), f=_raising())
    run = Run(obj, make_optimizer(name), [(0.0, 0.0), (1.0, 2.0)])
    records = collect(run)
    assert [records[-1].status_name(i) for i in range(2)] == ["failed", "failed"]
    assert "objective exploded" in records[-1].messages[0]
    assert "Boom" in records[-1].messages[1]


def test_objective_that_raises_mid_run_never_escapes() -> None:
    # E = (x − 1)² + y², but evaluating anywhere with x < −0.5 raises. From x = 3, steps that
    # overshoot the minimum far enough land there; whatever an optimizer does, nothing escapes.
    base = get_objective("quadratic_2d", lambda1=2.0, lambda2=2.0, cx=1.0)
    obj = replace(base, f=_raising(after=-0.5))
    failed = set()
    for name in optimizer_names():
        params = {"lr": 0.95} if "lr" in OPTIMIZERS[name].defaults() else {}
        if name == "newton":
            params["lr"] = 1.9  # x − 1 → −0.9·(x − 1): from 3 to −0.8
        if name == "rprop":
            params["step0"] = 4.0  # first step from 3 to −1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            records = collect(Run(obj, make_optimizer(name, **params), [(3.0, 0.5)]))
        last = records[-1]
        assert np.all(np.isfinite(last.x)), name
        if last.status_name(0) == "failed":
            assert "objective exploded" in last.messages[0], name
            failed.add(name)
    assert {"gd", "newton", "rprop"} <= failed


def test_objective_raising_mid_run_is_reported() -> None:
    base = get_objective("quadratic_2d", lambda1=2.0, lambda2=2.0, cx=1.0)
    obj = replace(base, f=_raising(after=0.0))
    # GD with η = 0.9 on λ = 2: x − 1 → −0.8·(x − 1): from 3 to −0.6 — where f raises
    result = trace(obj, "gd", [3.0, 0.5], 10, lr=0.9)
    assert result.status == "failed"
    assert "Boom" in result.message and "objective exploded" in result.message
    assert result.points[-1].tolist() == [3.0, 0.5]


def test_optimizer_bug_fails_rows_with_message() -> None:
    obj = get_objective("rosenbrock")
    opt = make_optimizer("gd")

    def broken(*args):
        raise ZeroDivisionError("optimizer bug")

    bad = replace(opt, spec=replace(opt.spec, step=broken))
    records = collect(Run(obj, bad, [(0.0, 0.0)]))
    assert records[-1].status_name(0) == "failed"
    assert "optimizer bug" in records[-1].messages[0]


def test_non_finite_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        Run(get_objective("rosenbrock"), make_optimizer("gd"), [(np.nan, 0.0)])
    with pytest.raises(ValueError, match="dimension"):
        Run(get_objective("rosenbrock"), make_optimizer("gd"), [(0.0, 0.0, 1.0)])


def test_trace_shape() -> None:
    r = get_objective("rosenbrock")
    t = trace(r, "gd", [-1.2, 1.0], 25, lr=1e-3)
    assert t.points.shape == (26, 2) and t.losses.shape == (26,)
    assert t.points[0].tolist() == [-1.2, 1.0]
    np.testing.assert_allclose(t.losses, r.value(t.points))
    assert t.status == "max_steps"
    assert t.message == ""


def test_record_hessian_gives_eigen_decomposition() -> None:
    r = get_objective("rosenbrock")
    run = Run(r, make_optimizer("gd", lr=1e-3), [(-1.2, 1.0), (0.5, 1.0)], record_hessian=True)
    rec = run.step()
    np.testing.assert_allclose(rec.hess, r.hess(rec.x))
    lam = rec.visible["hess_eigvals"]
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(rec.hess), rtol=1e-10)
    assert run.first.hess is not None
    assert Run(r, make_optimizer("gd"), [(0.0, 0.0)]).first.hess is None


def test_rprop_bouncing_at_step_min_counts_as_converged() -> None:
    # Rprop's steps never drop below step_min, so ‖∇E‖ stays above tol; once the steps are
    # tiny and E stops improving, the run says so instead of running to max_steps
    himmelblau = get_objective("himmelblau")
    records = collect(Run(himmelblau, make_optimizer("rprop"), [-0.5, 0.5], max_steps=3000))
    last = records[-1]
    assert last.row_label(0) == "converged (minimum)"
    assert last.iteration < 300
    assert "no further progress" in last.messages[0]
    assert np.allclose(last.x[0], [-2.805118, 3.131312], atol=1e-4)


def test_slow_but_steady_gd_is_not_stopped_early() -> None:
    # tiny steps that still lower E are progress: GD on ½·w² with η = 1e-3 runs on
    quad = get_objective("quadratic_1d", a=1.0)
    records = collect(Run(quad, make_optimizer("gd", lr=1e-3), [1e-3], max_steps=400))
    assert records[-1].status_name(0) == "max_steps"

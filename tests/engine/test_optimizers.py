"""Optimizers against closed forms (lecture slides 44–56, 86–99) and torch.optim's update rules."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from engine.analysis import regime
from engine.objectives import get_objective, quadratic_matrix
from engine.optimizers import OPTIMIZERS, make_optimizer, optimizer_names
from engine.run import Run, trace

# -- gradient descent on E = ½aw² + bw + c: w_k − w* = (1 − ηa)^k (w0 − w*) -----------------------

A, B = 4.0, -2.0  # w* = −b/a = 0.5, η_opt = 1/a = 0.25, 2η_opt = 0.5
W_STAR = -B / A
W0 = 3.0


def closed_form_errors(factor: float, e0: float, k: int) -> np.ndarray:
    return e0 * factor ** np.arange(k)


@pytest.mark.parametrize(
    ("lr", "expected_regime"),
    [
        (0.1, "monotone"),  # η < 1/a
        (0.25, "one-step"),  # η = 1/a
        (0.4, "oscillating"),  # 1/a < η < 2/a
        (0.5, "oscillates-forever"),  # η = 2/a
        (0.6, "divergent"),  # η > 2/a
    ],
)
def test_gd_1d_quadratic_closed_form(lr: float, expected_regime: str) -> None:
    q = get_objective("quadratic_1d", a=A, b=B, c=1.0)
    assert regime(lr, A) == expected_regime
    steps = 200
    result = trace(q, "gd", [W0], steps, lr=lr)
    w = result.points[:, 0]
    assert np.all(np.isfinite(result.points))
    factor = 1.0 - lr * A
    # while running, every recorded point obeys the closed form; a stopped run's last record
    # repeats the last accepted point
    running = [r.status_name(0) == "running" for r in result.records]
    k_valid = len(w) if result.status != "diverged" else len(w) - 1
    errors = w[:k_valid] - W_STAR
    expected = closed_form_errors(factor, W0 - W_STAR, k_valid)
    np.testing.assert_allclose(errors, expected, rtol=1e-9, atol=1e-12 * abs(W0 - W_STAR))
    # losses are E at the points
    np.testing.assert_allclose(result.losses, 0.5 * A * w * w + B * w + 1.0, rtol=1e-12)

    if expected_regime == "monotone":
        assert result.status == "converged" and result.kind == "minimum"
        assert np.all(errors[:50] > 0) and np.all(np.diff(errors[:50]) < 0)
    elif expected_regime == "one-step":
        assert result.status == "converged" and result.kind == "minimum"
        assert len(w) == 2 and w[1] == pytest.approx(W_STAR, abs=1e-15)
    elif expected_regime == "oscillating":
        assert result.status in ("max_steps", "converged")
        signs = np.sign(errors[:20])
        assert np.all(signs[1:] == -signs[:-1])  # alternating sides of w*
        assert np.all(np.diff(np.abs(errors[:20])) < 0)  # shrinking
    elif expected_regime == "oscillates-forever":
        assert result.status == "max_steps" and len(w) == steps + 1
        np.testing.assert_allclose(np.abs(w - W_STAR), abs(W0 - W_STAR), rtol=1e-12)
        assert np.all(np.sign(errors[1:]) == -np.sign(errors[:-1]))
        assert all(running[:-1])
    else:
        assert result.status == "diverged"
        assert "diverged" in result.message
        assert len(w) < steps + 1
        assert np.all(np.diff(np.abs(errors)) > 0)  # growing
        assert w[-1] == w[-2]  # the blown-up point is never recorded
        assert np.all(np.abs(w) <= 1e8)


@pytest.mark.parametrize("lr", [0.05, 0.15, 0.19, 0.2, 0.25])
def test_gd_diagonal_2d_quadratic_per_coordinate(lr: float) -> None:
    # A = diag(1, 10) centred at c: the coordinates are uncoupled (slide 52) and each error
    # follows its own factor 1 − η·a_ii
    c = np.array([1.0, -2.0])
    q = get_objective("quadratic_2d", lambda1=1.0, lambda2=10.0, theta=0.0, cx=c[0], cy=c[1])
    start = np.array([4.0, 1.5])
    steps = 60
    result = trace(q, "gd", start, steps, lr=lr)
    pts = result.points
    n = len(pts) if result.status != "diverged" else len(pts) - 1
    for i, a_ii in enumerate((1.0, 10.0)):
        expected = closed_form_errors(1.0 - lr * a_ii, start[i] - c[i], n)
        np.testing.assert_allclose(pts[:n, i] - c[i], expected, rtol=1e-9, atol=1e-12)
    assert result.status == ("diverged" if lr > 2.0 / 10.0 else "max_steps")


@pytest.mark.parametrize(("theta", "lr"), [(30.0, 0.03), (-60.0, 0.039), (110.0, 0.02)])
def test_gd_rotated_quadratic_per_eigen_direction(theta: float, lr: float) -> None:
    lam = (2.0, 50.0)
    a = quadratic_matrix(lam[0], lam[1], theta)
    t = math.radians(theta)
    v1 = np.array([math.cos(t), math.sin(t)])  # λ1 lies along the direction at angle θ
    v2 = np.array([-math.sin(t), math.cos(t)])
    np.testing.assert_allclose(a @ v1, lam[0] * v1, atol=1e-12)
    np.testing.assert_allclose(a @ v2, lam[1] * v2, atol=1e-12)
    c = np.array([0.5, -1.0])
    q = get_objective("quadratic_2d", lambda1=lam[0], lambda2=lam[1], theta=theta, cx=c[0], cy=c[1])
    start = c + 1.5 * v1 - 0.8 * v2
    steps = 80
    result = trace(q, "gd", start, steps, lr=lr)
    assert result.status == "max_steps"
    err = result.points - c
    for v, lam_i, e0 in ((v1, lam[0], 1.5), (v2, lam[1], -0.8)):
        expected = closed_form_errors(1.0 - lr * lam_i, e0, steps + 1)
        np.testing.assert_allclose(err @ v, expected, rtol=1e-8, atol=1e-12)
    # the full matrix form: e_k = (I − ηA)^k e_0
    m = np.eye(2) - lr * a
    np.testing.assert_allclose(err[17], np.linalg.matrix_power(m, 17) @ err[0], atol=1e-12)


@pytest.mark.parametrize(
    ("schedule", "params", "eta"),
    [
        ("constant", {}, lambda k: 0.3),
        ("step", {"step_size": 3, "gamma": 0.5}, lambda k: 0.3 * 0.5 ** (k // 3)),
        ("exp", {"gamma": 0.9}, lambda k: 0.3 * 0.9**k),
        ("inv_time", {"decay": 0.5}, lambda k: 0.3 / (1.0 + 0.5 * k)),
    ],
)
def test_gd_schedules(schedule: str, params: dict, eta) -> None:
    # design table: η_k with k = 0 on the first update
    q = get_objective("quadratic_1d", a=2.0, b=1.0)
    steps = 10
    result = trace(q, "gd", [5.0], steps, tol=0.0, lr=0.3, schedule=schedule, **params)
    assert len(result.records) == steps + 1
    w = result.points[:, 0]
    for k in range(steps):  # record k + 1 holds update number k
        rec = result.records[k + 1]
        assert rec.visible["lr"].shape == (1,)
        assert rec.visible["lr"][0] == pytest.approx(eta(k), rel=1e-12)
        g = 2.0 * w[k] + 1.0
        assert rec.step[0, 0] == pytest.approx(-eta(k) * g, rel=1e-12, abs=1e-15)
        assert w[k + 1] == pytest.approx(w[k] - eta(k) * g, rel=1e-12, abs=1e-15)


def test_gd_step_schedule_first_decay_after_step_size_updates() -> None:
    q = get_objective("quadratic_1d", a=1.0)
    result = trace(q, "gd", [1.0], 7, tol=0.0, lr=0.4, schedule="step", step_size=3, gamma=0.1)
    lrs = [float(r.visible["lr"][0]) for r in result.records[1:]]
    np.testing.assert_allclose(lrs, [0.4, 0.4, 0.4, 0.04, 0.04, 0.04, 0.004], rtol=1e-12)


# -- Newton's method ------------------------------------------------------------------------------


def test_newton_one_step_on_1d_quadratic() -> None:
    q = get_objective("quadratic_1d", a=A, b=B, c=1.0)
    result = trace(q, "newton", [W0], 10)
    assert len(result.points) == 2
    assert result.points[1, 0] == pytest.approx(W_STAR, abs=1e-14)
    assert result.status == "converged" and result.kind == "minimum"
    # the model's minimum is where the step went, and the model is E itself here
    vis = result.records[1].visible
    assert vis["model_min"][0, 0] == pytest.approx(W_STAR, abs=1e-14)
    assert vis["model_hess"][0, 0, 0] == A


@pytest.mark.parametrize(("theta", "lams"), [(30.0, (2.0, 50.0)), (-75.0, (0.5, 900.0))])
def test_newton_one_step_on_rotated_quadratic(theta: float, lams: tuple) -> None:
    c = (1.5, -2.0)
    q = get_objective(
        "quadratic_2d", lambda1=lams[0], lambda2=lams[1], theta=theta, cx=c[0], cy=c[1]
    )
    result = trace(q, "newton", [-3.0, 4.0], 10)
    np.testing.assert_allclose(result.points[1], c, atol=1e-10)
    assert result.status == "converged" and result.kind == "minimum"
    assert len(result.points) == 2


def test_newton_model_min_is_next_point_and_model_is_taylor() -> None:
    r = get_objective("rosenbrock")
    result = trace(r, "newton", [-1.2, 1.0], 30)
    assert result.status == "converged" and result.kind == "minimum"
    np.testing.assert_allclose(result.points[-1], [1.0, 1.0], atol=1e-8)
    for prev, rec in zip(result.records, result.records[1:]):
        vis = rec.visible
        np.testing.assert_array_equal(vis["model_center"][0], prev.x[0])
        np.testing.assert_allclose(vis["model_min"][0], rec.x[0], rtol=1e-12, atol=1e-14)
        assert vis["model_value"][0] == prev.f[0]
        np.testing.assert_array_equal(vis["model_grad"][0], prev.grad[0])
        np.testing.assert_allclose(vis["model_hess"][0], r.hess(prev.x)[0], rtol=1e-12)
        # the model's gradient vanishes at model_min: g + H·(w − x) = 0
        d = vis["model_min"][0] - vis["model_center"][0]
        resid = vis["model_grad"][0] + vis["model_hess"][0] @ d
        assert np.linalg.norm(resid) <= 1e-9 * max(1.0, np.linalg.norm(vis["model_grad"][0]))


def test_newton_lr_scales_the_step_towards_model_min() -> None:
    r = get_objective("rosenbrock")
    x0 = np.array([-1.2, 1.0])
    rec = Run(r, make_optimizer("newton", lr=0.3), [x0]).step()
    full = np.linalg.solve(r.hess(x0)[0], r.grad(x0)[0])
    np.testing.assert_allclose(rec.x[0], x0 - 0.3 * full, rtol=1e-12)
    np.testing.assert_allclose(rec.visible["model_min"][0], x0 - full, rtol=1e-12)


@pytest.mark.parametrize("start", [(1.0, 1.0), (-0.3, 2.0), (1e-3, -5.0)])
def test_plain_newton_jumps_onto_the_saddle_and_says_so(start: tuple) -> None:
    s = get_objective("saddle")  # x² − y²
    result = trace(s, "newton", start, 10)
    assert len(result.points) == 2
    np.testing.assert_allclose(result.points[1], [0.0, 0.0], atol=1e-15)
    assert result.status == "converged"
    assert result.kind == "saddle"
    assert result.records[-1].row_label(0) == "converged (saddle)"


def test_saddle_free_newton_moves_away_from_the_saddle() -> None:
    s = get_objective("saddle")
    result = trace(s, "newton", [1.0, 1.0], 6, hessian_fix="abs")
    # |H| = diag(2, 2): direction H⁻¹g = (1, −1), so the first step goes to (0, 2)
    np.testing.assert_allclose(result.points[1], [0.0, 2.0], atol=1e-14)
    assert result.status != "converged"
    assert np.all(np.diff(result.losses) < 0)  # E keeps going down
    assert np.all(np.abs(result.points[1:, 1]) > 1.0)  # and the path leaves the saddle


def test_saddle_free_newton_equals_abs_eigenvalue_solve() -> None:
    r = get_objective("rosenbrock")
    x0 = np.array([0.5, 1.0])  # an indefinite Hessian here
    h = r.hess(x0)[0]
    lam, vecs = np.linalg.eigh(h)
    assert lam[0] < 0 < lam[1]
    h_abs = vecs @ np.diag(np.abs(lam)) @ vecs.T
    rec = Run(r, make_optimizer("newton", hessian_fix="abs", lr=0.5), [x0]).step()
    expected = x0 - 0.5 * np.linalg.solve(h_abs, r.grad(x0)[0])
    np.testing.assert_allclose(rec.x[0], expected, rtol=1e-10)
    np.testing.assert_allclose(rec.visible["model_hess"][0], h_abs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("damping", [0.0, 0.5, 3.0, 250.0])
def test_damped_newton_solves_h_plus_damping_identity(damping: float) -> None:
    r = get_objective("rosenbrock")
    x0 = np.array([[-1.2, 1.0], [0.5, 1.0], [2.0, -1.0]])
    rec = Run(r, make_optimizer("newton", hessian_fix="damped", damping=damping, lr=0.7), x0).step()
    for i, x in enumerate(x0):
        h = r.hess(x)[0] + damping * np.eye(2)
        expected = x - 0.7 * np.linalg.solve(h, r.grad(x)[0])
        np.testing.assert_allclose(rec.x[i], expected, rtol=1e-10)
        np.testing.assert_allclose(rec.visible["model_hess"][i], h, rtol=1e-14)


def test_newton_at_monkey_saddle_origin_is_degenerate_without_warnings() -> None:
    m = get_objective("monkey_saddle")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = trace(m, "newton", [0.0, 0.0], 5, tol=0.0)
    assert result.status == "converged"
    assert result.kind == "degenerate"
    assert result.records[-1].row_label(0) == "converged (degenerate)"
    assert result.points.tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize(
    ("name", "params", "start"),
    [
        ("quadratic_2d", {"lambda1": 0.0, "lambda2": 5.0, "theta": 30.0}, [1.0, 1.0]),
        ("quadratic_1d", {"a": 0.0, "b": 1.5}, [2.0]),
    ],
)
@pytest.mark.parametrize("fix", ["none", "abs"])
def test_newton_singular_hessian_fails_with_message(
    name: str, params: dict, start: list, fix: str
) -> None:
    obj = get_objective(name, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = trace(obj, "newton", start, 5, hessian_fix=fix)
    assert result.status == "failed"
    assert "singular" in result.message.lower()
    np.testing.assert_array_equal(result.points[-1], start)  # refused: did not move
    assert np.all(np.isfinite(result.points))


def test_damping_rescues_a_singular_hessian() -> None:
    obj = get_objective("quadratic_2d", lambda1=0.0, lambda2=5.0, theta=30.0)
    result = trace(obj, "newton", [1.0, 1.0], 50, hessian_fix="damped", damping=1.0)
    assert result.status == "converged"
    assert result.losses[-1] < 1e-12


def test_newton_batch_mixes_failed_and_running_rows() -> None:
    # the 1-D line E = 1.5w has H = 0 everywhere; a batch of such rows all fail, none raise
    obj = get_objective("quadratic_1d", a=0.0, b=1.5)
    run = Run(obj, make_optimizer("newton"), np.array([[1.0], [2.0], [-3.0]]))
    rec = run.step()
    assert [rec.status_name(i) for i in range(3)] == ["failed"] * 3
    assert run.done


# -- torch.optim reference implementations --------------------------------------------------------
# Transcribed from torch.optim's documented algorithms (weight_decay = 0, dampening = 0,
# maximize = False, lr_decay = 0, centered = False, amsgrad = False).


def torch_sgd(grad, x0, steps, lr, momentum, nesterov=False):
    # g_t = ∇f(θ_{t−1}); b_t = g_t if t = 1 else μ b_{t−1} + (1 − τ) g_t   (τ = dampening = 0)
    # g_t = g_t + μ b_t if nesterov else b_t;  θ_t = θ_{t−1} − γ g_t
    theta = np.array(x0, float)
    b = None
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        b = g.copy() if b is None else momentum * b + g
        g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        path.append(theta.copy())
    return np.array(path)


def torch_adagrad(grad, x0, steps, lr, eps):
    # state_sum_0 = 0; γ̃ = γ/(1 + (t − 1)η) = γ; state_sum_t = state_sum_{t−1} + g_t²
    # θ_t = θ_{t−1} − γ̃ g_t/(√state_sum_t + ε)
    theta = np.array(x0, float)
    state_sum = np.zeros_like(theta)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        state_sum = state_sum + g * g
        theta = theta - lr * g / (np.sqrt(state_sum) + eps)
        path.append(theta.copy())
    return np.array(path)


def torch_rmsprop(grad, x0, steps, lr, alpha, eps):
    # v_t = α v_{t−1} + (1 − α) g_t²;  θ_t = θ_{t−1} − γ g_t/(√v_t + ε)
    theta = np.array(x0, float)
    v = np.zeros_like(theta)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        v = alpha * v + (1.0 - alpha) * g * g
        theta = theta - lr * g / (np.sqrt(v) + eps)
        path.append(theta.copy())
    return np.array(path)


def torch_adam(grad, x0, steps, lr, beta1, beta2, eps):
    # m_t = β1 m_{t−1} + (1 − β1) g_t;  v_t = β2 v_{t−1} + (1 − β2) g_t²
    # m̂_t = m_t/(1 − β1^t);  v̂_t = v_t/(1 − β2^t);  θ_t = θ_{t−1} − γ m̂_t/(√v̂_t + ε)
    theta = np.array(x0, float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    path = [theta.copy()]
    for t in range(1, steps + 1):
        g = grad(theta)
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(theta.copy())
    return np.array(path)


TORCH_CASES = [
    ("momentum", {"lr": 1e-4, "momentum": 0.9}, lambda g, x0, n, p: torch_sgd(g, x0, n, **p)),
    ("momentum", {"lr": 5e-4, "momentum": 0.5}, lambda g, x0, n, p: torch_sgd(g, x0, n, **p)),
    (
        "nesterov",
        {"lr": 1e-4, "momentum": 0.9},
        lambda g, x0, n, p: torch_sgd(g, x0, n, nesterov=True, **p),
    ),
    ("adagrad", {"lr": 0.1, "eps": 1e-10}, lambda g, x0, n, p: torch_adagrad(g, x0, n, **p)),
    ("adagrad", {"lr": 0.5, "eps": 1e-3}, lambda g, x0, n, p: torch_adagrad(g, x0, n, **p)),
    (
        "rmsprop",
        {"lr": 0.01, "alpha": 0.99, "eps": 1e-8},
        lambda g, x0, n, p: torch_rmsprop(g, x0, n, **p),
    ),
    (
        "rmsprop",
        {"lr": 0.003, "alpha": 0.7, "eps": 1e-4},
        lambda g, x0, n, p: torch_rmsprop(g, x0, n, **p),
    ),
    (
        "adam",
        {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        lambda g, x0, n, p: torch_adam(g, x0, n, **p),
    ),
    (
        "adam",
        {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        lambda g, x0, n, p: torch_adam(g, x0, n, **p),
    ),
]


@pytest.mark.parametrize(
    ("fname", "fparams", "start"),
    [
        ("rosenbrock", {}, (-1.2, 1.0)),
        ("quadratic_2d", {"lambda1": 1.0, "lambda2": 20.0, "theta": 35.0, "cx": 0.5}, (3.0, -2.0)),
    ],
)
@pytest.mark.parametrize(("name", "params", "reference"), TORCH_CASES)
def test_first_order_rules_equal_torch(name, params, reference, fname, fparams, start) -> None:
    obj = get_objective(fname, **fparams)
    steps = 20
    expected = reference(lambda w: obj.grad(w[None, :])[0], start, steps, params)
    run = Run(obj, make_optimizer(name, **params), [start], max_steps=steps, tol=0.0)
    got = np.array([run.first.x[0], *(r.x[0] for r in run)])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_momentum_first_step_is_plain_gd_and_buffer_is_visible() -> None:
    q = get_objective("quadratic_1d", a=1.0)
    result = trace(q, "momentum", [2.0], 3, tol=0.0, lr=0.1, momentum=0.9)
    w = result.points[:, 0]
    assert w[1] == pytest.approx(2.0 - 0.1 * 2.0)  # buf = g on the first step
    # second step: buf = 0.9·2 + 1.8 = 3.6, w = 1.8 − 0.36
    assert result.records[2].visible["velocity"][0, 0] == pytest.approx(3.6)
    assert w[2] == pytest.approx(1.8 - 0.36)


def test_adam_default_lr_is_demo_friendly_and_documented() -> None:
    # design file: "pick a demo-friendly default and say so"
    spec = OPTIMIZERS["adam"]
    assert spec.param("lr").default > 0.001


# -- parameter validation -------------------------------------------------------------------------


LR_OPTIMIZERS = [name for name in optimizer_names() if "lr" in OPTIMIZERS[name].defaults()]


@pytest.mark.parametrize("name", LR_OPTIMIZERS)
@pytest.mark.parametrize("lr", [0.0, -0.1, -1e-12])
def test_non_positive_lr_is_rejected(name: str, lr: float) -> None:
    with pytest.raises(ValueError, match=r"\blr\b"):
        make_optimizer(name, lr=lr)


def test_every_first_order_optimizer_has_lr() -> None:
    assert set(LR_OPTIMIZERS) >= {
        "gd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "newton",
    }


@pytest.mark.parametrize(
    ("name", "param", "bad"),
    [
        ("rprop", "beta", 1.0),
        ("rprop", "beta", 1.5),
        ("rprop", "beta", 0.0),
        ("rprop", "alpha", 1.0),
        ("rprop", "alpha", 0.5),
        ("rprop", "step0", 0.0),
        ("rprop", "step_max", 0.0),
        ("adam", "beta1", 1.0),
        ("adam", "beta2", 1.0),
        ("adam", "beta2", -0.1),
        ("adam", "eps", 0.0),
        ("momentum", "momentum", 1.0),
        ("nesterov", "momentum", -0.5),
        ("rmsprop", "alpha", 1.0),
        ("adagrad", "eps", -1.0),
        ("gd", "gamma", 0.0),
        ("gd", "gamma", 1.5),
        ("gd", "step_size", 0),
        ("gd", "step_size", 2.5),
        ("gd", "decay", -0.1),
        ("newton", "damping", -1.0),
        ("lbfgs", "memory", 0),
        ("bfgs", "c1", 0.0),
        ("bfgs", "c2", 1.0),
        ("gd", "lr", float("nan")),
        ("gd", "lr", float("inf")),
        ("gd", "lr", "fast"),
        ("gd", "lr", True),
    ],
)
def test_out_of_range_parameter_is_rejected_by_name(name: str, param: str, bad) -> None:
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        make_optimizer(name, **{param: bad})


@pytest.mark.parametrize("name", optimizer_names())
def test_unknown_parameter_is_rejected_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer(name, learning_rate=0.1)


def test_unknown_optimizer_is_rejected() -> None:
    with pytest.raises(ValueError, match="sgd2"):
        make_optimizer("sgd2")


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("rprop", "variant", "irprop"),
        ("rprop", "variant", "RPROP+"),
        ("rprop", "variant", 1),
        ("newton", "hessian_fix", "levenberg"),
        ("gd", "schedule", "cosine"),
    ],
)
def test_unknown_choice_is_rejected_by_name(name: str, param: str, value) -> None:
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        make_optimizer(name, **{param: value})


def test_defaults_match_the_design_table() -> None:
    expected = {
        "gd": {"lr": 0.1, "schedule": "constant"},
        "momentum": {"lr": 0.01, "momentum": 0.9},
        "nesterov": {"lr": 0.01, "momentum": 0.9},
        "adagrad": {"lr": 0.1, "eps": 1e-10},
        "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8},
        "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "newton": {"lr": 1.0, "hessian_fix": "none", "damping": 1.0},
        "lbfgs": {"memory": 10},
        "rprop": {
            "variant": "seed",
            "step0": 0.1,
            "alpha": 1.2,
            "beta": 0.5,
            "step_min": 1e-6,
            "step_max": 50.0,
        },
    }
    assert set(optimizer_names()) == {
        "gd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "newton",
        "bfgs",
        "lbfgs",
        "rprop",
    }
    for name, params in expected.items():
        defaults = OPTIMIZERS[name].defaults()
        for key, value in params.items():
            assert defaults[key] == value, (name, key)
    assert set(OPTIMIZERS["rprop"].param("variant").choices) == {
        "seed",
        "rprop+",
        "rprop-",
        "irprop+",
        "irprop-",
    }
    assert set(OPTIMIZERS["newton"].param("hessian_fix").choices) == {"none", "abs", "damped"}
    assert set(OPTIMIZERS["gd"].param("schedule").choices) == {
        "constant",
        "step",
        "exp",
        "inv_time",
    }


def test_validation_message_is_one_readable_line() -> None:
    with pytest.raises(ValueError) as info:
        make_optimizer("rprop", beta=1.0)
    text = str(info.value)
    assert "\n" not in text
    assert re.search(r"rprop.*beta", text)


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("bfgs", {"c1": 0.95}, "c1 must be smaller than c2"),
        ("lbfgs", {"c1": 0.5, "c2": 0.4}, "c1 must be smaller than c2"),
        ("rprop", {"step_min": 60.0}, "step_min must be smaller than step_max"),
    ],
)
def test_parameters_that_must_stay_in_order_are_checked(name, params, named) -> None:
    with pytest.raises(ValueError, match=named):
        make_optimizer(name, **params)

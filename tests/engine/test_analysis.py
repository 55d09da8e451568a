"""engine.analysis: regimes, η_opt per eigen-direction, κ, and the local quadratic model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis import (
    REGIME_TEXT,
    REGIMES,
    analyse_quadratic,
    condition_number,
    local_model,
    regime,
)
from engine.objectives import get_objective, quadratic_matrix
from engine.run import trace


@pytest.mark.parametrize(
    ("lr", "curvature", "expected"),
    [
        (0.1, 4.0, "monotone"),
        (0.25, 4.0, "one-step"),
        (0.4, 4.0, "oscillating"),
        (0.5, 4.0, "oscillates-forever"),
        (0.6, 4.0, "divergent"),
        (1e-6, 1000.0, "monotone"),
        (1.0 / 3.0, 3.0, "one-step"),  # 1/3·3 is not exactly 1 in floating point
        (2.0 / 3.0, 3.0, "oscillates-forever"),
        (0.1, 0.0, "divergent"),  # no minimum along a flat direction
        (0.1, -2.0, "divergent"),  # nor along negative curvature
    ],
)
def test_regime(lr: float, curvature: float, expected: str) -> None:
    assert regime(lr, curvature) == expected
    assert expected in REGIMES and expected in REGIME_TEXT


@settings(max_examples=100, deadline=None)
@given(curvature=st.floats(0.01, 1000.0), r=st.floats(0.001, 3.0))
def test_regime_agrees_with_the_error_factor(curvature: float, r: float) -> None:
    lr = r / curvature
    factor = 1.0 - lr * curvature
    got = regime(lr, curvature)
    if abs(r - 1.0) < 1e-8 or abs(r - 2.0) < 1e-8:
        return  # the tolerance bands around the two boundaries
    expected = "monotone" if factor > 0 else "oscillating" if factor > -1 else "divergent"
    assert got == expected


def test_regime_matches_gd_behaviour_on_1d_quadratic() -> None:
    # each regime's name describes what GD actually does on E = ½aw²
    a = 2.0
    q = get_objective("quadratic_1d", a=a)
    for lr in (0.2, 0.5, 0.8, 1.0, 1.2):
        t = trace(q, "gd", [1.0], 40, lr=lr)
        w = t.points[:, 0]
        name = regime(lr, a)
        if name == "monotone":
            assert np.all(w[1:10] > 0) and np.all(np.diff(w[:10]) < 0)
        elif name == "one-step":
            assert t.status == "converged" and len(w) == 2
        elif name == "oscillating":
            assert np.all(w[1:10] * w[:9] < 0) and abs(w[9]) < abs(w[0])
        elif name == "oscillates-forever":
            np.testing.assert_allclose(np.abs(w), 1.0)
        else:
            assert abs(w[-1]) > abs(w[0])


@pytest.mark.parametrize("theta", [0.0, 30.0, -75.0])
def test_analyse_quadratic_per_direction(theta: float) -> None:
    lam1, lam2 = 1.0, 1000.0
    h = quadratic_matrix(lam1, lam2, theta)
    lr = 0.0015
    qa = analyse_quadratic(h, lr)
    assert len(qa.directions) == 2
    lams = sorted((lam1, lam2))
    for d, lam in zip(qa.directions, lams):
        assert d.eigenvalue == pytest.approx(lam, rel=1e-12)
        assert d.eta_opt == pytest.approx(1.0 / lam, rel=1e-12)
        assert d.eta_limit == pytest.approx(2.0 / lam, rel=1e-12)
        assert d.factor == pytest.approx(1.0 - lr * lam, rel=1e-12)
        assert d.regime == regime(lr, lam)
        v = np.array(d.direction)
        assert np.linalg.norm(v) == pytest.approx(1.0)
        np.testing.assert_allclose(h @ v, lam * v, atol=1e-9)
    assert [d.regime for d in qa.directions] == ["monotone", "oscillating"]
    assert qa.condition_number == pytest.approx(1000.0, rel=1e-9)
    assert qa.eta_max_stable == pytest.approx(2.0 / 1000.0, rel=1e-12)
    assert qa.converges
    assert not analyse_quadratic(h, 0.0021).converges
    assert condition_number(h) == pytest.approx(1000.0, rel=1e-9)


def test_lambda1_lies_along_theta() -> None:
    t = math.radians(40.0)
    qa = analyse_quadratic(quadratic_matrix(3.0, 7.0, 40.0), 0.1)
    v = np.array(qa.directions[0].direction)
    assert abs(v @ np.array([math.cos(t), math.sin(t)])) == pytest.approx(1.0)


def test_condition_number_well_and_ill_conditioned() -> None:
    assert condition_number(np.eye(2)) == pytest.approx(1.0)
    assert condition_number(np.diag([2.0, 5.0])) == pytest.approx(2.5)
    assert condition_number(quadratic_matrix(0.01, 100.0, 17.0)) == pytest.approx(1e4, rel=1e-6)
    assert condition_number(np.diag([-1.0, 2.0])) == math.inf  # not positive definite
    assert condition_number(np.diag([0.0, 2.0])) == math.inf


def test_analyse_1x1() -> None:
    qa = analyse_quadratic(np.array([[4.0]]), 0.25)
    assert qa.directions[0].eta_opt == 0.25 and qa.directions[0].regime == "one-step"
    assert qa.condition_number == 1.0 and qa.eta_max_stable == 0.5
    assert analyse_quadratic(4.0, 0.6).directions[0].regime == "divergent"


def test_negative_curvature_direction() -> None:
    qa = analyse_quadratic(np.diag([2.0, -3.0]), 0.1)
    neg = next(d for d in qa.directions if d.eigenvalue < 0)
    assert neg.eta_opt == math.inf and neg.regime == "divergent"
    assert not qa.converges


# -- local model ----------------------------------------------------------------------------------


@pytest.mark.parametrize("point", [(-1.2, 1.0), (0.5, 1.0), (1.5, 2.0), (0.0, 0.0)])
def test_local_model_minimum_is_the_newton_step(point: tuple) -> None:
    r = get_objective("rosenbrock")
    x = np.array(point)
    m = local_model(r, x)
    g, h = r.grad(x)[0], r.hess(x)[0]
    np.testing.assert_allclose(m.stationary_point, x - np.linalg.solve(h, g), rtol=1e-10)
    # and it is where plain Newton with η = 1 goes
    t = trace(r, "newton", point, 1)
    np.testing.assert_allclose(t.points[1], m.stationary_point, rtol=1e-12)
    # the model is the second-order Taylor expansion
    assert m(x)[0] == pytest.approx(r.value(x)[0])
    d = np.array([0.01, -0.02])
    expected = r.value(x)[0] + g @ d + 0.5 * d @ h @ d
    assert m(x + d)[0] == pytest.approx(expected, rel=1e-12)
    lam = np.linalg.eigvalsh(h)
    np.testing.assert_allclose(m.eigenvalues, lam, rtol=1e-10, atol=1e-10)
    expected_curv = (
        "positive definite" if lam[0] > 0 else "indefinite" if lam[1] > 0 else "negative definite"
    )
    assert m.curvature == expected_curv


def test_local_model_of_a_quadratic_is_the_quadratic() -> None:
    q = get_objective("quadratic_2d", lambda1=2.0, lambda2=9.0, theta=25.0, cx=1.0, cy=-1.0)
    m = local_model(q, [3.0, 4.0])
    pts = np.random.default_rng(0).uniform(-5, 5, size=(20, 2))
    np.testing.assert_allclose(m(pts), q.value(pts), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.stationary_point, [1.0, -1.0], atol=1e-12)
    assert m.curvature == "positive definite"


def test_local_model_saddle_and_singular() -> None:
    s = local_model(get_objective("saddle"), [1.0, 1.0])
    assert s.curvature == "indefinite"
    np.testing.assert_allclose(s.stationary_point, [0.0, 0.0], atol=1e-15)
    mk = local_model(get_objective("monkey_saddle"), [0.0, 0.0])
    assert mk.curvature == "singular"
    assert mk.stationary_point is None
    neg = local_model(get_objective("quadratic_2d", lambda1=-1.0, lambda2=-4.0), [1.0, 1.0])
    assert neg.curvature == "negative definite"


def test_local_model_1d() -> None:
    q = get_objective("quadratic_1d", a=4.0, b=-2.0)
    m = local_model(q, 3.0)
    assert m.stationary_point.tolist() == pytest.approx([0.5])
    assert m.curvature == "positive definite"

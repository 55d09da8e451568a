"""Every registered objective: derivatives, shapes, grids, stationary points, parameter checks."""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import replace

import numpy as np
import pytest

from engine.objective import STATIONARY_KINDS, Objective, classify_hessian
from engine.objectives import get_objective, objective_entry, objective_names

# Extra parameter sets for the parameterised families, on top of every entry's defaults.
EXTRA_PARAMS: dict[str, list[dict[str, float]]] = {
    "quadratic_1d": [
        {"a": 4.0, "b": -2.0, "c": 1.0},
        {"a": -2.0, "b": 3.0, "c": 0.0},  # a maximum
        {"a": 0.0, "b": 1.5, "c": -1.0},  # a line: no stationary point
        {"a": 100.0, "b": 100.0, "c": 5.0},
    ],
    "quadratic_2d": [
        {"lambda1": 2.0, "lambda2": 50.0, "theta": 30.0, "cx": 1.0, "cy": -2.0},
        {"lambda1": -3.0, "lambda2": 5.0, "theta": -75.0},  # a saddle
        {"lambda1": -1.0, "lambda2": -4.0, "theta": 120.0, "cx": -3.0},  # a maximum
        {"lambda1": 0.0, "lambda2": 7.0, "theta": 45.0},  # degenerate valley
        {"lambda1": 1.0, "lambda2": 1000.0, "theta": 10.0, "cy": 2.5},
    ],
}

# The functions the app ships with (the registry may grow; everything in it is tested below).
EXPECTED_NAMES = {
    "quadratic_1d",
    "quadratic_2d",
    "rosenbrock",
    "himmelblau",
    "beale",
    "booth",
    "matyas",
    "three_hump_camel",
    "six_hump_camel",
    "goldstein_price",
    "rastrigin",
    "ackley",
    "saddle",
    "monkey_saddle",
}

# Literature values E* of the global minimum.
GLOBAL_MINIMUM_VALUES = {
    "rosenbrock": 0.0,
    "himmelblau": 0.0,
    "beale": 0.0,
    "booth": 0.0,
    "matyas": 0.0,
    "three_hump_camel": 0.0,
    "six_hump_camel": -1.031628453489877,
    "goldstein_price": 3.0,
    "rastrigin": 0.0,
    "ackley": 0.0,
}

# Points where an objective is not differentiable; finite differences stay away from them.
NONSMOOTH = {"ackley": [(0.0, 0.0)]}

N_RANDOM = 20


def _case_id(name: str, params: dict[str, float]) -> str:
    if not params:
        return name
    return name + "[" + ",".join(f"{k}={v:g}" for k, v in params.items()) + "]"


CASES = [(name, {}) for name in objective_names()] + [
    (name, params) for name, sets in EXTRA_PARAMS.items() for params in sets
]
CASE_IDS = [_case_id(name, params) for name, params in CASES]
ALL_PARAMS = [(name, p) for name in objective_names() for p in objective_entry(name).params]


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request) -> tuple[str, Objective]:
    name, params = request.param
    return _case_id(name, params), get_objective(name, **params)


# -- helpers ---------------------------------------------------------------------------------------


def random_points(obj: Objective, key: str, n: int = N_RANDOM) -> np.ndarray:
    """``n`` reproducible points inside the domain (5 % margin), away from non-smooth points."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    lo = np.array([a + 0.05 * (b - a) for a, b in obj.domain])
    hi = np.array([b - 0.05 * (b - a) for a, b in obj.domain])
    bad = np.array(NONSMOOTH.get(obj.name, []), dtype=float).reshape(-1, obj.dim)
    out = []
    while len(out) < n:
        p = rng.uniform(lo, hi)
        if bad.size and np.min(np.linalg.norm(bad - p, axis=1)) < 0.1:
            continue
        out.append(p)
    return np.array(out)


def steps(obj: Objective) -> np.ndarray:
    """A finite-difference step per coordinate, 1e-4 of the domain's width."""
    return np.array([1e-4 * (b - a) for a, b in obj.domain])


def fd_derivative(fun, points: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Fourth-order central differences of ``fun`` (n, d) -> (n, ...) -> (n, ..., d)."""
    cols = []
    for j in range(points.shape[1]):
        e = np.zeros(points.shape[1])
        e[j] = h[j]
        d = -fun(points + 2 * e) + 8 * fun(points + e) - 8 * fun(points - e) + fun(points - 2 * e)
        cols.append(d / (12 * h[j]))
    return np.stack(cols, axis=-1)


def assert_grad_matches_fd(obj: Objective, points: np.ndarray) -> None:
    g = obj.grad(points)
    fd = fd_derivative(obj.value, points, steps(obj))
    assert g.shape == fd.shape
    # Round-off in the difference quotient grows with |E|/h; everything else is relative.
    f = np.abs(obj.value(points))
    scale = np.maximum(1.0, np.max(np.abs(g), axis=1)) + 1e-11 * f / np.min(steps(obj))
    err = np.abs(g - fd)
    bad = err > 1e-5 * np.abs(fd) + 1e-7 * scale[:, None]
    assert not bad.any(), (
        f"{obj.name}: gradient differs from finite differences at {points[bad.any(axis=1)]}:\n"
        f"analytic {g[bad.any(axis=1)]}\nnumeric  {fd[bad.any(axis=1)]}"
    )


def assert_hess_matches_fd(obj: Objective, points: np.ndarray) -> None:
    h = obj.hess(points)
    fd = fd_derivative(obj.grad, points, steps(obj))  # fd[:, i, j] = ∂g_i/∂x_j
    assert h.shape == fd.shape
    g = np.max(np.abs(obj.grad(points)), axis=1)
    scale = np.maximum(1.0, np.max(np.abs(h), axis=(1, 2))) + 1e-11 * g / np.min(steps(obj))
    err = np.abs(h - fd)
    bad = err > 1e-5 * np.abs(fd) + 1e-7 * scale[:, None, None]
    rows = bad.any(axis=(1, 2))
    assert not bad.any(), (
        f"{obj.name}: Hessian differs from finite differences of the gradient at "
        f"{points[rows]}:\nanalytic {h[rows]}\nnumeric  {fd[rows]}"
    )


def domain_grid(obj: Objective, n: int = 33) -> list[np.ndarray]:
    """Mesh over the domain (odd n, so a symmetric domain's centre 0 is on it)."""
    axes = [np.linspace(a, b, n) for a, b in obj.domain]
    if obj.dim == 1:
        return axes
    return list(np.meshgrid(*axes))


# -- the registry ----------------------------------------------------------------------------------


def test_registry_holds_the_shipped_objectives():
    names = objective_names()
    assert set(names) >= EXPECTED_NAMES, EXPECTED_NAMES - set(names)
    assert len(names) == len(set(names))
    for name in names:
        entry = objective_entry(name)
        assert entry.name == name
        assert entry.description.strip(), f"{name} has no description"
        obj = get_objective(name)
        assert obj.name == name
        assert obj.dim == entry.dim == len(obj.domain)
        assert obj.formula.strip(), f"{name} has no formula"
        for lo, hi in obj.domain:
            assert math.isfinite(lo) and math.isfinite(hi) and lo < hi


# -- derivatives -----------------------------------------------------------------------------------


def test_gradient_matches_finite_differences(case):
    key, obj = case
    assert_grad_matches_fd(obj, random_points(obj, key))


def test_hessian_matches_finite_differences_of_gradient(case):
    key, obj = case
    assert_hess_matches_fd(obj, random_points(obj, key))


def test_hessian_is_symmetric(case):
    key, obj = case
    points = np.vstack([random_points(obj, key)] + [[p.point] for p in obj.stationary])
    h = obj.hess(points)
    np.testing.assert_allclose(h, np.swapaxes(h, -1, -2), rtol=1e-12, atol=1e-12)


def test_the_checks_catch_a_wrong_gradient_and_hessian():
    """The finite-difference checks are not vacuous: a 0.1 % error is caught."""
    obj = get_objective("himmelblau")
    points = random_points(obj, "self-test")
    wrong_grad = replace(
        obj, grad_components=lambda x, y: tuple(1.001 * g for g in obj.grad_components(x, y))
    )
    with pytest.raises(AssertionError, match="gradient differs"):
        assert_grad_matches_fd(wrong_grad, points)

    def hess(x, y):
        (hxx, hxy), (_, hyy) = obj.hess_components(x, y)
        return ((hxx, 1.001 * hxy), (1.001 * hxy, hyy))

    with pytest.raises(AssertionError, match="Hessian differs"):
        assert_hess_matches_fd(replace(obj, hess_components=hess), points)


# -- shapes, grids, finiteness ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7])
def test_batch_shapes(case, n):
    key, obj = case
    points = random_points(obj, key, n)
    d = obj.dim
    assert obj.value(points).shape == (n,)
    assert obj.grad(points).shape == (n, d)
    assert obj.hess(points).shape == (n, d, d)
    if n == 1:  # a single point given as a flat vector is a batch of one
        flat = points[0]
        assert obj.value(flat).shape == (1,)
        assert obj.grad(flat).shape == (1, d)
        assert obj.hess(flat).shape == (1, d, d)
        np.testing.assert_allclose(obj.grad(flat), obj.grad(points), rtol=1e-14)


def test_grid_matches_value(case):
    _, obj = case
    ny, nx = 5, 7  # unequal, so a transposed grid cannot pass
    if obj.dim == 1:
        xs, ys, z = obj.grid(obj.domain[0], shape=(ny, nx))
        assert xs.shape == (nx,) and ys.size == 0
        assert z.shape == (nx,)
        expected = obj.value(xs[:, None])
    else:
        xs, ys, z = obj.grid(obj.domain[0], obj.domain[1], shape=(ny, nx))
        assert xs.shape == (nx,) and ys.shape == (ny,)
        assert z.shape == (ny, nx)
        np.testing.assert_allclose(xs[[0, -1]], obj.domain[0])
        np.testing.assert_allclose(ys[[0, -1]], obj.domain[1])
        xx, yy = np.meshgrid(xs, ys)
        expected = obj.value(np.column_stack([xx.ravel(), yy.ravel()])).reshape(ny, nx)
    np.testing.assert_allclose(z, expected, rtol=1e-12, atol=1e-12)


def test_components_broadcast_and_stay_finite_without_warnings(case):
    """Raw components on a domain mesh (incl. the centre and the corners): right shape, finite,
    and no floating-point warning even outside the Objective's np.errstate wrapper."""
    _, obj = case
    mesh = domain_grid(obj)
    shape = mesh[0].shape
    with np.errstate(all="raise"):
        parts = {
            "f": [obj.f(*mesh)],
            "grad": list(obj.grad_components(*mesh)),
            "hess": [h for row in obj.hess_components(*mesh) for h in row],
        }
    assert len(parts["grad"]) == obj.dim
    assert len(parts["hess"]) == obj.dim**2
    for kind, arrays in parts.items():
        for a in arrays:
            assert np.shape(a) == shape, f"{obj.name}: {kind} component has shape {np.shape(a)}"
            assert np.all(np.isfinite(a)), f"{obj.name}: non-finite {kind} on the domain"


def test_stationary_points_evaluate_without_warnings(case):
    _, obj = case
    for p in obj.stationary:
        with np.errstate(all="raise"):
            values = [obj.f(*p.point), *obj.grad_components(*p.point)]
            values += [h for row in obj.hess_components(*p.point) for h in row]
        assert np.all(np.isfinite(values)), f"{obj.name}: non-finite at {p.point}"


# -- stationary points -----------------------------------------------------------------------------


def test_listed_stationary_points(case):
    _, obj = case
    for p in obj.stationary:
        assert p.kind in STATIONARY_KINDS
        assert len(p.point) == obj.dim
        for c, (lo, hi) in zip(p.point, obj.domain, strict=True):
            assert lo <= c <= hi, f"{obj.name}: {p.label or p.kind} {p.point} outside {obj.domain}"
        h = obj.hess([p.point])
        g = obj.grad([p.point])[0]
        # coordinate error δ gives a gradient of about H·δ
        tol = 1e-4 * max(1.0, float(np.linalg.norm(h[0], 2)))
        assert np.linalg.norm(g) <= tol, f"{obj.name}: ∇E = {g} at {p.label or p.kind} {p.point}"
        kind = classify_hessian(h)[0]
        assert kind == p.kind, f"{obj.name}: {p.point} listed as {p.kind}, Hessian says {kind}"


def test_quadratic_stationary_points_follow_the_parameters():
    assert get_objective("quadratic_1d", a=4.0, b=-2.0).stationary[0].point == pytest.approx((0.5,))
    assert get_objective("quadratic_1d", a=-2.0).stationary[0].kind == "maximum"
    assert get_objective("quadratic_1d", a=0.0, b=1.0).stationary == ()
    q = get_objective("quadratic_2d", lambda1=-3.0, lambda2=5.0, theta=20.0, cx=1.0, cy=2.0)
    assert q.stationary[0].point == pytest.approx((1.0, 2.0))
    assert q.stationary[0].kind == "saddle"
    assert get_objective("quadratic_2d", lambda1=0.0).stationary[0].kind == "degenerate"


@pytest.mark.parametrize("name", sorted(GLOBAL_MINIMUM_VALUES))
def test_global_minima(name):
    obj = get_objective(name)
    best = [p for p in obj.minima if p.label == "global minimum"]
    assert best, f"{name} lists no global minimum"
    values = obj.value([p.point for p in best])
    np.testing.assert_allclose(values, GLOBAL_MINIMUM_VALUES[name], rtol=0, atol=1e-8)
    # no point of a fine grid over the domain lies lower, and no listed minimum lies lower
    _, _, z = obj.grid(*obj.domain, shape=(401, 401))
    assert np.min(z) >= GLOBAL_MINIMUM_VALUES[name] - 1e-8
    assert np.all(obj.value([p.point for p in obj.minima]) >= GLOBAL_MINIMUM_VALUES[name] - 1e-8)


def test_known_stationary_point_sets():
    him = get_objective("himmelblau")
    assert len(him.minima) == 4
    for m in [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        assert any(np.allclose(p.point, m, atol=1e-5) for p in him.minima), m
    maxima = [p for p in him.stationary if p.kind == "maximum"]
    assert len(maxima) == 1
    assert maxima[0].point == pytest.approx((-0.270845, -0.923039), abs=1e-5)

    camel3 = get_objective("three_hump_camel")
    assert len(camel3.minima) == 3
    assert any(np.allclose(p.point, (0.0, 0.0)) for p in camel3.minima)

    camel6 = get_objective("six_hump_camel")
    best = sorted(p.point for p in camel6.minima if p.label == "global minimum")
    np.testing.assert_allclose(best, [(-0.0898, 0.7126), (0.0898, -0.7126)], atol=1e-4)

    assert [(p.point, p.kind) for p in get_objective("saddle").stationary] == [
        ((0.0, 0.0), "saddle")
    ]
    assert [(p.point, p.kind) for p in get_objective("monkey_saddle").stationary] == [
        ((0.0, 0.0), "degenerate")
    ]


def test_ackley_at_its_tip():
    """The cone tip: value 0, gradient exactly 0, a finite Hessian (the cosine part), no warning."""
    obj = get_objective("ackley")
    origin = np.zeros((1, 2))
    with np.errstate(all="raise"):
        assert obj.value(origin)[0] == pytest.approx(0.0, abs=1e-12)
        assert np.all(obj.grad(origin) == 0.0)
        h = obj.hess(origin)[0]
    np.testing.assert_allclose(h, 2 * math.pi**2 * math.e * np.eye(2), rtol=1e-12)
    # ... while just off the tip the gradient points away from it with slope 20·0.2/√2
    g = obj.grad([[1e-9, 0.0]])[0]
    assert g[0] == pytest.approx(20 * 0.2 / math.sqrt(2), rel=1e-6)


LOG_SCALE = [name for name in objective_names() if get_objective(name).log_scale]


def test_wide_range_objectives_use_a_log_scale():
    assert {"rosenbrock", "beale", "goldstein_price"} <= set(LOG_SCALE)


@pytest.mark.parametrize("name", LOG_SCALE)
def test_log_scale_objectives_are_nonnegative(name):
    _, _, z = get_objective(name).grid(*get_objective(name).domain, shape=(101, 101))
    assert np.min(z) >= -1e-12


# -- parameters ------------------------------------------------------------------------------------


def _names_param(name: str) -> str:
    return rf"(?<![\w]){re.escape(name)}(?![\w])"


def test_unknown_function_is_rejected():
    with pytest.raises(ValueError, match="no_such_function"):
        get_objective("no_such_function")


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_unknown_parameter_is_rejected(name):
    with pytest.raises(ValueError, match=_names_param("zeta")):
        get_objective(name, zeta=1.0)


@pytest.mark.parametrize(
    ("name", "param"), ALL_PARAMS, ids=[f"{n}-{p.name}" for n, p in ALL_PARAMS]
)
def test_out_of_range_parameters_are_rejected(name, param):
    width = param.high - param.low
    for bad in (param.low - 0.01 * width, param.high + 0.01 * width, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=_names_param(param.name)):
            get_objective(name, **{param.name: bad})


@pytest.mark.parametrize(
    ("name", "param"), ALL_PARAMS, ids=[f"{n}-{p.name}" for n, p in ALL_PARAMS]
)
def test_parameter_range_is_inclusive(name, param):
    assert param.low <= param.default <= param.high
    for ok in (param.low, param.default, param.high):
        obj = get_objective(name, **{param.name: ok})
        assert obj.params[param.name] == ok
        centre = [[0.5 * (a + b) for a, b in obj.domain]]
        assert np.all(np.isfinite(obj.value(centre)))

"""The built-in objectives and the lecture's quadratic families, in one registry.

Gradients and Hessians are written out by hand (checked against finite differences in
tests/engine/test_objectives.py) so that start-up never has to import sympy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from engine.objective import Objective, StationaryPoint


@dataclass(frozen=True)
class ObjectiveParam:
    """A numeric parameter of a parameterised objective family (e.g. a, b, c of ½aw²+bw+c)."""

    name: str
    default: float
    low: float
    high: float
    help: str = ""


@dataclass(frozen=True)
class ObjectiveEntry:
    """Registry entry: how to build an objective, and which parameters it takes."""

    name: str
    title: str
    dim: int
    factory: Callable[..., Objective]
    params: tuple[ObjectiveParam, ...] = ()
    description: str = ""


_REGISTRY: dict[str, ObjectiveEntry] = {}


def register(entry: ObjectiveEntry) -> ObjectiveEntry:
    _REGISTRY[entry.name] = entry
    return entry


def objective_names() -> list[str]:
    return list(_REGISTRY)


def objective_entry(name: str) -> ObjectiveEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown function {name!r}; choose one of: {', '.join(_REGISTRY)}"
        ) from None


def get_objective(name: str, **params: float) -> Objective:
    """Build a registered objective; unknown or out-of-range parameters raise ValueError."""
    entry = objective_entry(name)
    known = {p.name: p for p in entry.params}
    for key, value in params.items():
        if key not in known:
            allowed = ", ".join(known) or "none"
            raise ValueError(f"{name}: unknown parameter {key!r} (parameters: {allowed})")
        spec = known[key]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: parameter {key} must be a finite number (got {value!r})")
        if not spec.low <= value <= spec.high:
            raise ValueError(
                f"{name}: parameter {key} must be in [{spec.low:g}, {spec.high:g}] (got {value:g})"
            )
    full = {p.name: p.default for p in entry.params} | {k: float(v) for k, v in params.items()}
    return entry.factory(**full)


def _simple(
    name: str,
    title: str,
    f: Callable,
    grad: Callable,
    hess: Callable,
    domain: tuple[tuple[float, float], ...],
    stationary: tuple[StationaryPoint, ...],
    formula: str,
    log_scale: bool = False,
    description: str = "",
) -> None:
    """Register a fixed (parameter-free) 2-D objective."""

    def factory() -> Objective:
        return Objective(
            name=name,
            title=title,
            dim=2,
            f=f,
            grad_components=grad,
            hess_components=hess,
            domain=domain,
            stationary=stationary,
            log_scale=log_scale,
            formula=formula,
        )

    register(ObjectiveEntry(name, title, 2, factory, description=description))


# -- lecture quadratics ----------------------------------------------------------------------------


def quadratic_1d(a: float = 1.0, b: float = 0.0, c: float = 0.0) -> Objective:
    """The lecture's E = ½·a·w² + b·w + c (slide 44)."""
    stationary: tuple[StationaryPoint, ...] = ()
    domain = ((-5.0, 5.0),)
    w_star = -b / a if a != 0 else math.inf
    if math.isfinite(w_star):  # a tiny a (e.g. 1e-310) puts w* beyond the floats: no minimum
        kind = "minimum" if a > 0 else "maximum"
        stationary = (StationaryPoint((w_star,), kind),)
        half = max(3.0, 2.5 * abs(w_star) + 3.0 / math.sqrt(abs(a)))
        if math.isfinite(w_star - half) and math.isfinite(w_star + half):
            domain = ((w_star - half, w_star + half),)
    return Objective(
        name="quadratic_1d",
        title="1-D quadratic",
        dim=1,
        f=lambda x: 0.5 * a * x * x + b * x + c,
        grad_components=lambda x: (a * x + b,),
        hess_components=lambda x: ((np.full_like(np.asarray(x, float), a),),),
        domain=domain,
        stationary=stationary,
        params=MappingProxyType({"a": a, "b": b, "c": c}),
        formula=f"E(w) = ½·{a:g}·w² + {b:g}·w + {c:g}",
    )


def quadratic_matrix(lambda1: float, lambda2: float, theta: float) -> np.ndarray:
    """A = R(θ)·diag(λ1, λ2)·R(θ)ᵀ, θ in degrees; λ1 lies along the direction at angle θ."""
    t = math.radians(theta)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return rot @ np.diag([lambda1, lambda2]) @ rot.T


def quadratic_2d(
    lambda1: float = 1.0,
    lambda2: float = 10.0,
    theta: float = 0.0,
    cx: float = 0.0,
    cy: float = 0.0,
) -> Objective:
    """E(w) = ½(w−c)ᵀA(w−c) with A built from eigenvalues λ1, λ2 and rotation θ (degrees)."""
    a = quadratic_matrix(lambda1, lambda2, theta)
    a11, a12, a22 = float(a[0, 0]), float(a[0, 1]), float(a[1, 1])

    def f(x, y):
        dx, dy = x - cx, y - cy
        return 0.5 * (a11 * dx * dx + 2.0 * a12 * dx * dy + a22 * dy * dy)

    def grad(x, y):
        dx, dy = x - cx, y - cy
        return (a11 * dx + a12 * dy, a12 * dx + a22 * dy)

    def hess(x, y):
        shape = np.shape(x)
        return (
            (np.full(shape, a11), np.full(shape, a12)),
            (np.full(shape, a12), np.full(shape, a22)),
        )

    if lambda1 > 0 and lambda2 > 0:
        kind = "minimum"
    elif lambda1 < 0 and lambda2 < 0:
        kind = "maximum"
    elif lambda1 * lambda2 < 0:
        kind = "saddle"
    else:
        kind = "degenerate"
    half = 4.0
    return Objective(
        name="quadratic_2d",
        title="2-D quadratic",
        dim=2,
        f=f,
        grad_components=grad,
        hess_components=hess,
        domain=((cx - half, cx + half), (cy - half, cy + half)),
        stationary=(StationaryPoint((cx, cy), kind),),
        params=MappingProxyType(
            {"lambda1": lambda1, "lambda2": lambda2, "theta": theta, "cx": cx, "cy": cy}
        ),
        formula="E(w) = ½ (w−c)ᵀ A (w−c),  A = R(θ) diag(λ1, λ2) R(θ)ᵀ",
    )


register(
    ObjectiveEntry(
        "quadratic_1d",
        "1-D quadratic  E = ½aw² + bw + c",
        1,
        quadratic_1d,
        (
            ObjectiveParam("a", 1.0, -10.0, 100.0, "curvature E''(w) = a"),
            ObjectiveParam("b", 0.0, -100.0, 100.0, "linear term"),
            ObjectiveParam("c", 0.0, -100.0, 100.0, "constant"),
        ),
        "The lecture's scalar quadratic; η_opt = 1/a.",
    )
)
register(
    ObjectiveEntry(
        "quadratic_2d",
        "2-D quadratic  ½(w−c)ᵀA(w−c)",
        2,
        quadratic_2d,
        (
            ObjectiveParam("lambda1", 1.0, -100.0, 1000.0, "eigenvalue λ1 of A"),
            ObjectiveParam("lambda2", 10.0, -100.0, 1000.0, "eigenvalue λ2 of A"),
            ObjectiveParam("theta", 0.0, -180.0, 180.0, "rotation of the eigenbasis, degrees"),
            ObjectiveParam("cx", 0.0, -100.0, 100.0, "centre x"),
            ObjectiveParam("cy", 0.0, -100.0, 100.0, "centre y"),
        ),
        "Diagonal (θ = 0) or rotated (coupled) paraboloid; κ = λmax/λmin.",
    )
)


# -- classic test functions ------------------------------------------------------------------------


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(x, y):
    return (-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x))


def _rosenbrock_hess(x, y):
    hxy = -400.0 * x
    return ((2.0 - 400.0 * y + 1200.0 * x * x, hxy), (hxy, np.full(np.shape(x), 200.0)))


_simple(
    "rosenbrock",
    "Rosenbrock",
    _rosenbrock,
    _rosenbrock_grad,
    _rosenbrock_hess,
    ((-2.0, 2.0), (-1.0, 3.0)),
    (StationaryPoint((1.0, 1.0), "minimum", "global minimum"),),
    "(1 − x)² + 100 (y − x²)²",
    log_scale=True,
    description="A curved, narrow valley: easy to find, slow to follow.",
)


def _full(x, y, c: float) -> np.ndarray:
    """A constant Hessian component with the broadcast shape of the inputs."""
    return np.full(np.broadcast_shapes(np.shape(x), np.shape(y)), c)


def _himmelblau(x, y):
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def _himmelblau_grad(x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return (4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b)


def _himmelblau_hess(x, y):
    hxy = 4.0 * (x + y)
    return ((12.0 * x * x + 4.0 * y - 42.0, hxy), (hxy, 12.0 * y * y + 4.0 * x - 26.0))


_simple(
    "himmelblau",
    "Himmelblau",
    _himmelblau,
    _himmelblau_grad,
    _himmelblau_hess,
    ((-5.0, 5.0), (-5.0, 5.0)),
    (
        StationaryPoint((3.0, 2.0), "minimum", "global minimum"),
        StationaryPoint((-2.8051180870, 3.1313125183), "minimum", "global minimum"),
        StationaryPoint((-3.7793102534, -3.2831859913), "minimum", "global minimum"),
        StationaryPoint((3.5844283403, -1.8481265270), "minimum", "global minimum"),
        StationaryPoint((-0.2708445907, -0.9230385565), "maximum", "local maximum"),
        StationaryPoint((3.3851541836, 0.0738518798), "saddle", "saddle"),
        StationaryPoint((0.0866775046, 2.8842547012), "saddle", "saddle"),
        StationaryPoint((-3.0730257508, -0.0813530443), "saddle", "saddle"),
        StationaryPoint((-0.1279613467, -1.9537149802), "saddle", "saddle"),
    ),
    "(x² + y − 11)² + (x + y² − 7)²",
    log_scale=True,
    description="Four equally deep minima: where you end up depends on where you start.",
)


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2


def _beale_parts(x, y):
    """Residuals r_i = c_i − x + x·yⁱ and their partials ∂r_i/∂x = yⁱ − 1, ∂r_i/∂y = i·x·yⁱ⁻¹."""
    y2 = y * y
    y3 = y2 * y
    r = (1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3)
    dx = (y - 1.0, y2 - 1.0, y3 - 1.0)
    dy = (x, 2.0 * x * y, 3.0 * x * y2)
    return r, dx, dy


def _beale_grad(x, y):
    r, dx, dy = _beale_parts(x, y)
    return (
        2.0 * (r[0] * dx[0] + r[1] * dx[1] + r[2] * dx[2]),
        2.0 * (r[0] * dy[0] + r[1] * dy[1] + r[2] * dy[2]),
    )


def _beale_hess(x, y):
    r, dx, dy = _beale_parts(x, y)
    hxx = 2.0 * (dx[0] ** 2 + dx[1] ** 2 + dx[2] ** 2)
    # ∂²r_i/∂x∂y = i·yⁱ⁻¹ and ∂²r_i/∂y² = i(i−1)·x·yⁱ⁻²
    hxy = 2.0 * (
        dx[0] * dy[0] + r[0] + dx[1] * dy[1] + 2.0 * y * r[1] + dx[2] * dy[2] + 3.0 * y * y * r[2]
    )
    hyy = 2.0 * (dy[0] ** 2 + dy[1] ** 2 + dy[2] ** 2 + 2.0 * x * r[1] + 6.0 * x * y * r[2])
    return ((hxx, hxy), (hxy, hyy))


_simple(
    "beale",
    "Beale",
    _beale,
    _beale_grad,
    _beale_hess,
    ((-4.5, 4.5), (-4.5, 4.5)),
    (
        StationaryPoint((3.0, 0.5), "minimum", "global minimum"),
        StationaryPoint((0.0, 1.0), "saddle", "saddle"),
        StationaryPoint((0.1005379373, -2.6445135850), "saddle", "saddle"),
    ),
    "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
    log_scale=True,
    description="Flat plateaus and steep ridges that stretch out towards the corners.",
)


def _booth(x, y):
    return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2


def _booth_grad(x, y):
    return (10.0 * x + 8.0 * y - 34.0, 8.0 * x + 10.0 * y - 38.0)


def _booth_hess(x, y):
    return ((_full(x, y, 10.0), _full(x, y, 8.0)), (_full(x, y, 8.0), _full(x, y, 10.0)))


_simple(
    "booth",
    "Booth",
    _booth,
    _booth_grad,
    _booth_hess,
    ((-10.0, 10.0), (-10.0, 10.0)),
    (StationaryPoint((1.0, 3.0), "minimum", "global minimum"),),
    "(x + 2y − 7)² + (2x + y − 5)²",
    description="A tilted quadratic bowl (condition number 9) with its minimum at (1, 3).",
)


def _matyas(x, y):
    return 0.26 * (x * x + y * y) - 0.48 * x * y


def _matyas_grad(x, y):
    return (0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x)


def _matyas_hess(x, y):
    return ((_full(x, y, 0.52), _full(x, y, -0.48)), (_full(x, y, -0.48), _full(x, y, 0.52)))


_simple(
    "matyas",
    "Matyas",
    _matyas,
    _matyas_grad,
    _matyas_hess,
    ((-10.0, 10.0), (-10.0, 10.0)),
    (StationaryPoint((0.0, 0.0), "minimum", "global minimum"),),
    "0.26 (x² + y²) − 0.48 xy",
    description="A quadratic whose long, almost flat diagonal valley (κ = 25) slows plain descent.",
)


def _three_hump_camel(x, y):
    x2 = x * x
    return 2.0 * x2 - 1.05 * x2 * x2 + x2 * x2 * x2 / 6.0 + x * y + y * y


def _three_hump_camel_grad(x, y):
    x2 = x * x
    return (4.0 * x - 4.2 * x2 * x + x2 * x2 * x + y, x + 2.0 * y)


def _three_hump_camel_hess(x, y):
    x2 = x * x
    one = _full(x, y, 1.0)
    return ((4.0 - 12.6 * x2 + 5.0 * x2 * x2, one), (one, _full(x, y, 2.0)))


_simple(
    "three_hump_camel",
    "Three-hump camel",
    _three_hump_camel,
    _three_hump_camel_grad,
    _three_hump_camel_hess,
    ((-5.0, 5.0), (-5.0, 5.0)),
    (
        StationaryPoint((0.0, 0.0), "minimum", "global minimum"),
        StationaryPoint((1.7475523458, -0.8737761729), "minimum", "local minimum"),
        StationaryPoint((-1.7475523458, 0.8737761729), "minimum", "local minimum"),
        StationaryPoint((1.0705422918, -0.5352711459), "saddle", "saddle"),
        StationaryPoint((-1.0705422918, 0.5352711459), "saddle", "saddle"),
    ),
    "2x² − 1.05x⁴ + x⁶/6 + xy + y²",
    log_scale=True,
    description="A global minimum at the origin flanked by two shallower local minima.",
)


def _six_hump_camel(x, y):
    x2 = x * x
    y2 = y * y
    return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (4.0 * y2 - 4.0) * y2


def _six_hump_camel_grad(x, y):
    x2 = x * x
    return (8.0 * x - 8.4 * x2 * x + 2.0 * x2 * x2 * x + y, x - 8.0 * y + 16.0 * y * y * y)


def _six_hump_camel_hess(x, y):
    x2 = x * x
    one = _full(x, y, 1.0)
    return ((8.0 - 25.2 * x2 + 10.0 * x2 * x2, one), (one, 48.0 * y * y - 8.0))


_simple(
    "six_hump_camel",
    "Six-hump camel",
    _six_hump_camel,
    _six_hump_camel_grad,
    _six_hump_camel_hess,
    ((-3.0, 3.0), (-2.0, 2.0)),
    (
        StationaryPoint((0.0898420131, -0.7126564030), "minimum", "global minimum"),
        StationaryPoint((-0.0898420131, 0.7126564030), "minimum", "global minimum"),
        StationaryPoint((1.7036067150, -0.7960835687), "minimum", "local minimum"),
        StationaryPoint((-1.7036067150, 0.7960835687), "minimum", "local minimum"),
        StationaryPoint((1.6071047529, 0.5686514549), "minimum", "local minimum"),
        StationaryPoint((-1.6071047529, -0.5686514549), "minimum", "local minimum"),
        StationaryPoint((1.2302298765, 0.1623345845), "maximum", "local maximum"),
        StationaryPoint((-1.2302298765, -0.1623345845), "maximum", "local maximum"),
        StationaryPoint((0.0, 0.0), "saddle", "saddle"),
        StationaryPoint((1.1092053368, -0.7682680925), "saddle", "saddle"),
        StationaryPoint((-1.1092053368, 0.7682680925), "saddle", "saddle"),
        StationaryPoint((1.6380679842, 0.2286740690), "saddle", "saddle"),
        StationaryPoint((-1.6380679842, -0.2286740690), "saddle", "saddle"),
        StationaryPoint((1.2960702672, 0.6050843880), "saddle", "saddle"),
        StationaryPoint((-1.2960702672, -0.6050843880), "saddle", "saddle"),
    ),
    "(4 − 2.1x² + x⁴/3) x² + xy + (4y² − 4) y²",
    description="Six local minima, two of them global, separated by low saddles.",
)


# Goldstein–Price factors as A(s)·B(v) with s = x + y and v = 2x − 3y:
#   1 + (s + 1)²(19 − 14s + 3s²)  = 3s⁴ − 8s³ − 6s² + 24s + 20
#   30 + v²(18 − 32x + 12x² + 48y − 36xy + 27y²) = 30 + v²(18 − 16v + 3v²)
def _gp_parts(x, y):
    s = x + y
    v = 2.0 * x - 3.0 * y
    s2 = s * s
    v2 = v * v
    a = ((3.0 * s - 8.0) * s - 6.0) * s2 + 24.0 * s + 20.0
    da = ((12.0 * s - 24.0) * s - 12.0) * s + 24.0
    dda = (36.0 * s - 48.0) * s - 12.0
    b = 30.0 + ((3.0 * v - 16.0) * v + 18.0) * v2
    db = ((12.0 * v - 48.0) * v + 36.0) * v
    ddb = (36.0 * v - 96.0) * v + 36.0
    return a, da, dda, b, db, ddb


def _goldstein_price(x, y):
    a, _, _, b, _, _ = _gp_parts(x, y)
    return a * b


def _goldstein_price_grad(x, y):
    a, da, _, b, db, _ = _gp_parts(x, y)
    return (da * b + 2.0 * a * db, da * b - 3.0 * a * db)


def _goldstein_price_hess(x, y):
    a, da, dda, b, db, ddb = _gp_parts(x, y)
    hxy = dda * b - da * db - 6.0 * a * ddb
    return (
        (dda * b + 4.0 * da * db + 4.0 * a * ddb, hxy),
        (hxy, dda * b - 6.0 * da * db + 9.0 * a * ddb),
    )


_simple(
    "goldstein_price",
    "Goldstein–Price",
    _goldstein_price,
    _goldstein_price_grad,
    _goldstein_price_hess,
    ((-2.0, 2.0), (-2.0, 2.0)),
    (
        StationaryPoint((0.0, -1.0), "minimum", "global minimum"),
        StationaryPoint((-0.6, -0.4), "minimum", "local minimum"),
        StationaryPoint((1.8, 0.2), "minimum", "local minimum"),
        StationaryPoint((1.2, 0.8), "minimum", "local minimum"),
        StationaryPoint((0.8, 0.2), "maximum", "local maximum"),
        StationaryPoint((-0.4, -0.6), "saddle", "saddle"),
        StationaryPoint((1.2, -0.2), "saddle", "saddle"),
        StationaryPoint((1.4, 0.6), "saddle", "saddle"),
        StationaryPoint((0.6, 0.4), "saddle", "saddle"),
    ),
    "[1 + (x + y + 1)² (19 − 14x + 3x² − 14y + 6xy + 3y²)]"
    " · [30 + (2x − 3y)² (18 − 32x + 12x² + 48y − 36xy + 27y²)]",
    log_scale=True,
    description="A polynomial spanning six decades, with several local minima around E* = 3.",
)


_TAU = 2.0 * math.pi


def _rastrigin(x, y):
    return 20.0 + x * x - 10.0 * np.cos(_TAU * x) + y * y - 10.0 * np.cos(_TAU * y)


def _rastrigin_grad(x, y):
    return (2.0 * x + 10.0 * _TAU * np.sin(_TAU * x), 2.0 * y + 10.0 * _TAU * np.sin(_TAU * y))


def _rastrigin_hess(x, y):
    k = 10.0 * _TAU * _TAU
    return (
        (2.0 + k * np.cos(_TAU * x), _full(x, y, 0.0)),
        (_full(x, y, 0.0), 2.0 + k * np.cos(_TAU * y)),
    )


_simple(
    "rastrigin",
    "Rastrigin",
    _rastrigin,
    _rastrigin_grad,
    _rastrigin_hess,
    ((-5.12, 5.12), (-5.12, 5.12)),
    (StationaryPoint((0.0, 0.0), "minimum", "global minimum"),),
    "20 + x² − 10 cos 2πx + y² − 10 cos 2πy",
    description="A bowl covered in a regular egg-crate of local minima (A = 10).",
)


# Ackley (a = 20, b = 0.2, c = 2π). With r = √(x² + y²) the first term is −20·exp(−k·r),
# k = 0.2/√2: a cone tip at the origin, where it has no gradient. There the gradient and Hessian
# of that term are returned as 0 (0 is a subgradient; the Hessian has no limit), so the Hessian
# at the origin is that of the cosine term alone, 2π²e·I.
_ACKLEY_K = 0.2 / math.sqrt(2.0)


def _ackley_cos(x, y):
    return np.exp(0.5 * (np.cos(_TAU * x) + np.cos(_TAU * y)))


def _ackley_radial(x, y):
    """r, 1/r (0 at the origin) and the cone term's first two radial derivatives."""
    r = np.sqrt(x * x + y * y)
    inv_r = np.where(r > 0.0, 1.0 / np.where(r > 0.0, r, 1.0), 0.0)
    e = np.exp(-_ACKLEY_K * r)
    return r, inv_r, 20.0 * _ACKLEY_K * e, -20.0 * _ACKLEY_K * _ACKLEY_K * e


def _ackley(x, y):
    r = np.sqrt(x * x + y * y)
    return -20.0 * np.exp(-_ACKLEY_K * r) - _ackley_cos(x, y) + math.e + 20.0


def _ackley_grad(x, y):
    _, inv_r, d1, _ = _ackley_radial(x, y)
    w = math.pi * _ackley_cos(x, y)
    return (d1 * inv_r * x + w * np.sin(_TAU * x), d1 * inv_r * y + w * np.sin(_TAU * y))


def _ackley_hess(x, y):
    _, inv_r, d1, d2 = _ackley_radial(x, y)
    ux, uy = x * inv_r, y * inv_r  # unit radial direction (0 at the origin)
    t = d1 * inv_r  # first-derivative term d1/r, 0 at the origin
    sx, sy = np.sin(_TAU * x), np.sin(_TAU * y)
    ew = math.pi * math.pi * _ackley_cos(x, y)
    hxx = d2 * ux * ux + t * (1.0 - ux * ux) - ew * (sx * sx - 2.0 * np.cos(_TAU * x))
    hyy = d2 * uy * uy + t * (1.0 - uy * uy) - ew * (sy * sy - 2.0 * np.cos(_TAU * y))
    hxy = (d2 - t) * ux * uy - ew * sx * sy
    return ((hxx, hxy), (hxy, hyy))


_simple(
    "ackley",
    "Ackley",
    _ackley,
    _ackley_grad,
    _ackley_hess,
    ((-5.0, 5.0), (-5.0, 5.0)),
    (StationaryPoint((0.0, 0.0), "minimum", "global minimum"),),
    "−20 exp(−0.2 √(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
    description="A nearly flat, bumpy plateau around one deep funnel with a sharp tip at 0.",
)


def _saddle(x, y):
    return x * x - y * y


def _saddle_grad(x, y):
    return (2.0 * x, -2.0 * y)


def _saddle_hess(x, y):
    zero = _full(x, y, 0.0)
    return ((_full(x, y, 2.0), zero), (zero, _full(x, y, -2.0)))


_simple(
    "saddle",
    "Saddle",
    _saddle,
    _saddle_grad,
    _saddle_hess,
    ((-2.0, 2.0), (-2.0, 2.0)),
    (StationaryPoint((0.0, 0.0), "saddle", "saddle"),),
    "x² − y²",
    description="The simplest saddle: a minimum along x and a maximum along y.",
)


def _monkey_saddle(x, y):
    return x * x * x - 3.0 * x * y * y


def _monkey_saddle_grad(x, y):
    return (3.0 * (x * x - y * y), -6.0 * x * y)


def _monkey_saddle_hess(x, y):
    hxy = -6.0 * y
    return ((6.0 * x, hxy), (hxy, -6.0 * x))


_simple(
    "monkey_saddle",
    "Monkey saddle",
    _monkey_saddle,
    _monkey_saddle_grad,
    _monkey_saddle_hess,
    ((-2.0, 2.0), (-2.0, 2.0)),
    (StationaryPoint((0.0, 0.0), "degenerate", "degenerate saddle"),),
    "x³ − 3xy²",
    description="Three valleys meet at a flat point where the Hessian is zero: no extremum.",
)

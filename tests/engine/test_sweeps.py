"""Basin-of-attraction maps and learning-rate sweeps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.objectives import get_objective, quadratic_1d
from engine.optimizers import make_optimizer
from engine.palette import (
    ATTRACTOR_COLORS,
    DIVERGED_COLOR,
    NOT_CONVERGED_COLOR,
    attractor_color,
    hex_to_rgb,
)
from engine.run import STATUS_NAMES
from engine.sweeps import (
    DIVERGED_LABEL,
    NOT_CONVERGED,
    Cancelled,
    basin_image,
    basin_map,
    grid_points,
    log_spaced_lrs,
    lr_sweep,
    quadratic_hessian,
)

HIMMELBLAU_MINIMA = {
    (3.0, 2.0),
    (-2.805118087, 3.1313125183),
    (-3.7793102534, -3.2831859913),
    (3.5844283403, -1.848126527),
}


def _rounded(point, digits=6):
    return tuple(round(v, digits) for v in point)


# -- basin maps ------------------------------------------------------------------------------------


def test_quadratic_every_start_reaches_the_one_minimum():
    obj = get_objective("quadratic_2d", lambda1=1.0, lambda2=4.0, theta=30.0, cx=0.5, cy=-1.0)
    basin = basin_map(obj, make_optimizer("gd", lr=0.2), (-4, 4), (-4, 4), grid=24, steps=400)
    assert np.all(basin.labels == 0)
    assert len(basin.attractors) == 1
    (att,) = basin.attractors
    assert att.kind == "minimum" and att.known and att.count == 24 * 24
    assert att.point == (0.5, -1.0)
    assert np.allclose(basin.final.reshape(-1, 2), [0.5, -1.0], atol=1e-6)
    assert basin.status_counts()["converged"] == 24 * 24


def test_newton_on_himmelblau_finds_all_four_minima_and_their_neighbours():
    obj = get_objective("himmelblau")
    basin = basin_map(obj, "newton", (-5, 5), (-5, 5), grid=64, steps=100)
    minima = {_rounded(a.point) for a in basin.attractors if a.kind == "minimum"}
    assert minima == {_rounded(p) for p in HIMMELBLAU_MINIMA}
    assert all(a.count > 0 for a in basin.attractors)
    # plain Newton also "converges" to saddles and the maximum, and says so
    kinds = {a.kind for a in basin.attractors}
    assert {"saddle", "maximum"} <= kinds
    # labels index attractors; counts add up
    assert sum(a.count for a in basin.attractors) == np.count_nonzero(basin.labels >= 0)
    assert basin.labels.max() == len(basin.attractors) - 1
    # each labelled start really ended at its attractor
    pts = np.array([a.point for a in basin.attractors])
    ends = basin.final[basin.labels >= 0]
    assert np.all(np.linalg.norm(ends - pts[basin.labels[basin.labels >= 0]], axis=1) < 1e-3)
    # a start next to a minimum goes there: column of x≈3, row of y≈2
    col = int(np.argmin(abs(basin.xs - 3.0)))
    row = int(np.argmin(abs(basin.ys - 2.0)))
    assert basin.attractors[basin.labels[row, col]].point == (3.0, 2.0)


def test_attractors_found_without_known_stationary_points():
    obj = replace(get_objective("himmelblau"), stationary=())
    basin = basin_map(obj, make_optimizer("gd", lr=0.01), (-5, 5), (-5, 5), grid=40, steps=2000)
    assert len(basin.attractors) == 4
    assert all(a.kind == "minimum" and not a.known for a in basin.attractors)
    found = np.array(sorted(a.point for a in basin.attractors))
    expected = np.array(sorted(HIMMELBLAU_MINIMA))
    assert np.allclose(found, expected, atol=1e-5)
    # sorted by basin size, largest first
    counts = [a.count for a in basin.attractors]
    assert counts == sorted(counts, reverse=True)


def test_diverged_starts_are_marked_minus_two():
    obj = get_objective("quadratic_2d", lambda1=1.0, lambda2=10.0)
    basin = basin_map(obj, make_optimizer("gd", lr=0.25), (-3, 3), (-3, 3), grid=16, steps=500)
    # η = 0.25 > 2/λmax = 0.2: every start off the slow axis blows up
    assert basin.counts()["diverged"] >= 16 * 16 - 16
    assert np.all(basin.labels[basin.status == STATUS_NAMES.index("diverged")] == DIVERGED_LABEL)
    img = basin_image(basin)
    assert np.all(img[basin.labels == DIVERGED_LABEL, :3] == hex_to_rgb(DIVERGED_COLOR))


def test_mixed_map_gd_with_a_large_step_on_himmelblau():
    obj = get_objective("himmelblau")
    # η = 0.02: stable at two of the minima (2/λmax > 0.02), too large at the other two, and
    # the steep walls near the corners throw starts out
    basin = basin_map(obj, make_optimizer("gd", lr=0.02), (-6, 6), (-6, 6), grid=48, steps=300)
    counts = basin.counts()
    assert counts["diverged"] > 0
    assert counts["not_converged"] > 0
    assert len(basin.attractors) == 2
    assert np.count_nonzero(basin.labels >= 0) == sum(a.count for a in basin.attractors)
    assert set(np.unique(basin.labels)) <= {DIVERGED_LABEL, NOT_CONVERGED, *range(4)}


def test_not_converged_starts_are_minus_one_and_grey():
    obj = get_objective("rosenbrock")
    basin = basin_map(obj, make_optimizer("gd", lr=1e-5), (-2, 2), (-1, 3), grid=8, steps=5)
    assert np.all(basin.labels == NOT_CONVERGED)
    assert basin.attractors == ()
    assert np.all(basin.iterations == 5)
    img = basin_image(basin)
    assert np.all(img[..., :3] == hex_to_rgb(NOT_CONVERGED_COLOR))


def test_image_shape_and_colours():
    obj = get_objective("himmelblau")
    basin = basin_map(obj, "newton", (-5, 5), (-5, 5), grid=32, steps=100)
    img = basin_image(basin, shade=False)
    assert img.shape == (32, 32, 4) and img.dtype == np.uint8
    assert np.all(img[..., 3] == 255)
    for i in range(len(basin.attractors)):
        assert np.all(img[basin.labels == i, :3] == hex_to_rgb(attractor_color(i)))
    assert len(set(ATTRACTOR_COLORS[: len(basin.attractors)])) == len(basin.attractors)
    # shading: never brighter than the plain colour, darker where more steps were taken
    shaded = basin_image(basin).astype(int)
    assert np.all(shaded[..., :3] <= img[..., :3])
    lab = basin.labels
    mask = lab == 0
    its = basin.iterations[mask]
    light = shaded[mask][np.argmin(its), :3].sum()
    dark = shaded[mask][np.argmax(its), :3].sum()
    assert its.max() > its.min() and dark < light


def test_image_rows_follow_the_grid():
    assert np.allclose(grid_points(0, 1, 4), [0.125, 0.375, 0.625, 0.875])
    obj = get_objective("quadratic_2d")
    basin = basin_map(obj, make_optimizer("gd", lr=0.1), (-1, 1), (10, 12), grid=4, steps=1000)
    assert np.allclose(basin.ys, [10.25, 10.75, 11.25, 11.75])
    assert basin.final.shape == (4, 4, 2)


def test_threads_and_chunks_give_the_same_map(monkeypatch):
    import engine.sweeps as sw

    monkeypatch.setattr(sw, "CHUNK", 700)  # several chunks for a 48×48 map
    obj = get_objective("himmelblau")
    one = basin_map(obj, "newton", (-5, 5), (-5, 5), grid=48, steps=60, workers=1)
    two = basin_map(obj, "newton", (-5, 5), (-5, 5), grid=48, steps=60, workers=2)
    assert np.array_equal(one.labels, two.labels)
    assert np.array_equal(one.iterations, two.iterations)
    assert np.array_equal(one.final, two.final)
    assert one.attractors == two.attractors


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_is_reported_and_ends_at_one(monkeypatch, workers):
    import engine.sweeps as sw

    monkeypatch.setattr(sw, "CHUNK", 500)
    seen: list[float] = []
    obj = get_objective("rosenbrock")
    basin_map(
        obj,
        make_optimizer("gd", lr=1e-4),
        (-2, 2),
        (-1, 3),
        grid=40,
        steps=200,
        progress=seen.append,
        workers=workers,
    )
    assert seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)
    if workers == 1:
        assert len(seen) > 10


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_stops_the_map(monkeypatch, workers):
    import engine.sweeps as sw

    monkeypatch.setattr(sw, "CHUNK", 500)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    obj = get_objective("rosenbrock")
    with pytest.raises(Cancelled):
        basin_map(
            obj,
            make_optimizer("gd", lr=1e-4),
            (-2, 2),
            (-1, 3),
            grid=64,
            steps=100_000,
            cancel=cancel,
            workers=workers,
        )


def test_basin_map_refuses_bad_arguments():
    obj = get_objective("himmelblau")
    with pytest.raises(ValueError, match="two variables"):
        basin_map(get_objective("quadratic_1d"), "gd", (-1, 1), (-1, 1), grid=8, steps=5)
    with pytest.raises(ValueError, match="grid"):
        basin_map(obj, "gd", (-1, 1), (-1, 1), grid=1, steps=5)
    with pytest.raises(ValueError, match="grid"):
        basin_map(obj, "gd", (-1, 1), (-1, 1), grid=2000, steps=5)
    with pytest.raises(ValueError, match="steps"):
        basin_map(obj, "gd", (-1, 1), (-1, 1), grid=8, steps=0)
    with pytest.raises(ValueError, match="x_range"):
        basin_map(obj, "gd", (1, -1), (-1, 1), grid=8, steps=5)
    with pytest.raises(ValueError, match="y_range"):
        basin_map(obj, "gd", (-1, 1), (0, float("nan")), grid=8, steps=5)
    with pytest.raises(ValueError, match="scalar"):
        basin_map(
            obj, make_optimizer("gd", lr=np.array([0.1, 0.2])), (-1, 1), (-1, 1), grid=8, steps=5
        )


# -- learning-rate sweeps --------------------------------------------------------------------------


def test_lr_sweep_on_the_lecture_quadratic_converges_below_two_over_a_and_diverges_above():
    a = 4.0
    obj = quadratic_1d(a=a)
    lrs = log_spaced_lrs(0.01, 1.0, 240)
    # the η just below 2/a = 0.5 is 0.49974: error factor |1 − ηa| = 0.99896, ~19,000 steps
    sweep = lr_sweep(obj, "gd", 1.0, lrs, steps=30_000)
    assert sweep.eta_opt == pytest.approx(1 / a)
    assert sweep.eta_limit == pytest.approx(2 / a)
    below = lrs < 2 / a
    above = lrs > 2 / a
    assert below.sum() > 100 and above.sum() > 20
    status = np.array(sweep.status)
    assert np.all(status[below] == "converged")
    assert np.all(status[above] == "diverged")
    # the data itself: the loss fell below the start for every η < 2/a, blew up above
    assert sweep.initial_loss == pytest.approx(0.5 * a)
    assert np.all(sweep.final_loss[below] < 1e-12)
    assert np.all(np.isinf(sweep.final_loss[above]))
    # fastest near η_opt = 1/a (one step there); slower on both sides
    steps = np.array([s if s is not None else 10**9 for s in sweep.steps_to_converge])
    best = lrs[int(np.argmin(steps))]
    assert abs(np.log(best * a)) < 0.05
    assert steps[0] > 100 * steps.min()
    assert all(
        (s is None) == (st != "converged") for s, st in zip(sweep.steps_to_converge, sweep.status)
    )
    # the lecture's regimes, per η
    regimes = np.array(sweep.regimes)
    assert set(regimes[lrs < 1 / a]) == {"monotone"}
    assert set(regimes[(lrs > 1 / a) & below]) == {"oscillating"}
    assert set(regimes[above]) == {"divergent"}


def test_lr_sweep_on_a_2d_quadratic_uses_the_largest_eigenvalue():
    obj = get_objective("quadratic_2d", lambda1=1.0, lambda2=10.0, theta=25.0)
    lrs = np.array([0.05, 0.15, 0.19, 0.21, 0.3])
    sweep = lr_sweep(obj, "gd", [1.0, 1.0], lrs, steps=3000)
    assert sweep.eta_opt == pytest.approx(0.1)
    assert sweep.eta_limit == pytest.approx(0.2)
    assert sweep.status == ("converged", "converged", "converged", "diverged", "diverged")
    assert sweep.analysis is not None and sweep.analysis.condition_number == pytest.approx(10)
    assert sweep.final_x.shape == (5, 2)


def test_lr_sweep_other_optimizers_and_non_quadratics():
    obj = get_objective("rosenbrock")
    assert quadratic_hessian(obj) is None
    sweep = lr_sweep(obj, "momentum", [-1.2, 1.0], [1e-4, 1e-3], steps=50, params={"momentum": 0.5})
    assert sweep.eta_opt is None and sweep.regimes is None
    assert sweep.status == ("max_steps", "max_steps")
    assert np.all(sweep.final_loss < sweep.initial_loss)
    assert sweep.steps_to_converge == (None, None)


def test_lr_sweep_refuses_bad_input():
    obj = quadratic_1d(a=1.0)
    with pytest.raises(ValueError, match="no learning rate"):
        lr_sweep(obj, "rprop", 1.0, [0.1], steps=10)
    with pytest.raises(ValueError, match="lr is what the sweep varies"):
        lr_sweep(obj, "gd", 1.0, [0.1], steps=10, params={"lr": 0.1})
    with pytest.raises(ValueError, match="lr must be > 0"):
        lr_sweep(obj, "gd", 1.0, [0.1, -1.0], steps=10)
    with pytest.raises(ValueError, match="unknown optimizer"):
        lr_sweep(obj, "sgd", 1.0, [0.1], steps=10)
    with pytest.raises(ValueError, match="steps"):
        lr_sweep(obj, "gd", 1.0, [0.1], steps=0)


def test_lr_sweep_can_be_cancelled():
    obj = quadratic_1d(a=1.0)
    with pytest.raises(Cancelled):
        lr_sweep(obj, "gd", 1.0, [1e-6, 1e-5], steps=100_000, cancel=lambda: True)


def test_log_spaced_lrs():
    lrs = log_spaced_lrs(1e-3, 10.0)
    assert lrs.shape == (240,)
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(10.0)
    assert np.allclose(np.diff(np.log(lrs)), np.log(1e4) / 239)
    for lo, hi in ((0, 1), (1, 0.5), (-1, 1), (1e-3, float("inf"))):
        with pytest.raises(ValueError):
            log_spaced_lrs(lo, hi)
    with pytest.raises(ValueError):
        log_spaced_lrs(0.1, 1, count=1)

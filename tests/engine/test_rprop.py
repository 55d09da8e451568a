"""Rprop in its five variants (design file; lecture slides 112–119), worked by hand.

The hand-worked examples run on E(w) = ½w² (so dE/dw = w) from w0 = 1 with Δ0 = 0.3, α = 1.2
and β = 0.5. The first three updates are the same for every variant (no sign flip yet):

    k  w_{k-1}   g = w_{k-1}   s = g_prev·g   Δ                 w_k
    1  1          1             0 (first)      0.3 (unchanged)   1 − 0.3    =  0.7
    2  0.7        0.7           > 0            0.3·1.2 = 0.36    0.7 − 0.36 =  0.34
    3  0.34       0.34          > 0            0.36·1.2 = 0.432  0.34 − 0.432 = −0.092

At update 4 the derivative has changed sign (g = −0.092 after +0.34): Δ ← 0.5·0.432 = 0.216,
and the variants part ways. Each test below carries on by hand in its comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run, trace

HALF_SQUARE = {"a": 1.0, "b": 0.0, "c": 0.0}  # E = ½w², dE/dw = w
HAND = {"step0": 0.3, "alpha": 1.2, "beta": 0.5}
COMMON = [1.0, 0.7, 0.34, -0.092]  # w0 .. w3, shared by every variant


def rprop_path(variant: str, steps: int = 8, **overrides: float) -> tuple[np.ndarray, list]:
    q = get_objective("quadratic_1d", **HALF_SQUARE)
    params = {**HAND, **overrides}
    result = trace(q, "rprop", [1.0], steps, tol=0.0, variant=variant, **params)
    assert result.status == "max_steps", result.message
    return result.points[:, 0], list(result.records)


def test_rprop_minus_hand_worked() -> None:
    # rprop-: always w -= sign(g)·Δ, and g is remembered as it is.
    # k=4: flip, Δ = 0.216, w4 = −0.092 + 0.216 = 0.124               (g_prev = −0.092)
    # k=5: g = 0.124, s < 0: flip, Δ = 0.108, w5 = 0.124 − 0.108 = 0.016
    # k=6: g = 0.016, s = 0.124·0.016 > 0: Δ = 0.1296, w6 = 0.016 − 0.1296 = −0.1136
    # k=7: g = −0.1136, s < 0: Δ = 0.0648, w7 = −0.1136 + 0.0648 = −0.0488
    # k=8: g = −0.0488, s > 0: Δ = 0.07776, w8 = −0.0488 + 0.07776 = 0.02896
    w, records = rprop_path("rprop-")
    expected = [*COMMON, 0.124, 0.016, -0.1136, -0.0488, 0.02896]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    steps = [float(r.visible["step_sizes"][0, 0]) for r in records[1:]]
    np.testing.assert_allclose(
        steps, [0.3, 0.36, 0.432, 0.216, 0.108, 0.1296, 0.0648, 0.07776], rtol=1e-12
    )
    flipped = [bool(r.visible["flipped"][0, 0]) for r in records[1:]]
    assert flipped == [False, False, False, True, True, False, True, False]


def test_irprop_minus_hand_worked() -> None:
    # irprop-: on a flip set g = 0 first: no move, and the next s is 0.
    # k=4: flip, Δ = 0.216, no move: w4 = −0.092                       (g_prev = 0)
    # k=5: g = −0.092, s = 0: Δ stays 0.216, w5 = −0.092 + 0.216 = 0.124
    # k=6: g = 0.124, s < 0: Δ = 0.108, no move: w6 = 0.124            (g_prev = 0)
    # k=7: s = 0: Δ stays 0.108, w7 = 0.124 − 0.108 = 0.016
    # k=8: g = 0.016, s = 0.124·0.016 > 0: Δ = 0.1296, w8 = 0.016 − 0.1296 = −0.1136
    w, records = rprop_path("irprop-")
    expected = [*COMMON, -0.092, 0.124, 0.124, 0.016, -0.1136]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    # a paused coordinate is a normal update, not "converged": the run went on
    assert [r.status_name() for r in records[1:-1]] == ["running"] * 7


def test_rprop_plus_hand_worked() -> None:
    # rprop+ (Riedmiller & Braun): on a flip undo the previous move and forget g.
    # k=4: flip, Δ = 0.216, undo the −0.432 move: w4 = −0.092 + 0.432 = 0.34   (g_prev = 0)
    # k=5: g = 0.34, s = 0: Δ stays 0.216, w5 = 0.34 − 0.216 = 0.124
    # k=6: g = 0.124, s = 0.34·0.124 > 0: Δ = 0.2592, w6 = 0.124 − 0.2592 = −0.1352
    # k=7: g = −0.1352, s < 0: Δ = 0.1296, undo: w7 = −0.1352 + 0.2592 = 0.124
    # k=8: g = 0.124, s = 0: Δ stays 0.1296, w8 = 0.124 − 0.1296 = −0.0056
    w, records = rprop_path("rprop+")
    expected = [*COMMON, 0.34, 0.124, -0.1352, 0.124, -0.0056]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    returned = [bool(r.visible["returned"][0, 0]) for r in records[1:]]
    assert returned == [False, False, False, True, False, False, True, False]


def test_irprop_plus_hand_worked() -> None:
    # irprop+ (Igel & Hüsken): on a flip forget g; undo only if the loss went up.
    # k=4: flip, Δ = 0.216. E(w3) = ½·0.092² = 0.004232 < E(w2) = ½·0.34² = 0.0578:
    #      no undo, no move: w4 = −0.092                                 (g_prev = 0)
    # k=5: g = −0.092, s = 0: w5 = −0.092 + 0.216 = 0.124
    # k=6: g = 0.124, s < 0: Δ = 0.108. E(w5) = 0.007688 > E(w4) = 0.004232: undo the +0.216
    #      move: w6 = 0.124 − 0.216 = −0.092                              (g_prev = 0)
    # k=7: g = −0.092, s = 0: Δ stays 0.108, w7 = −0.092 + 0.108 = 0.016
    # k=8: g = 0.016, s = −0.092·0.016 < 0: Δ = 0.054. E(w7) = 0.000128 < E(w6): no undo,
    #      no move: w8 = 0.016
    w, records = rprop_path("irprop+")
    expected = [*COMMON, -0.092, 0.124, -0.092, 0.016, 0.016]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    returned = [bool(r.visible["returned"][0, 0]) for r in records[1:]]
    assert returned == [False, False, False, False, False, True, False, False]
    assert float(records[-1].visible["step_sizes"][0, 0]) == pytest.approx(0.054, rel=1e-12)


def test_seed_hand_worked() -> None:
    # seed (the lecture, slides 117–119): on a flip return to the previous location
    # (ŵ = ŵ + Δw), shrink the step (Δ = βΔ) and take the smaller step forward in the previous
    # direction (ŵ = ŵ − Δw). The derivative at the location returned to stays the reference.
    # k=4: flip (−0.092 vs +0.34). Return to w2 = 0.34, Δ = 0.216, step forward (the previous
    #      direction was −): w4 = 0.34 − 0.216 = 0.124                  (reference g = 0.34)
    # k=5: g = 0.124, s = 0.34·0.124 > 0: Δ = 0.2592, w5 = 0.124 − 0.2592 = −0.1352
    # k=6: g = −0.1352, s < 0: return to 0.124, Δ = 0.1296, w6 = 0.124 − 0.1296 = −0.0056
    # k=7: g = −0.0056, s = 0.124·(−0.0056) < 0: return to 0.124 again, Δ = 0.0648,
    #      w7 = 0.124 − 0.0648 = 0.0592
    # k=8: g = 0.0592, s = 0.124·0.0592 > 0: Δ = 0.07776, w8 = 0.0592 − 0.07776 = −0.01856
    w, records = rprop_path("seed")
    expected = [*COMMON, 0.124, -0.1352, -0.0056, 0.0592, -0.01856]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    returned = [bool(r.visible["returned"][0, 0]) for r in records[1:]]
    assert returned == [False, False, False, True, False, True, True, False]


def test_seed_returns_then_steps_forward_not_backward() -> None:
    # With β = 0.5 the return-and-step-forward lands where rprop- lands on the flip itself
    # (0.34 − 0.216 = −0.092 + 0.216), so β = 0.25 tells them apart:
    # k=4: Δ = 0.25·0.432 = 0.108. seed: back to 0.34, forward: w4 = 0.34 − 0.108 = 0.232.
    #      rprop- instead steps back from where it is: −0.092 + 0.108 = 0.016.
    # k=5: g = 0.232, s = 0.34·0.232 > 0: Δ = 0.1296, w5 = 0.232 − 0.1296 = 0.1024
    # k=6: g = 0.1024, s > 0: Δ = 0.15552, w6 = 0.1024 − 0.15552 = −0.05312
    # k=7: flip: back to 0.1024, Δ = 0.03888, w7 = 0.1024 − 0.03888 = 0.06352
    # k=8: g = 0.06352, s = 0.1024·0.06352 > 0: Δ = 0.046656, w8 = 0.06352 − 0.046656 = 0.016864
    w, _ = rprop_path("seed", beta=0.25)
    expected = [*COMMON, 0.232, 0.1024, -0.05312, 0.06352, 0.016864]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    w_minus, _ = rprop_path("rprop-", beta=0.25)
    assert w_minus[4] == pytest.approx(0.016, abs=1e-12)


@pytest.mark.parametrize("variant", ["seed", "rprop+", "rprop-", "irprop+", "irprop-"])
def test_first_step_is_sign_times_step0_and_zero_gradient_never_moves(variant: str) -> None:
    # E = ½x² + ½y² from (2, 0): ∂E/∂y = 0, so y must never move; x moves by exactly −Δ0
    q = get_objective("quadratic_2d", lambda1=1.0, lambda2=1.0)
    result = trace(q, "rprop", [2.0, 0.0], 5, tol=0.0, variant=variant, step0=0.25)
    assert result.points[1].tolist() == [1.75, 0.0]
    assert np.all(result.points[:, 1] == 0.0)


def test_step_sizes_are_clamped() -> None:
    # s > 0 every step: Δ grows ×2 but never beyond step_max
    line = get_objective("quadratic_1d", a=0.0, b=1.0)  # E = w, dE/dw = 1 everywhere
    result = trace(
        line, "rprop", [0.0], 6, tol=0.0, variant="rprop-", step0=1.0, alpha=2.0, step_max=5.0
    )
    deltas = [float(r.visible["step_sizes"][0, 0]) for r in result.records[1:]]
    assert deltas == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    np.testing.assert_allclose(np.diff(result.points[:, 0]), [-d for d in deltas])
    # and shrinking stops at step_min. On ½w² from 1 with Δ0 = 1.7 the sign flips every step:
    # w = 1 → −0.7 (Δ 1.7) → 0.15 (Δ 0.85) → −0.275 (Δ 0.425) → 0.025 (Δ 0.2125 → 0.3)
    # → −0.275 (Δ 0.3) → 0.025 ...
    q = get_objective("quadratic_1d", **HALF_SQUARE)
    result = trace(
        q, "rprop", [1.0], 8, tol=0.0, variant="rprop-", step0=1.7, beta=0.5, step_min=0.3
    )
    deltas = [float(r.visible["step_sizes"][0, 0]) for r in result.records[1:]]
    np.testing.assert_allclose(deltas, [1.7, 0.85, 0.425, 0.3, 0.3, 0.3, 0.3, 0.3], rtol=1e-12)
    np.testing.assert_allclose(
        result.points[:, 0],
        [1.0, -0.7, 0.15, -0.275, 0.025, -0.275, 0.025, -0.275, 0.025],
        atol=1e-12,
    )


# -- irprop- equals torch.optim.Rprop -------------------------------------------------------------


def torch_rprop(grad, x0, steps, lr, etas, step_sizes):
    """A transcription of torch.optim.Rprop's single-tensor update (torch/optim/rprop.py):

    step_size = full_like(param, lr); prev = zeros_like(param)       # state init
    sign = grad.mul(prev).sign()
    sign[sign.gt(0)] = etaplus; sign[sign.lt(0)] = etaminus; sign[sign.eq(0)] = 1
    step_size.mul_(sign).clamp_(step_size_min, step_size_max)
    grad = grad.clone(); grad[sign.eq(etaminus)] = 0
    param.addcmul_(grad.sign(), step_size, value=-1)
    prev.copy_(grad)
    """
    etaminus, etaplus = etas
    step_min, step_max = step_sizes
    param = np.array(x0, float)
    step_size = np.full_like(param, lr)
    prev = np.zeros_like(param)
    path = [param.copy()]
    for _ in range(steps):
        g = grad(param)
        sign = np.sign(g * prev)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0))
        step_size = np.clip(step_size * factor, step_min, step_max)
        g = np.where(factor == etaminus, 0.0, g)
        param = param - np.sign(g) * step_size
        prev = g
        path.append(param.copy())
    return np.array(path)


@pytest.mark.parametrize(
    ("name", "start", "params"),
    [
        ("rosenbrock", (-1.2, 1.0), {}),
        ("rosenbrock", (0.3, -0.8), {"step0": 0.05, "alpha": 1.3, "beta": 0.4}),
        ("beale", (1.0, 1.5), {"step0": 0.2, "step_min": 1e-3, "step_max": 0.5}),
        ("himmelblau", (-1.0, 0.5), {"step0": 0.5, "alpha": 1.1, "beta": 0.7}),
    ],
)
def test_irprop_minus_equals_torch_rprop(name: str, start: tuple, params: dict) -> None:
    objective = get_objective(name)
    opt = make_optimizer("rprop", variant="irprop-", **params)
    p = opt.params
    expected = torch_rprop(
        lambda w: objective.grad(w[None, :])[0],
        start,
        50,
        lr=p["step0"],
        etas=(p["beta"], p["alpha"]),
        step_sizes=(p["step_min"], p["step_max"]),
    )
    run = Run(objective, opt, [start], max_steps=50, tol=0.0)
    got = np.array([run.first.x[0], *(r.x[0] for r in run)])
    assert got.shape == expected.shape  # the run did not stop early
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# -- Rprop on a badly conditioned quadratic -------------------------------------------------------


@pytest.mark.parametrize("variant", ["seed", "rprop+", "rprop-", "irprop+", "irprop-"])
def test_rprop_beats_gd_on_ill_conditioned_quadratic(variant: str) -> None:
    # λ = 1 and 1000 along the axes (the lecture's diagonal A, slides 48–56): GD must keep
    # η < 2/1000 for the stiff coordinate, so the other shrinks by only (1 − 0.0019)^k.
    # Rprop adapts one step size per coordinate and ignores the gradient's size.
    q = get_objective("quadratic_2d", lambda1=1.0, lambda2=1000.0)
    start = [3.0, 2.0]
    steps = 200
    gd = trace(q, "gd", start, steps, lr=0.95 * 2.0 / 1000.0)
    rp = trace(q, "rprop", start, steps, variant=variant)
    assert gd.status == "max_steps"
    assert rp.status in ("max_steps", "converged")
    assert gd.losses[-1] < gd.losses[0]  # GD is stable, just slow
    assert rp.losses[-1] < 1e-3 * gd.losses[-1]


@pytest.mark.parametrize("variant", ["seed", "rprop+", "rprop-", "irprop+", "irprop-"])
def test_rprop_still_makes_progress_on_a_rotated_ill_conditioned_quadratic(variant: str) -> None:
    # Rprop is not rotation invariant: on a valley at 30° its per-coordinate steps lose most of
    # their advantage (it is no longer far ahead of GD), but it must still go downhill steadily.
    q = get_objective("quadratic_2d", lambda1=1.0, lambda2=1000.0, theta=30.0)
    rp = trace(q, "rprop", [3.0, 2.0], 200, variant=variant)
    assert rp.status == "max_steps"
    assert np.all(np.isfinite(rp.points))
    assert rp.losses[-1] < 0.2 * rp.losses[0]

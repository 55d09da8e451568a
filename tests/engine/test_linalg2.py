"""engine.linalg2 closed forms against numpy.linalg."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.linalg2 import from_eig, solve_sym, sym_eig


def random_sym(rng: np.random.Generator, n: int, d: int, scale: float = 10.0) -> np.ndarray:
    m = rng.normal(scale=scale, size=(n, d, d))
    return 0.5 * (m + np.swapaxes(m, -1, -2))


@pytest.mark.parametrize("d", [1, 2])
def test_sym_eig_matches_numpy(d: int) -> None:
    rng = np.random.default_rng(1234 + d)
    h = random_sym(rng, 2000, d)
    lam, vecs = sym_eig(h)
    ref = np.linalg.eigvalsh(h)
    scale = np.max(np.abs(ref), axis=1, keepdims=True)
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-12 * scale.max())
    assert np.all(np.diff(lam, axis=1) >= 0)  # ascending
    # unit, orthogonal eigenvectors (columns) with H v = λ v
    eye = np.broadcast_to(np.eye(d), h.shape)
    np.testing.assert_allclose(np.swapaxes(vecs, -1, -2) @ vecs, eye, atol=1e-12)
    np.testing.assert_allclose(h @ vecs, vecs * lam[:, None, :], atol=1e-11 * scale.max())
    np.testing.assert_allclose(from_eig(lam, vecs), h, atol=1e-11 * scale.max())


def test_sym_eig_special_cases() -> None:
    h = np.array(
        [
            [[3.0, 0.0], [0.0, 3.0]],  # repeated eigenvalue
            [[0.0, 0.0], [0.0, 0.0]],
            [[1.0, 0.0], [0.0, 5.0]],  # already diagonal, ascending
            [[5.0, 0.0], [0.0, 1.0]],  # diagonal, descending
            [[0.0, 2.0], [2.0, 0.0]],
            [[1e8, 1.0], [1.0, 1e-8]],  # badly scaled
        ]
    )
    lam, vecs = sym_eig(h)
    ref = np.linalg.eigvalsh(h)
    for i in range(len(h)):
        # accurate to rounding relative to ‖H‖ (the closed form mean ± radius cancels: the tiny
        # eigenvalue of the badly scaled matrix is only known to ~1e-16·1e8)
        norm = max(1.0, float(np.max(np.abs(h[i]))))
        np.testing.assert_allclose(lam[i], ref[i], rtol=1e-12, atol=4e-16 * norm)
        np.testing.assert_allclose(vecs[i].T @ vecs[i], np.eye(2), atol=1e-14)
        np.testing.assert_allclose(h[i] @ vecs[i], vecs[i] * lam[i], atol=4e-16 * norm)


def test_sym_eig_uses_the_symmetric_part_and_tolerates_nan() -> None:
    h = np.array([[[2.0, 1.0], [3.0, 4.0]], [[np.nan, 0.0], [0.0, 1.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lam, _ = sym_eig(h)
    sym = 0.5 * (h[0] + h[0].T)
    np.testing.assert_allclose(lam[0], np.linalg.eigvalsh(sym), rtol=1e-12)
    assert np.all(np.isnan(lam[1]))


@pytest.mark.parametrize("d", [1, 2])
def test_solve_sym_matches_numpy(d: int) -> None:
    rng = np.random.default_rng(99 + d)
    h = random_sym(rng, 2000, d) + 0.5 * np.eye(d) * np.sign(rng.normal(size=(2000, 1, 1)))
    g = rng.normal(size=(2000, d))
    cond = np.linalg.cond(h)
    ok = cond < 1e6
    x, singular = solve_sym(h, g)
    assert not np.any(singular[ok])
    ref = np.linalg.solve(h[ok], g[ok][..., None])[..., 0]
    np.testing.assert_allclose(x[ok], ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose((h[ok] @ x[ok][..., None])[..., 0], g[ok], rtol=1e-8, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    lam1=st.floats(0.01, 1e4) | st.floats(-1e4, -0.01),
    lam2=st.floats(0.01, 1e4) | st.floats(-1e4, -0.01),
    phi=st.floats(-np.pi, np.pi),
)
def test_solve_sym_rotated_matrices(lam1: float, lam2: float, phi: float) -> None:
    c, s = np.cos(phi), np.sin(phi)
    r = np.array([[c, -s], [s, c]])
    h = r @ np.diag([lam1, lam2]) @ r.T
    g = np.array([0.3, -1.7])
    x, singular = solve_sym(h[None], g[None])
    assert not singular[0]
    np.testing.assert_allclose(x[0], np.linalg.solve(h, g), rtol=1e-7, atol=1e-12)


def test_solve_sym_flags_singular_rows_without_warnings() -> None:
    h = np.array(
        [
            [[0.0, 0.0], [0.0, 0.0]],
            [[1.0, 2.0], [2.0, 4.0]],  # rank 1
            [[1e-300, 0.0], [0.0, 1e-300]],
            [[np.nan, 0.0], [0.0, 1.0]],
            [[np.inf, 0.0], [0.0, 1.0]],
            [[2.0, 0.0], [0.0, 3.0]],  # fine
        ]
    )
    g = np.ones((len(h), 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, singular = solve_sym(h, g)
    assert singular.tolist() == [True, True, True, True, True, False]
    assert np.all(x[:5] == 0.0)
    np.testing.assert_allclose(x[5], [0.5, 1.0 / 3.0])
    # numerically singular: det is rounding noise relative to the entries (a rotated
    # diag(0, 5), or 1 + 1e-15 next to 1), not exactly 0
    c, s = np.cos(0.3), np.sin(0.3)
    r = np.array([[c, -s], [s, c]])
    nearly = np.array([r @ np.diag([0.0, 5.0]) @ r.T, [[1.0, 1.0], [1.0, 1.0 + 1e-15]]])
    x2, s2 = solve_sym(nearly, np.ones((2, 2)))
    assert s2.tolist() == [True, True] and np.all(x2 == 0.0)
    x1, s1 = solve_sym(np.array([[[0.0]], [[4.0]]]), np.array([[1.0], [2.0]]))
    assert s1.tolist() == [True, False] and x1[:, 0].tolist() == [0.0, 0.5]

"""Teaching overlays: geometry checked against the engine's records, toggling, scene changes, and
no non-finite data handed to pyqtgraph."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest

from engine.objectives import get_objective, objective_names
from gui import theme
from gui.overlays import OVERLAY_SHORTCUTS, OVERLAY_TITLES, OVERLAYS, OverlayManager
from gui.overlays import manager as manager_module
from gui.overlays import style as overlay_style
from gui.overlays.gradient import ARROW_FRACTION
from gui.racers import make_racer

TAKEN_KEYS = {"Space", "R", "Left", "Right", "PageUp", "PageDown", "F1", "F5", "?", "Ctrl+Q"}


# -- helpers ---------------------------------------------------------------------------------------
def race(qtbot, win, objective, racers, start, steps):
    """Show ``objective``, race ``racers`` from ``start`` for ``steps`` single steps."""
    ctl = win.race
    ctl.set_scene(objective)
    qtbot.waitUntil(
        lambda: (
            win.canvas.surface is not None
            and win.canvas.surface.generation == ctl.surface_generation
        ),
        timeout=5000,
    )
    win.racers_panel.set_racers(racers)
    ctl.start_at(start, play=False)
    ids = [r.racer_id for r in win.racers_panel.racers if r.enabled]
    qtbot.waitUntil(lambda: all(ctl.histories.get(i) and ctl.histories[i].count for i in ids))
    for _ in range(steps):
        before = {i: ctl.histories[i].latest_iteration for i in ids}
        ctl.step()
        qtbot.waitUntil(
            lambda b=before: all(
                ctl.histories[i].latest_iteration > b[i]
                or ctl.histories[i].latest_record().status_name() != "running"
                for i in ids
            ),
            timeout=5000,
        )
    ctl.draw_frame()
    return ids


def manager(win, *names):
    mgr = OverlayManager(win.canvas, win.race)
    for name in names or OVERLAYS:
        mgr.set_enabled(name, True)
    mgr.refresh()
    return mgr


def parallel(u, v, tol=1e-9):
    u, v = np.asarray(u, float), np.asarray(v, float)
    cross = u[0] * v[1] - u[1] * v[0]
    return abs(cross) <= tol * np.linalg.norm(u) * np.linalg.norm(v) and float(u @ v) > 0


def in_plot(win, item) -> bool:
    return item.scene() is not None and item.isVisible()


# -- the registry ----------------------------------------------------------------------------------
def test_registry_names_titles_and_free_shortcuts():
    assert OVERLAYS == ("gradient", "step", "newton_model", "hessian", "rprop_box", "regime")
    assert set(OVERLAY_TITLES) == set(OVERLAYS) == set(OVERLAY_SHORTCUTS)
    keys = list(OVERLAY_SHORTCUTS.values())
    assert len(set(keys)) == len(keys)
    assert not set(keys) & TAKEN_KEYS
    assert all("&" not in title for title in OVERLAY_TITLES.values())


# -- geometry against the engine -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "start"), [("rosenbrock", (-1.2, 1.0)), ("himmelblau", (-0.5, 0.5))]
)
def test_newton_model_minimum_is_the_new_point(qtbot, window, name, start):
    ids = race(qtbot, window, get_objective(name), [make_racer("newton", "#ffffff")], start, 3)
    rid = ids[0]
    mgr = manager(window, "newton_model")
    grp = mgr.overlays["newton_model"].groups[rid]
    record = window.race.shown_record(rid)
    head = window.race.shown_point(rid)
    xs, ys = grp.star.getData()
    assert np.allclose([xs[0], ys[0]], head, rtol=0, atol=1e-12)
    assert np.allclose(record.visible["model_min"][0], head, rtol=0, atol=1e-12)
    # the fit is centred at the previous iterate, drawn as a ring there
    previous = window.race.histories[rid].point(record.iteration - 1)
    cx, cy = grp.center.getData()
    assert np.allclose([cx[0], cy[0]], previous)
    assert "w₂" in grp.label.text and "w₃" in grp.label.text
    # level curves: finite, and the outermost one runs through the fitted point
    lx, ly = grp.levels.getData()
    assert lx is not None and len(lx) > 50
    assert np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))
    vis = record.visible
    c, f, g, h = (vis[k][0] for k in ("model_center", "model_value", "model_grad", "model_hess"))
    d = np.stack([lx, ly], axis=1) - c
    m = f + d @ g + 0.5 * np.einsum("ni,ij,nj->n", d, h, d)
    m_star = f + (head - c) @ g + 0.5 * (head - c) @ h @ (head - c)
    if np.all(np.linalg.eigvalsh(h) > 0):
        levels = m_star + (f - m_star) * np.array([0.1, 0.3, 0.6, 1.0])
        err = np.min(np.abs(m[:, None] - levels[None, :]), axis=1)
        assert np.all(err <= 1e-6 * max(1.0, abs(f - m_star)))


def test_newton_model_is_a_parabola_in_1d(qtbot, window):
    objective = get_objective("quadratic_1d", a=3.0, b=1.0)
    ids = race(qtbot, window, objective, [make_racer("newton", "#ffffff")], (2.0,), 1)
    mgr = manager(window, "newton_model")
    grp = mgr.overlays["newton_model"].groups[ids[0]]
    xs, _ = grp.star.getData()
    assert np.isclose(xs[0], -1.0 / 3.0)  # the quadratic's minimum: one Newton step
    lx, ly = grp.levels.getData()
    assert np.allclose(ly, objective.value(lx[:, None]))  # the model of a quadratic is itself


def test_newton_model_of_an_indefinite_hessian_is_drawn_as_level_lines(qtbot, window):
    ids = race(
        qtbot, window, get_objective("saddle"), [make_racer("newton", "#ffffff")], (0.8, 0.3), 1
    )
    mgr = manager(window, "newton_model")
    grp = mgr.overlays["newton_model"].groups[ids[0]]
    xs, ys = grp.star.getData()
    assert np.allclose([xs[0], ys[0]], [0.0, 0.0])  # Newton jumps onto the saddle
    assert "SADDLE" in grp.label.text
    lx, ly = grp.levels.getData()
    assert len(lx) > 20 and np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))


def test_rprop_box_half_widths_are_the_step_sizes_and_flips_are_marked(qtbot, window):
    objective = get_objective("quadratic_2d", lambda1=1, lambda2=20, theta=30)
    ids = race(qtbot, window, objective, [make_racer("rprop", "#00e5ff")], (2.0, 3.5), 10)
    rid = ids[0]
    mgr = manager(window, "rprop_box")
    grp = mgr.overlays["rprop_box"].groups[rid]
    record = window.race.shown_record(rid)
    head = window.race.shown_point(rid)
    xs, ys = grp.box.getData()
    half = np.array([(xs.max() - xs.min()) / 2, (ys.max() - ys.min()) / 2])
    assert np.allclose(half, record.visible["step_sizes"][0], rtol=1e-9)
    assert np.allclose([(xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2], head)
    # sign flips at the overshoot point w_{k-1}, returns where the return move landed (w_k)
    history = window.race.histories[rid]
    flips, returns = [], []
    for k in range(1, history.latest_iteration + 1):
        rec = history.record_at(k)
        if rec.visible["flipped"][0].any():
            flips.append(history.point(k - 1))
        if rec.visible["returned"][0].any():
            returns.append(history.point(k))
    assert flips, "this start is chosen so that Rprop overshoots within 10 steps"
    fx, fy = grp.flips.getData()
    rx, ry = grp.returns.getData()
    assert np.allclose(np.stack([fx, fy], 1), np.array(flips))
    assert np.allclose(np.stack([rx, ry], 1), np.array(returns).reshape(-1, 2))
    assert f"sign flip ({len(flips)})" in grp.label.text


def test_rprop_events_follow_a_rewind(qtbot, window):
    objective = get_objective("quadratic_2d", lambda1=1, lambda2=20, theta=30)
    ids = race(qtbot, window, objective, [make_racer("rprop", "#00e5ff")], (2.0, 3.5), 10)
    mgr = manager(window, "rprop_box")
    grp = mgr.overlays["rprop_box"].groups[ids[0]]
    all_flips = len(grp.flips.getData()[0])
    window.race.cursor = 2  # rewound: no flip has happened yet
    window.race._dirty = True
    window.race.draw_frame()
    assert len(grp.flips.getData()[0]) == 0 < all_flips
    box = grp.box.getData()
    rec2 = window.race.histories[ids[0]].record_at(2)
    assert np.isclose((box[0].max() - box[0].min()) / 2, rec2.visible["step_sizes"][0][0])


def test_rprop_bar_in_1d(qtbot, window):
    objective = get_objective("quadratic_1d", a=2.0)
    ids = race(qtbot, window, objective, [make_racer("rprop", "#00e5ff")], (2.5,), 4)
    mgr = manager(window, "rprop_box")
    grp = mgr.overlays["rprop_box"].groups[ids[0]]
    record = window.race.shown_record(ids[0])
    xs, _ = grp.box.getData()
    assert np.isclose((xs.max() - xs.min()) / 2, record.visible["step_sizes"][0][0])
    assert np.isclose((xs.max() + xs.min()) / 2, record.x[0][0])


def test_gradient_arrow_points_along_minus_grad(qtbot, window):
    ids = race(
        qtbot,
        window,
        get_objective("himmelblau"),
        [make_racer("gd", "#ff5a5f", lr=0.01), make_racer("rprop", "#00e5ff")],
        (-0.5, 0.5),
        3,
    )
    mgr = manager(window, "gradient")
    for rid in ids:
        arrow = mgr.overlays["gradient"].groups[rid].arrow
        record = window.race.shown_record(rid)
        assert np.allclose(arrow.tail, window.race.shown_point(rid))
        direction = np.subtract(arrow.tip, arrow.tail)
        assert parallel(direction, -record.grad[0])
        # a fixed fraction of the plot, whatever ‖∇E‖ is
        frame = mgr.build_frame()
        length_px = math.hypot(*frame.to_px(direction))
        assert np.isclose(length_px, ARROW_FRACTION * frame.short_side_px, rtol=1e-6)
        assert mgr.overlays["gradient"].groups[rid].label.text.startswith("−∇E")


def test_gradient_in_1d_has_the_tangent_line(qtbot, window):
    objective = get_objective("quadratic_1d", a=2.0, b=-1.0)
    ids = race(qtbot, window, objective, [make_racer("gd", "#ff5a5f", lr=0.2)], (2.5,), 2)
    mgr = manager(window, "gradient")
    grp = mgr.overlays["gradient"].groups[ids[0]]
    record = window.race.shown_record(ids[0])
    w0, f0, slope = record.x[0][0], record.f[0], record.grad[0][0]
    xs, ys = grp.tangent.getData()
    assert np.allclose(ys, f0 + slope * (xs - w0))
    assert xs.min() < w0 < xs.max()
    tail, tip = np.array(grp.arrow.tail), np.array(grp.arrow.tip)
    assert np.allclose(tail, [w0, f0]) and tip[1] == tail[1]
    assert np.sign(tip[0] - tail[0]) == -np.sign(slope)


def test_step_arrow_runs_from_the_previous_point_to_the_head(qtbot, window):
    ids = race(
        qtbot,
        window,
        get_objective("himmelblau"),
        [make_racer("gd", "#ff5a5f", lr=0.01), make_racer("newton", "#ffffff")],
        (-0.5, 0.5),
        4,
    )
    mgr = manager(window, "step")
    for rid in ids:
        grp = mgr.overlays["step"].groups[rid]
        record = window.race.shown_record(rid)
        history = window.race.histories[rid]
        tail, head = grp.segment
        assert np.allclose(tail, history.point(record.iteration - 1), atol=1e-12)
        assert np.allclose(head, record.x[0])
        assert np.allclose(np.subtract(head, tail), record.step[0], atol=1e-12)
        # the drawn arrow lies on that segment, pointing at the head (a step of a few pixels
        # — Newton's last one here — is too short to draw)
        if grp.arrow.visible:
            assert np.allclose(grp.arrow.tail, tail)
            assert parallel(np.subtract(grp.arrow.tip, grp.arrow.tail), record.step[0], 1e-6)
    assert mgr.overlays["step"].groups[ids[0]].arrow.visible


def test_hessian_overlay_says_indefinite_at_a_saddle(qtbot, window):
    ids = race(
        qtbot,
        window,
        get_objective("saddle"),
        [make_racer("gd", "#ff5a5f", lr=0.05)],
        (0.8, 0.3),
        2,
    )
    mgr = manager(window, "hessian")
    grp = mgr.overlays["hessian"].groups[ids[0]]
    assert "indefinite" in grp.summary.text
    texts = [label.text for label in grp.values]
    assert texts == ["λ₁ = −2", "λ₂ = 2"]
    assert grp.values[0].color == overlay_style.CURVATURE_NEGATIVE
    assert grp.values[1].color == overlay_style.CURVATURE_POSITIVE
    record = window.race.shown_record(ids[0])
    for i in range(2):
        a, b = grp.segments[i]
        assert parallel(np.subtract(b, a), record.visible["hess_eigvecs"][0][:, i]) or parallel(
            np.subtract(a, b), record.visible["hess_eigvecs"][0][:, i]
        )
        assert np.allclose(np.add(a, b) / 2, record.x[0])


def test_hessian_words_for_a_bowl_and_in_1d(qtbot, window):
    ids = race(
        qtbot, window, get_objective("booth"), [make_racer("gd", "#ff5a5f", lr=0.01)], (2, 2), 1
    )
    mgr = manager(window, "hessian")
    assert "positive definite" in mgr.overlays["hessian"].groups[ids[0]].summary.text
    ids = race(
        qtbot,
        window,
        get_objective("quadratic_1d", a=-1.5),
        [make_racer("gd", "#ff5a5f", lr=0.1)],
        (0.5,),
        1,
    )
    mgr.refresh()
    text = mgr.overlays["hessian"].groups[ids[0]].summary.text
    assert "E″(w) = −1.5" in text and "negative curvature" in text


@pytest.mark.parametrize(
    ("lr", "words"),
    [(0.3, "monotone"), (0.5, "one step"), (0.7, "oscillating"), (1.2, "divergence")],
)
def test_regime_text_on_quadratic_1d(qtbot, window, lr, words):
    # a = 2: η_opt = 1/a = 0.5, 2η_opt = 1
    objective = get_objective("quadratic_1d", a=2.0)
    race(qtbot, window, objective, [make_racer("gd", "#ff5a5f", lr=lr)], (2.5,), 1)
    mgr = manager(window, "regime")
    text = mgr.overlays["regime"].text()
    assert words in text
    assert "ηopt = 1/a = 0.5" in text and "2ηopt = 1" in text
    assert f"η = {lr / 0.5:g}·ηopt" in text


def test_regime_text_on_quadratic_2d_gives_kappa_and_each_direction(qtbot, window):
    objective = get_objective("quadratic_2d", lambda1=1, lambda2=20, theta=30)
    race(qtbot, window, objective, [make_racer("gd", "#ff5a5f", lr=0.08)], (2.0, 3.5), 1)
    mgr = manager(window, "regime")
    text = mgr.overlays["regime"].text()
    assert "κ = λmax/λmin = 20" in text and "large κ ⇒ slow convergence" in text
    assert "ηopt₂ = 1/λ₂ = 0.05" in text
    assert "monotone convergence" in text  # along λ1 = 1: η = 0.08·η_opt
    assert "oscillating convergence" in text  # along λ2 = 20: η = 1.6·η_opt


def test_regime_text_off_quadratics_is_local(qtbot, window):
    race(
        qtbot,
        window,
        get_objective("rosenbrock"),
        [make_racer("gd", "#ff5a5f", lr=0.001)],
        (-1.2, 1.0),
        1,
    )
    mgr = manager(window, "regime")
    text = mgr.overlays["regime"].text()
    assert "κ(H)" in text or "κ undefined" in text
    assert "not quadratic" in text


def test_regime_box_stays_inside_the_plot_and_off_the_legend(qtbot, window):
    objective = get_objective("quadratic_2d", lambda1=1, lambda2=20, theta=30)
    race(qtbot, window, objective, [make_racer("gd", "#ff5a5f", lr=0.08)], (2.0, 3.5), 1)
    mgr = manager(window, "regime")
    box = mgr.overlays["regime"]._rect()
    view = window.canvas.plot.getViewBox().rect()
    assert view.contains(box)
    legend = window.canvas.legend
    assert not box.intersects(legend.mapRectToParent(legend.boundingRect()))


# -- switching, scenes, racers ---------------------------------------------------------------------
def test_toggling_off_hides_the_items(qtbot, window):
    ids = race(
        qtbot,
        window,
        get_objective("himmelblau"),
        [make_racer("newton", "#ffffff"), make_racer("rprop", "#00e5ff")],
        (-0.5, 0.5),
        3,
    )
    mgr = manager(window)
    assert mgr.enabled() == OVERLAYS
    for name in OVERLAYS:
        overlay = mgr.overlays[name]
        assert overlay.items(), name
        assert any(in_plot(window, item) for item in overlay.items()), name
    seen = []
    mgr.enabledChanged.connect(lambda name, on: seen.append((name, on)))
    for name in OVERLAYS:
        items = list(mgr.overlays[name].items())
        mgr.set_enabled(name, False)
        assert not mgr.is_enabled(name)
        assert not mgr.overlays[name].items()
        assert not any(in_plot(window, item) for item in items), name
    assert seen == [(name, False) for name in OVERLAYS]
    assert mgr.enabled() == ()
    window.race._dirty = True
    window.race.draw_frame()  # a new frame draws nothing for disabled overlays
    assert mgr.items() == []
    mgr.set_enabled("step", True)
    assert mgr.enabled() == ("step",) and mgr.overlays["step"].items()
    assert set(mgr.overlays["step"].groups) == set(ids)
    with pytest.raises(KeyError):
        mgr.set_enabled("nonsense", True)


def test_scene_change_and_racer_removal_take_the_items_away(qtbot, window):
    racers = [make_racer("newton", "#ffffff"), make_racer("rprop", "#00e5ff")]
    ids = race(qtbot, window, get_objective("himmelblau"), racers, (-0.5, 0.5), 3)
    mgr = manager(window)
    items = mgr.items()
    assert items
    # a racer disappears: its items go, the other's stay
    window.racers_panel.set_racers([racers[1]])
    window.race.start_at((-0.5, 0.5), play=False)
    qtbot.waitUntil(lambda: window.race.histories.get(ids[1]) is not None)
    qtbot.waitUntil(lambda: window.race.histories[ids[1]].count > 0)
    window.race.step()
    qtbot.waitUntil(lambda: window.race.histories[ids[1]].count > 1)
    window.race.draw_frame()
    for name in ("gradient", "step", "newton_model", "hessian", "rprop_box"):
        assert ids[0] not in mgr.overlays[name].groups
    assert ids[1] in mgr.overlays["rprop_box"].groups
    # a new scene: histories emptied, everything goes
    window.race.set_scene(get_objective("booth"))
    window.race.draw_frame()
    assert mgr.items() == []
    assert not any(in_plot(window, item) for item in items)
    mgr.clear()
    assert mgr.items() == []


def test_switching_to_a_1d_scene_between_frames_rebuilds_the_items(qtbot, window):
    racers = [make_racer("gd", "#ff5a5f", lr=0.01), make_racer("rprop", "#00e5ff")]
    ids = race(qtbot, window, get_objective("himmelblau"), racers, (-0.5, 0.5), 2)
    mgr = manager(window)
    assert mgr.overlays["hessian"].groups
    ctl = window.race
    # no frame reaches the overlays in between: the next one already has the 1-D racers
    view = window.canvas.plot.getViewBox()
    ctl.frame_timer.stop()
    ctl.blockSignals(True)
    view.blockSignals(True)
    try:
        ctl.set_scene(get_objective("quadratic_1d", a=2.0))
        ctl.start_at((2.0,), play=False)
        qtbot.waitUntil(lambda: all(ctl.histories[i].count for i in ids))
        ctl.step()
        qtbot.waitUntil(lambda: all(ctl.histories[i].count > 1 for i in ids))
    finally:
        view.blockSignals(False)
        ctl.blockSignals(False)
        ctl.frame_timer.start()
    ctl._dirty = True
    ctl.draw_frame()
    hessian = mgr.overlays["hessian"].groups[ids[0]]
    assert "E″(w) = 2" in hessian.summary.text
    assert hessian.axes == []  # no 2-D eigen-axes left over from the previous surface
    assert len(mgr.overlays["rprop_box"].groups[ids[1]].box.getData()[0]) == 6  # bar + caps
    assert_all_finite(mgr.items())


def test_presentation_sizes_rebuild_bigger(qtbot, window):
    ids = race(
        qtbot, window, get_objective("himmelblau"), [make_racer("gd", "#ff5a5f")], (-0.5, 0.5), 2
    )
    mgr = manager(window, "gradient", "hessian")
    small = mgr.overlays["gradient"].groups[ids[0]].label.item.textItem.boundingRect().height()
    mgr.apply_sizes(theme.PRESENTATION)
    label = mgr.overlays["gradient"].groups[ids[0]].label
    assert label.item.textItem.boundingRect().height() > 1.5 * small
    assert mgr.overlays["gradient"].groups[ids[0]].arrow.width > overlay_style.line_width(
        theme.NORMAL
    )


def test_labels_stay_inside_the_plot_without_overlapping(qtbot, window):
    ids = race(
        qtbot,
        window,
        get_objective("rosenbrock"),
        [make_racer("newton", "#ffffff"), make_racer("gd", "#ff5a5f", lr=0.001)],
        (-1.2, 1.0),
        1,
    )
    mgr = manager(window)
    frame = mgr.build_frame()
    rects = []
    for overlay in mgr.overlays.values():
        for label in overlay.labels():
            if label.visible:
                rects.append(label.pixel_rect(frame))
    rects += [rect for rect, _ in mgr.overlays["regime"].obstacles(frame)]
    assert len(rects) >= 8 and ids
    w, h = frame.plot_px
    for left, top, right, bottom in rects:
        assert left >= -1 and top >= -1 and right <= w + 1 and bottom <= h + 1
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_x <= 0 or overlap_y <= 0, (a, b)


# -- frame cost: unchanged racers are not drawn again ----------------------------------------------
def count_draws(mgr):
    """Wrap every overlay's draw_racer to count its calls (per overlay name)."""
    calls = dict.fromkeys(mgr.overlays, 0)
    for name, overlay in mgr.overlays.items():
        original = overlay.draw_racer

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        overlay.draw_racer = counted
    return calls


def test_a_frame_with_nothing_new_draws_nothing_again(qtbot, window, monkeypatch):
    ids = race(
        qtbot,
        window,
        get_objective("himmelblau"),
        [make_racer("newton", "#ffffff"), make_racer("rprop", "#00e5ff")],
        (-0.5, 0.5),
        4,
    )
    mgr = manager(window)
    items = mgr.items()
    labels = {
        name: [(lab.text, lab.xy) for lab in overlay.labels()]
        for name, overlay in mgr.overlays.items()
    }
    calls = count_draws(mgr)
    layouts = []
    original_layout = manager_module.layout_labels
    monkeypatch.setattr(
        manager_module,
        "layout_labels",
        lambda *a, **k: layouts.append(1) or original_layout(*a, **k),
    )
    for _ in range(3):
        window.race._dirty = True
        window.race.draw_frame()
    assert sum(calls.values()) == 0 and not layouts
    assert mgr.items() == items  # the same items, labels where they were
    assert {
        name: [(lab.text, lab.xy) for lab in overlay.labels()]
        for name, overlay in mgr.overlays.items()
    } == labels
    # another shown step: drawn again, for both racers, and laid out again
    window.race.cursor = 2
    window.race._dirty = True
    window.race.draw_frame()
    assert calls["gradient"] == len(ids) and layouts
    record = window.race.shown_record(ids[0])
    assert np.allclose(mgr.overlays["gradient"].groups[ids[0]].arrow.tail, record.x[0])


def test_a_zoom_redraws_the_overlays_at_the_new_scale(qtbot, window):
    ids = race(
        qtbot, window, get_objective("himmelblau"), [make_racer("gd", "#ff5a5f")], (-0.5, 0.5), 2
    )
    mgr = manager(window, "gradient", "hessian")
    view = window.canvas.plot.getViewBox()
    (x0, x1), (y0, y1) = view.viewRange()
    view.setRange(xRange=(x0 / 2, x1 / 2), yRange=(y0 / 2, y1 / 2), padding=0)
    mgr.refresh()
    frame = mgr.build_frame()
    arrow = mgr.overlays["gradient"].groups[ids[0]].arrow
    length_px = math.hypot(*frame.to_px(np.subtract(arrow.tip, arrow.tail)))
    assert np.isclose(length_px, ARROW_FRACTION * frame.short_side_px, rtol=1e-6)
    layer = mgr.overlays["gradient"].layers[overlay_style.Z_ARROW]
    bounds = layer.boundingRect()
    assert bounds.contains(arrow.tip[0], arrow.tip[1])
    assert bounds.width() >= 3 * (frame.view[1] - frame.view[0])


# -- nothing non-finite reaches pyqtgraph ----------------------------------------------------------
def assert_all_finite(items):
    for item in items:
        data = [item.getData()] if isinstance(item, pg.PlotDataItem | pg.ScatterPlotItem) else []
        # an overlay's layer: every racer's lines, arrow heads and markers
        data += [shape.getData() for shape in getattr(item, "shapes", [])]
        for xs, ys in data:
            if xs is not None:
                assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)), item
        text_item = getattr(item, "textItem", None)  # labels (pyqtgraph's or the overlays')
        if text_item is not None:
            text = text_item.toPlainText()
            assert "nan" not in text.lower() and "inf" not in text.lower(), text
        pos = item.pos()
        assert math.isfinite(pos.x()) and math.isfinite(pos.y()), item
        rect = item.boundingRect()
        assert all(math.isfinite(v) for v in rect.getRect()), item


def test_no_non_finite_data_after_a_diverging_gd_run(qtbot, window):
    window.race.set_scene(get_objective("himmelblau"))
    window.racers_panel.set_racers(
        [make_racer("gd", "#ff5a5f", lr=0.5), make_racer("rprop", "#00e5ff")]
    )
    mgr = manager(window)
    window.transport.set_speed(0)
    window.race.start_at((3.5, 3.5), play=True)
    gd_id = window.racers_panel.racers[0].racer_id

    def diverged():
        h = window.race.histories.get(gd_id)
        rec = h.latest_record() if h is not None else None
        return rec is not None and rec.status_name() == "diverged"

    qtbot.waitUntil(diverged, timeout=5000)
    window.race.pause()
    window.race._dirty = True
    window.race.draw_frame()
    assert mgr.overlays["gradient"].groups  # something was drawn ...
    assert_all_finite(mgr.items())  # ... and all of it is finite
    # also at every rewound step of the blow-up
    for k in range(window.race.histories[gd_id].latest_iteration + 1):
        window.race.cursor = k
        window.race._dirty = True
        window.race.draw_frame()
        assert_all_finite(mgr.items())


SMOKE_CASES = [(name, None, {}) for name in objective_names()] + [
    ("quadratic_1d", (1.0,), {"a": 0.0, "b": 1.0}),  # singular: Newton refuses, E″ = 0
    ("quadratic_1d", (0.5,), {"a": -1.5}),  # a maximum
    ("monkey_saddle", (0.0, 0.0), {}),  # H = 0 and ∇E = 0 at the start
    ("rosenbrock", (1.0, 1.0), {}),  # starts at the minimum
]


@pytest.mark.parametrize(("name", "start", "params"), SMOKE_CASES)
def test_every_objective_and_optimizer_draws_finite_overlays(qtbot, window, name, start, params):
    objective = get_objective(name, **params)
    if start is None:
        start = tuple(lo + 0.3 * (hi - lo) for lo, hi in objective.domain)
    racers = [
        make_racer("gd", "#ff5a5f", lr=0.01),
        make_racer("newton", "#ffffff"),
        make_racer("newton", "#ffe66d", hessian_fix="damped"),
        make_racer("rprop", "#00e5ff", variant="irprop+"),
        make_racer("bfgs", "#9d7bff"),
        make_racer("momentum", "#ff66ff"),
    ]
    race(qtbot, window, objective, racers, start, 6)
    mgr = manager(window)
    assert_all_finite(mgr.items())
    for k in (0, 1, 3):
        window.race.cursor = k
        window.race._dirty = True
        window.race.draw_frame()
        assert_all_finite(mgr.items())

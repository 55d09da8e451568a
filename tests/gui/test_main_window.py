"""The main window: click-to-start, transport, rewind, reset, live parameter edits, divergence,
clean shutdown, and what the canvas actually shows."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtGui import QColor

from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from gui.racers import make_racer
from tests.gui.conftest import iterations, racer_ids, status_of


def click_canvas(qtbot, win, point):
    pos = win.canvas.scene_point(point)
    qtbot.mouseClick(
        win.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(pos.x()), round(pos.y()))
    )


def pixel_size(win) -> tuple[float, float]:
    rect = win.canvas.view.viewRect()
    size = win.canvas.view.sceneBoundingRect()
    return rect.width() / size.width(), rect.height() / size.height()


def test_default_scene_is_a_real_race(window):
    assert window.windowTitle() == "DescentLab — Himmelblau"
    names = [r.optimizer for r in window.racers_panel.racers]
    assert {"gd", "newton", "rprop"} <= set(names)
    assert window.canvas.surface is not None
    assert len(window.canvas.contours) >= 10


def test_click_starts_every_racer_at_the_clicked_point(qtbot, window):
    window.race.pause()
    click_canvas(qtbot, window, (1.0, -2.0))
    qtbot.waitUntil(lambda: window.race.start is not None and window.race.start[0] != -0.5)
    px, py = pixel_size(window)
    sx, sy = window.race.start
    assert abs(sx - 1.0) <= px and abs(sy + 2.0) <= py
    ids = racer_ids(window)
    qtbot.waitUntil(lambda: all(window.race.histories[r].count >= 3 for r in ids), timeout=5000)
    for rid in ids:
        h = window.race.histories[rid]
        assert np.allclose(h.point(0), window.race.start)
        assert h.latest_iteration >= 1


def test_pause_stops_progress_and_step_advances_exactly_one(qtbot, window):
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.001)])
    window.race.start_at((-4.0, 4.0), play=True)
    rid = racer_ids(window)[0]
    qtbot.waitUntil(lambda: window.race.histories[rid].latest_iteration >= 5, timeout=5000)
    window.actions["play"].trigger()  # pause
    qtbot.waitUntil(lambda: not window.race.playing, timeout=2000)
    qtbot.wait(100)
    before = window.race.histories[rid].latest_iteration
    qtbot.wait(300)
    assert window.race.histories[rid].latest_iteration == before
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.race.histories[rid].latest_iteration == before + 1)
    qtbot.wait(200)
    assert window.race.histories[rid].latest_iteration == before + 1


def test_step_back_is_a_true_rewind(qtbot, window):
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.001)])
    window.race.start_at((-4.0, 4.0), play=False)
    rid = racer_ids(window)[0]
    qtbot.waitUntil(lambda: rid in window.race.histories and window.race.histories[rid].count)
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.race.histories[rid].latest_iteration == 4)
    third = window.race.histories[rid].point(3)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.race.cursor == 3)
    assert np.allclose(window.race.shown_point(rid), third)
    window.race.draw_frame()
    xs, ys = window.canvas.trails[rid].data()
    assert len(xs) == 4 and np.isclose(xs[-1], third[0]) and np.isclose(ys[-1], third[1])
    # continuing from the rewound point recomputes the same step 4 (deterministic engine)
    fourth_before = window.race.histories[rid].point(4)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.race.cursor is None)
    assert np.allclose(window.race.shown_point(rid), fourth_before)


def test_reset_clears_trails(qtbot, window):
    window.race.start_at((0.0, 0.0), play=True)
    ids = racer_ids(window)
    qtbot.waitUntil(lambda: max(iterations(window).values(), default=0) >= 3, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: all(h.count <= 1 for h in window.race.histories.values()))
    window.race.draw_frame()
    for rid in ids:
        xs, _ = window.canvas.trails[rid].data()
        assert xs is None or len(xs) <= 1


def test_changing_lr_mid_run_changes_the_next_step(qtbot, window):
    objective = get_objective("himmelblau")
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.001)])
    window.race.start_at((-4.0, 4.0), play=False)
    rid = racer_ids(window)[0]
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(
        lambda: rid in window.race.histories and window.race.histories[rid].latest_iteration == 3
    )
    window.racers_panel.edit_params(rid, {"lr": 0.004})
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.race.histories[rid].latest_iteration == 4)
    x3 = window.race.histories[rid].point(3)
    expected = x3 - 0.004 * objective.grad(x3[None, :])[0]
    assert np.allclose(window.race.histories[rid].point(4), expected, rtol=1e-12, atol=1e-12)
    # and it really differs from what the old rate would have done
    old = x3 - 0.001 * objective.grad(x3[None, :])[0]
    assert not np.allclose(expected, old)
    # the engine agrees when replayed with the same schedule of parameters
    run = Run(objective, make_optimizer("gd", lr=0.001), (-4.0, 4.0))
    for _ in range(3):
        run.step()
    run.set_params(lr=0.004)
    assert np.allclose(run.step().x[0], window.race.histories[rid].point(4))


def test_divergence_shows_badge_and_draws_no_nan(qtbot, window):
    window.racers_panel.set_racers(
        [
            make_racer("gd", "#ff0000", lr=0.5),
            make_racer("newton", "#ffffff"),
        ]
    )
    window.transport.set_speed(0)
    window.race.start_at((3.5, 3.5), play=True)
    gd_id = window.racers_panel.racers[0].racer_id
    qtbot.waitUntil(lambda: status_of(window, gd_id) == "diverged", timeout=5000)
    window.race.draw_frame()
    assert window.racers_panel.cards[gd_id].badge.text() == "diverged"
    xs, ys = window.canvas.trails[gd_id].data()
    assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
    newton_id = window.racers_panel.racers[1].racer_id
    assert status_of(window, newton_id) != "diverged"


@pytest.mark.qt_log_level_fail("WARNING")
def test_closing_mid_run_leaves_no_thread_running(qtbot):
    from gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.transport.set_speed(0)
    win.race.start_at((0.1, 0.2), play=True)
    qtbot.waitUntil(lambda: win.race.playing, timeout=3000)
    thread: QThread = win.race.thread.thread
    assert thread.isRunning()
    win.close()
    assert not thread.isRunning()
    assert thread.isFinished()


def test_canvas_screenshot_shows_the_trails(qtbot, window):
    window.racers_panel.set_racers(
        [
            make_racer("gd", "#ff0000", lr=0.01),
            make_racer("rprop", "#00ffff"),
        ]
    )
    window.race.start_at((-0.3, -0.5), play=False)
    for _ in range(12):
        window.race.step()
        qtbot.wait(15)
    qtbot.waitUntil(lambda: min(h.latest_iteration for h in window.race.histories.values()) >= 10)
    window.race.draw_frame()
    image = window.canvas.grab().toImage()
    colors = set()
    for x in range(0, image.width(), 2):
        for y in range(0, image.height(), 2):
            colors.add(image.pixel(x, y))
    assert len(colors) > 200  # not blank: a heatmap, contours, axes

    def count_near(target: str, tol: int = 40) -> int:
        t = QColor(target)
        hits = 0
        for _rid, hist in window.race.histories.items():
            for p in hist.positions()[1:]:
                scene = window.canvas.scene_point(tuple(p))
                for dx in range(-2, 3):
                    for dy in range(-2, 3):
                        c = QColor(image.pixel(round(scene.x()) + dx, round(scene.y()) + dy))
                        if (
                            abs(c.red() - t.red()) < tol
                            and abs(c.green() - t.green()) < tol
                            and abs(c.blue() - t.blue()) < tol
                        ):
                            hits += 1
        return hits

    assert count_near("#ff0000") > 5
    assert count_near("#00ffff") > 5

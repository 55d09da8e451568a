"""GUI under stress ("never crash in front of a class"): rapid clicks, switches and toggles mid-run,
parameter edits every frame, rewind during play, reset and close during a GIF export, a long
8-racer run (memory and frame time stay flat) and an objective that raises inside the worker.

Every test fails on any Qt warning and on any exception raised in a slot (pytest-qt). The long
run is short by default; ``DESCENTLAB_LONG_STRESS=1`` runs the full 100,000 steps.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from dataclasses import dataclass, replace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt, QThread
from PySide6.QtWidgets import QPushButton, QStyle, QStyleOptionSlider

from engine.objective import Objective
from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from engine.scenario import ObjectiveSpec
from gui.history import FULL_RECORDS_KEPT, RacerHistory
from gui.jobs import JobRunner
from gui.main_window import LESSONS_DELAY_MS, MainWindow
from gui.racers import RacerConfig, make_racer
from gui.worker import RaceBatch, RacerUpdate, RaceThread

LONG = os.environ.get("DESCENTLAB_LONG_STRESS") == "1"
qt_warnings_fail = pytest.mark.qt_log_level_fail("WARNING")


# -- helpers ---------------------------------------------------------------------------------------
def click_canvas(qtbot, win, point) -> None:
    pos = win.canvas.scene_point(point)
    qtbot.mouseClick(
        win.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(pos.x()), round(pos.y()))
    )


def random_point(rng, win, margin: float = 0.08) -> tuple[float, ...]:
    """A data point well inside the visible view (1-D scenes: inside the x range), not under
    the legend (a click there shows or hides a path and starts nothing)."""
    view = win.canvas.view.viewRect()
    legend = win.canvas.legend.sceneBoundingRect()
    while True:
        x = rng.uniform(view.left() + margin * view.width(), view.right() - margin * view.width())
        if win.race.objective is not None and win.race.objective.dim == 1:
            point, y = (float(x),), 0.0  # where click_canvas clicks in 1-D
        else:
            y = rng.uniform(
                view.top() + margin * view.height(), view.bottom() - margin * view.height()
            )
            point = (float(x), float(y))
        scene = win.canvas.view.mapViewToScene(QPointF(x, y))
        if not (win.canvas.legend.isVisible() and legend.contains(scene)):
            return point


def wait_surface(qtbot, win, timeout: int = 10000) -> None:
    ctl = win.race
    qtbot.waitUntil(
        lambda: (
            win.canvas.surface is not None
            and win.canvas.surface.generation == ctl.surface_generation
        ),
        timeout=timeout,
    )


def enabled(win) -> list[RacerConfig]:
    return [r for r in win.racers_panel.racers if r.enabled]


def wait_counts(qtbot, win, at_least: int, timeout: int = 10000) -> None:
    """Every enabled racer has ``at_least`` points, or has stopped."""

    def ready() -> bool:
        ids = [r.racer_id for r in enabled(win)]
        if set(win.race.histories) != set(ids):
            return False
        for h in win.race.histories.values():
            last = h.latest_record()
            if last is None:
                return False
            if h.count < at_least and last.status_name() == "running":
                return False
        return True

    qtbot.waitUntil(ready, timeout=timeout)


def pause_and_settle(qtbot, win) -> None:
    """Pause, then let anything already in flight from the worker arrive."""
    win.race.pause()
    qtbot.waitUntil(lambda: not win.race.playing, timeout=5000)
    counts = None
    for _ in range(50):
        qtbot.wait(40)
        now = {rid: h.count for rid, h in win.race.histories.items()}
        if now == counts:
            return
        counts = now
    raise AssertionError("the race does not come to rest after a pause")


def engine_path(objective, racer: RacerConfig, start, steps: int, param_log=()) -> np.ndarray:
    """Positions of a fresh engine run (optionally replaying a worker's parameter log)."""
    run = Run(objective, make_optimizer(racer.optimizer, **racer.params), start, max_steps=10**9)
    pending = list(param_log)
    points = [run.first.x[0]]
    while len(points) <= steps and not run.done:
        while pending and pending[0][0] <= run.iteration:
            run.set_params(**pending.pop(0)[1])
        points.append(run.step().x[0])
    return np.array(points)


def assert_histories_match_engine(win, steps: int | None = None) -> None:
    """Point 0 of every history is the start, and the stored path is exactly what a fresh engine
    run from that start computes (so no batch of an older race or rewound future got in)."""
    race = win.race
    racers = {r.racer_id: r for r in enabled(win)}
    assert set(race.histories) == set(racers)
    for rid, history in race.histories.items():
        assert history.count >= 1
        np.testing.assert_array_equal(history.point(0), np.asarray(race.start))
        n = history.count - 1 if steps is None else min(steps, history.count - 1)
        expected = engine_path(race.objective, racers[rid], race.start, n)
        got = history.positions()[: len(expected)]
        assert len(got) == len(expected), (rid, len(got), len(expected))
        np.testing.assert_allclose(got, expected, rtol=0, atol=0, err_msg=racers[rid].title)
        # the kept full records agree with the compact arrays
        for k in (history.latest_iteration, max(0, history.latest_iteration - 1)):
            record = history.record_at(k)
            if record is not None:
                assert record.iteration == k
                np.testing.assert_array_equal(record.x[0], history.point(k))


def owned_threads(win) -> dict[str, QThread]:
    """Every QThread the window owns: the race worker's and each JobRunner's."""
    threads = {t.thread.objectName(): t.thread for t in win.findChildren(RaceThread)}
    for runner in win.findChildren(JobRunner):
        threads[runner._thread.objectName()] = runner._thread
    return threads


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# -- 1. rapid clicks -------------------------------------------------------------------------------
@qt_warnings_fail
def test_500_rapid_clicks_leave_a_consistent_race(qtbot, window):
    win = window
    win.racers_panel.set_racers(
        [
            make_racer("gd", "#ff0000", lr=0.001),
            make_racer("momentum", "#00ff00", lr=0.001),
            make_racer("rprop", "#00ffff"),
        ]
    )
    win.transport.set_speed(0)  # batches always in flight while the clicks arrive
    requested: list[tuple[float, ...]] = []
    win.canvas.startRequested.connect(requested.append)
    rng = np.random.default_rng(500)
    for i in range(500):
        click_canvas(qtbot, win, random_point(rng, win))
        if i % 3 == 0:
            qtbot.wait(int(rng.integers(0, 4)))
    assert len(requested) >= 495  # a click that lands on the start marker itself may not start
    assert win.race.start == requested[-1]
    marker = win.canvas.start_marker.pos()
    assert (marker.x(), marker.y()) == pytest.approx(requested[-1])
    wait_counts(qtbot, win, 12)
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


# -- 2. switches, toggles, edits, rewinds, exports and closing mid-run -----------------------------
SWITCH_NAMES = ("rosenbrock", "quadratic_2d", "rastrigin", "quadratic_1d", "saddle", "himmelblau")
ADDABLE = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton", "bfgs", "rprop")


def choose_function(win, name: str) -> None:
    choice = win.function_panel.choice
    choice.setCurrentIndex(choice.findData(name))


def nudge_slider(qtbot, win, key: str, positions) -> None:
    """Move a function-panel slider through ``positions`` as the keyboard would (one value change
    per position, the current slider widget each time)."""
    for pos in positions:
        win.function_panel.sliders[key].slider.setValue(int(pos))
        qtbot.wait(1)


def slider_handle(slider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center()


def remove_button(card) -> QPushButton:
    return next(b for b in card.findChildren(QPushButton) if b.text() == "✕")


@qt_warnings_fail
def test_function_switches_slider_drags_and_racer_toggles_mid_run(qtbot, window):
    win = window
    panel = win.racers_panel
    panel.set_racers(
        [
            make_racer("gd", "#ff0000", lr=0.001),
            make_racer("momentum", "#00ff00", lr=0.001),
            make_racer("rprop", "#00ffff"),
        ]
    )
    win.transport.set_speed(0)
    win.race.start_at((0.5, 0.5), play=True)
    rng = np.random.default_rng(7)
    catch_up: list[float] = []
    for name in SWITCH_NAMES * 2:
        choose_function(win, name)
        qtbot.wait(int(rng.integers(0, 20)))
        click_canvas(qtbot, win, random_point(rng, win))
        sliders = win.function_panel.sliders
        if sliders:  # the lecture quadratics: move one of their sliders while racing
            key = sorted(sliders)[int(rng.integers(len(sliders)))]
            lo, hi = sliders[key].slider.minimum(), sliders[key].slider.maximum()
            nudge_slider(
                qtbot, win, key, np.linspace(lo + 0.3 * (hi - lo), lo + 0.6 * (hi - lo), 25)
            )
            t0 = time.perf_counter()
            wait_surface(qtbot, win, timeout=15000)
            catch_up.append(time.perf_counter() - t0)
            click_canvas(qtbot, win, random_point(rng, win))
        cards = list(panel.cards.values())
        cards[int(rng.integers(len(cards)))].enabled_box.click()  # toggle a racer
        qtbot.wait(int(rng.integers(0, 15)))
        if len(panel.racers) < 6:
            panel.add_choice.setCurrentIndex(panel.add_choice.findData(rng.choice(ADDABLE)))
            panel.add_button.click()
        qtbot.wait(int(rng.integers(0, 15)))
        if len(panel.racers) > 3:
            rid = panel.racers[int(rng.integers(len(panel.racers)))].racer_id
            remove_button(panel.cards[rid]).click()
        qtbot.wait(int(rng.integers(0, 25)))
    # final state: one more surface, every racer enabled, a race from a known point
    choose_function(win, "himmelblau")
    for racer in list(panel.racers):
        if not racer.enabled:
            panel.cards[racer.racer_id].enabled_box.click()
    wait_surface(qtbot, win)
    click_canvas(qtbot, win, (-1.0, 1.5))
    wait_counts(qtbot, win, 15)
    pause_and_settle(qtbot, win)
    ids = {r.racer_id for r in panel.racers}
    assert set(win.race.histories) == ids == set(panel.cards)
    assert set(win.canvas.trails) == ids and set(win.loss_plot.curves) == ids
    assert win.race.objective.name == "himmelblau"
    assert_histories_match_engine(win, steps=30)
    win.race.draw_frame()
    for rid in ids:
        assert panel.cards[rid].badge.text() != "idle"
    print(f"surface catch-up after 25 slider values: {max(catch_up):.2f} s (worst)")


@qt_warnings_fail
def test_quadratic_slider_drag_follows_the_mouse(qtbot, window):
    win = window
    choose_function(win, "quadratic_2d")
    wait_surface(qtbot, win)
    win.race.start_at((1.0, 1.0), play=True)
    slider = win.function_panel.sliders["lambda1"].slider
    start = slider_handle(slider)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for dx in range(2, 62, 2):
        qtbot.mouseMove(slider, QPoint(start.x() + dx, start.y()))
        qtbot.wait(2)
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(start.x() + 60, start.y()))
    wait_surface(qtbot, win)
    shown = win.function_panel.sliders["lambda1"]
    assert shown.slider is slider
    assert slider.value() > 333 + 40  # it followed the mouse all the way
    assert win.race.objective.params["lambda1"] == pytest.approx(shown.value())


@qt_warnings_fail
def test_parameter_edit_on_every_frame(qtbot, window):
    win = window
    panel = win.racers_panel
    panel.set_racers([make_racer("gd", "#ff0000", lr=1e-4), make_racer("adam", "#0000ff", lr=0.01)])
    win.transport.set_speed(120)
    win.transport.max_steps.setValue(100_000)
    gd = panel.racers[0].racer_id
    panel.select(gd)  # the parameter form follows every edit too
    edits: list[float] = []
    frames = 300

    def edit_on_frame() -> None:
        if len(edits) < frames:
            lr = float(f"{1e-4 * (1.5 + np.sin(len(edits) / 7)):.6g}")
            edits.append(lr)
            panel.edit_params(gd, {"lr": lr})

    win.race.frameDrawn.connect(edit_on_frame)
    try:
        win.race.start_at((-4.0, 4.0), play=True)
        qtbot.waitUntil(lambda: len(edits) >= frames, timeout=30000)
    finally:
        win.race.frameDrawn.disconnect(edit_on_frame)
    pause_and_settle(qtbot, win)
    assert panel.racer(gd).params["lr"] == edits[-1]
    assert float(panel.form.fields["lr"].text()) == pytest.approx(edits[-1])
    # the worker got every edit, in order, and the drawn path is exactly the engine's path with
    # the edits applied at the steps where the worker applied them
    lanes = win.race.thread.worker._lanes  # the worker is paused: safe to read
    log = lanes[gd].param_log
    assert [p["lr"] for _, p in log] == edits[-len(log) :]
    assert len(log) >= frames - 2  # edits before the first batch may precede the lane
    iterations = [k for k, _ in log]
    assert iterations == sorted(iterations)
    for rid, history in win.race.histories.items():
        lane = lanes[rid]
        expected = engine_path(
            win.race.objective, lane.config, win.race.start, history.count - 1, lane.param_log
        )
        np.testing.assert_array_equal(history.positions(), expected)


def rewind_racers():
    return [make_racer("gd", "#ff0000", lr=1e-4), make_racer("adagrad", "#00ffff", lr=1e-3)]


def latest(win) -> int:
    return max(h.latest_iteration for h in win.race.histories.values())


@qt_warnings_fail
def test_rewind_during_play_then_space_continues_the_same_race(qtbot, window):
    """Left while playing, wait for the pause to take effect, Space: the race goes on from the
    rewound step and the stored path is exactly the engine's."""
    win = window
    win.racers_panel.set_racers(rewind_racers())
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(100_000)
    win.race.start_at((-4.0, 4.0), play=True)
    rng = np.random.default_rng(2)
    for _ in range(8):
        wait_counts(qtbot, win, latest(win) + 40)
        qtbot.keyClick(win, Qt.Key.Key_Left)
        assert win.race.cursor is not None
        qtbot.waitUntil(lambda: not win.race.playing, timeout=3000)
        qtbot.wait(int(rng.integers(0, 20)))
        qtbot.keyClick(win, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: win.race.playing and win.race.cursor is None, timeout=3000)
    wait_counts(qtbot, win, latest(win) + 40)
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


@qt_warnings_fail
def test_left_then_space_at_once_resumes(qtbot, window):
    win = window
    win.racers_panel.set_racers(rewind_racers())
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(100_000)
    win.race.start_at((-4.0, 4.0), play=True)
    for _ in range(5):
        wait_counts(qtbot, win, latest(win) + 40)
        qtbot.waitUntil(lambda: win.race.playing, timeout=3000)
        qtbot.keyClick(win, Qt.Key.Key_Left)
        k = win.race.cursor
        qtbot.keyClick(win, Qt.Key.Key_Space)  # no event processed in between: a quick user
        qtbot.waitUntil(
            lambda k=k: win.race.cursor is None and win.race.playing and latest(win) > k + 20,
            timeout=2000,
        )
    wait_counts(qtbot, win, latest(win) + 40)
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


@qt_warnings_fail
def test_space_on_a_finished_race_stays_paused(qtbot, window):
    """Play on a race that has already stopped does nothing, and the button keeps saying so
    (guards the fix for test_left_then_space_at_once_resumes: an optimistic 'playing' must be
    corrected by the worker when it refuses to play)."""
    win = window
    win.racers_panel.set_racers(rewind_racers())
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(20)
    win.race.start_at((-4.0, 4.0), play=True)
    qtbot.waitUntil(lambda: latest(win) == 20 and not win.race.playing, timeout=5000)
    for _ in range(3):
        qtbot.keyClick(win, Qt.Key.Key_Space)
        qtbot.wait(150)
        assert not win.race.playing
        assert win.actions["play"].text() == "Play"
    assert latest(win) == 20


@qt_warnings_fail
def test_rewind_then_edit_at_once_keeps_the_path_exact(qtbot, window):
    """Left while playing fast, then ] (η × 1.25 of the selected racer) at once: the race
    continues from the rewound step with the new η, and nothing of the dropped future remains."""
    win = window
    win.racers_panel.set_racers(rewind_racers())
    initial = {r.racer_id: r for r in win.racers_panel.racers}
    gd = win.racers_panel.racers[0].racer_id
    win.racers_panel.select(gd)
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(100_000)
    win.race.start_at((-4.0, 4.0), play=True)
    changes: list[tuple[int, dict]] = []
    for _ in range(5):
        wait_counts(qtbot, win, latest(win) + 150)
        qtbot.waitUntil(lambda: win.race.playing, timeout=3000)
        qtbot.keyClick(win, Qt.Key.Key_Left)
        k = win.race.cursor
        qtbot.keyClick(win, Qt.Key.Key_BracketRight)
        changes.append((k, {"lr": win.racers_panel.racer(gd).params["lr"]}))
        qtbot.wait(50)
        win.race.play()
    wait_counts(qtbot, win, latest(win) + 40)
    pause_and_settle(qtbot, win)
    race = win.race
    for rid, history in race.histories.items():
        expected = engine_path(
            race.objective,
            initial[rid],
            race.start,
            history.count - 1,
            changes if rid == gd else (),
        )
        np.testing.assert_array_equal(history.positions(), expected, err_msg=initial[rid].title)


@qt_warnings_fail
def test_one_step_back_late_in_a_long_race_resumes_at_once(qtbot, window):
    win = window
    steps = 5000
    choose_function(win, "rosenbrock")
    wait_surface(qtbot, win)
    win.racers_panel.set_racers(
        [make_racer(n, c, **p) for (n, p), c in zip(LONG_RACERS[:2], ("#f00", "#0f0"))]
    )
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(steps)
    win.race.start_at(LONG_START, play=True)
    qtbot.waitUntil(lambda: latest(win) == steps and not win.race.playing, timeout=60000)
    before = {rid: h.point(steps) for rid, h in win.race.histories.items()}
    qtbot.keyClick(win, Qt.Key.Key_Left)
    assert win.race.cursor == steps - 1
    t0 = time.perf_counter()
    qtbot.keyClick(win, Qt.Key.Key_Space)  # continue from step steps - 1: one step to go
    qtbot.waitUntil(
        lambda: (
            win.race.cursor is None
            and all(h.latest_iteration == steps for h in win.race.histories.values())
        ),
        timeout=60000,
    )
    resumed = time.perf_counter() - t0
    print(f"\none step back at step {steps} with 2 racers, then play: {resumed:.2f} s")
    assert_histories_match_engine(win, steps=5)
    for rid, history in win.race.histories.items():  # the same last step, computed again
        np.testing.assert_array_equal(history.point(steps), before[rid])
    assert resumed < 0.3  # a few hundred steps to replay at most


def start_gif_export(qtbot, win, path) -> list[tuple[str, object]]:
    """Export the shown race as a GIF to ``path`` through the File-menu action; returns the
    list that will receive the outcome."""
    outcome: list[tuple[str, object]] = []
    gif = win.exports.gif
    gif.finished.connect(lambda p: outcome.append(("finished", p)))
    gif.failed.connect(lambda m: outcome.append(("failed", m)))
    gif.cancelled.connect(lambda: outcome.append(("cancelled", None)))
    win.exports.ask_path = lambda title, suggested, filters: str(path)
    win.actions["export_gif"].trigger()
    assert gif.running
    qtbot.waitUntil(lambda: gif._rendered >= 5, timeout=10000)  # mid-render
    return outcome


def assert_clean_outcome(outcome, folder, path) -> None:
    """Finished with a whole GIF, or failed / cancelled with no file; never a temp file."""
    assert len(outcome) == 1, outcome
    kind, _ = outcome[0]
    assert not [n for n in leftovers(folder) if n.endswith(".tmp")]
    if kind == "finished":
        with Image.open(path) as im:
            frames = im.n_frames
            im.seek(frames - 1)
            im.load()
        assert frames >= 2
        assert leftovers(folder) == [path.name]
    else:
        assert leftovers(folder) == []


@qt_warnings_fail
def test_reset_and_function_change_during_gif_export(qtbot, window, tmp_path):
    win = window
    win.racers_panel.set_racers(rewind_racers())
    win.transport.set_speed(0)
    win.race.start_at((-4.0, 4.0), play=True)
    wait_counts(qtbot, win, 200)
    path = tmp_path / "race.gif"
    outcome = start_gif_export(qtbot, win, path)
    qtbot.keyClick(win, Qt.Key.Key_R)
    qtbot.wait(20)
    choose_function(win, "rosenbrock")
    click_canvas(qtbot, win, (-1.5, 2.0))
    qtbot.keyClick(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(outcome), timeout=60000)
    qtbot.wait(50)
    assert_clean_outcome(outcome, tmp_path, path)
    assert win.exports.gif_action.isEnabled() and win.exports.progress_widget.isHidden()
    # the app goes on: the new race runs and exports again
    wait_counts(qtbot, win, 10)
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)
    second = tmp_path / "again.gif"
    with qtbot.waitSignal(win.exports.gif.finished, timeout=60000):
        assert win.exports.export_gif(str(second))


def busy_window(qtbot, tmp_path):
    """A window racing at full speed with a GIF export half rendered, a sweep and an expression
    being derived in the job threads."""
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    wait_surface(qtbot, win)
    win.racers_panel.set_racers(rewind_racers())
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(100_000)
    win.race.start_at((-4.0, 4.0), play=True)
    wait_counts(qtbot, win, 150)
    path = tmp_path / "race.gif"
    outcome = start_gif_export(qtbot, win, path)
    win.sweep_panel.run()
    win.scenes.request_objective(
        ObjectiveSpec("expression", expression="sin(x)*cos(y) + (x^2 + y^2)/20", domain=None)
    )
    assert win.race.playing
    return win, outcome, path


@qt_warnings_fail
def test_close_mid_run_and_mid_export_stops_every_thread(qtbot, tmp_path):
    win, outcome, path = busy_window(qtbot, tmp_path)
    threads = owned_threads(win)
    assert len(threads) >= 4 and all(t.isRunning() for t in threads.values()), threads
    t0 = time.perf_counter()
    win.close()
    closed_in = time.perf_counter() - t0
    for name, thread in threads.items():
        assert thread.isFinished(), name
    qtbot.wait(300)  # late queued signals must find nothing broken
    assert not [n for n in leftovers(tmp_path) if n.endswith(".tmp")]
    assert len(outcome) <= 1
    if outcome and outcome[0][0] == "finished":
        assert_clean_outcome(outcome, tmp_path, path)
    else:
        assert not path.exists()
    assert closed_in < 3.0
    print(f"close with a race, a GIF export, a sweep and a derivation running: {closed_in:.2f} s")


# -- 3. a long run: memory and frame time stay flat ------------------------------------------------
# On Rosenbrock from (-1.5, 2.5) none of these stops within 100,000 steps (checked with the engine)
LONG_RACERS = (
    ("gd", {"lr": 1e-5}),
    ("gd", {"lr": 3e-6}),
    ("momentum", {"lr": 1e-6}),
    ("nesterov", {"lr": 1e-6}),
    ("adam", {"lr": 2e-5}),
    ("rmsprop", {"lr": 1e-5}),
    ("adagrad", {"lr": 1e-3}),
    ("rprop", {"step0": 2e-5, "step_max": 2e-5}),
)
LONG_START = (-1.5, 2.5)
LONG_STEPS = 100_000 if LONG else 8_000
CHECK_EVERY = 10_000 if LONG else 2_000
# RSS growth allowed per 10,000 steps of 8 racers: the compact arrays (~3 MB, doubling now and
# then), the loss curves' data and pyqtgraph's copies need ~6-15 MB; keeping every full record
# (~2 KB each) would need ~160 MB
MB_PER_10K = 30.0
FRAME_FACTOR = 2.0  # a usual frame at the end vs at the first checkpoint
# a full redraw (every SETTLE_BLOCK steps) thins each whole trail again, O(steps): its growth is
# checked in test_trail_thinning_of_100k_points_is_cheap; here only gross regressions
FULL_FACTOR, FULL_SLACK_MS = 3.0, 60.0


class FrameClock:
    """Takes over the race's frame timer so that every frame drawn during the run is timed
    (draw_frame + a synchronous repaint of the canvas and the loss plot)."""

    def __init__(self, win) -> None:
        self.win = win
        self.frames: list[tuple[int, float]] = []  # (iteration, seconds)
        race = win.race
        race.frame_timer.timeout.disconnect(race.draw_frame)
        race.frame_timer.timeout.connect(self.frame)

    def restore(self) -> None:
        race = self.win.race
        race.frame_timer.timeout.disconnect(self.frame)
        race.frame_timer.timeout.connect(race.draw_frame)

    def iteration(self) -> int:
        return min((h.latest_iteration for h in self.win.race.histories.values()), default=0)

    def frame(self) -> float:
        race = self.win.race
        if not race._dirty:
            return 0.0
        t0 = time.perf_counter()
        race.draw_frame()
        self.win.canvas.viewport().repaint()
        self.win.loss_plot.viewport().repaint()
        elapsed = time.perf_counter() - t0
        self.frames.append((self.iteration(), elapsed))
        return elapsed

    def live_median_ms(self, lo: int, hi: int) -> float:
        times = [t for k, t in self.frames if lo <= k < hi]
        return 1000 * float(np.median(times)) if times else float("nan")

    def measure(self) -> FrameCost:
        return measure_frames(self.win)


@dataclass(frozen=True)
class FrameCost:
    """Milliseconds, race paused: a usual frame (new tail, settled parts cached), and a
    frame that redraws the settled parts too (every SETTLE_BLOCK steps), split into draw_frame +
    canvas repaint and loss-plot repaint."""

    steady: float
    full_canvas: float
    full_loss: float

    def __str__(self) -> str:
        return f"{self.steady:.1f} / {self.full_canvas:.1f} + {self.full_loss:.1f}"


def measure_frames(win) -> FrameCost:
    race, canvas, loss = win.race, win.canvas.viewport(), win.loss_plot.viewport()
    steady, full_canvas, full_loss = [], [], []
    for i in range(12):
        full = i >= 9
        if full:
            for trail in win.canvas.trails.values():
                trail.settled_key = None
            for curve in win.loss_plot.curves.values():
                curve.settled_key = None
        race._dirty = True
        t0 = time.perf_counter()
        race.draw_frame()
        canvas.repaint()
        t1 = time.perf_counter()
        loss.repaint()
        t2 = time.perf_counter()
        if full:
            full_canvas.append(t1 - t0)
            full_loss.append(t2 - t1)
        else:
            steady.append(t2 - t0)
    # the fastest of the repeats: the cost of the work itself, not of whatever else the machine
    # (or the other thread) was doing at the time
    return FrameCost(*(1000 * min(v) for v in (steady, full_canvas, full_loss)))


def rss_settled_mb() -> float:
    gc.collect()
    return rss_mb()


@qt_warnings_fail
def test_long_run_with_8_racers_keeps_memory_and_frame_time_flat(qtbot, window):
    win = window
    choose_function(win, "rosenbrock")
    wait_surface(qtbot, win)
    colors = (
        "#ff5a5f",
        "#ffffff",
        "#00e5ff",
        "#ffd166",
        "#06d6a0",
        "#ef476f",
        "#8338ec",
        "#f77f00",
    )
    win.racers_panel.set_racers([make_racer(n, c, **p) for (n, p), c in zip(LONG_RACERS, colors)])
    win.transport.set_speed(0)
    win.transport.max_steps.setValue(LONG_STEPS)
    clock = FrameClock(win)
    rss: dict[int, float] = {0: rss_settled_mb()}
    frames: dict[int, FrameCost] = {}
    running = 0.0
    try:
        win.race.start_at(LONG_START, play=True)
        for checkpoint in range(CHECK_EVERY, LONG_STEPS + 1, CHECK_EVERY):
            t0 = time.perf_counter()
            qtbot.waitUntil(
                lambda c=checkpoint: len(win.race.histories) == 8 and clock.iteration() >= c,
                timeout=(300 if LONG else 60) * 1000,
            )
            running += time.perf_counter() - t0
            pause_and_settle(qtbot, win)
            rss[checkpoint] = rss_settled_mb()
            frames[checkpoint] = clock.measure()
            if checkpoint < LONG_STEPS:
                win.race.play()
    finally:
        clock.restore()
    for rid, history in win.race.histories.items():
        assert history.latest_iteration == LONG_STEPS
        assert history.latest_record().status_name() == "max_steps"
        # compact arrays for the whole run, full records only for the last FULL_RECORDS_KEPT
        assert len(history._records) == FULL_RECORDS_KEPT
        assert history.record_at(LONG_STEPS - FULL_RECORDS_KEPT + 1) is not None
        assert history.record_at(LONG_STEPS - FULL_RECORDS_KEPT) is None
        xs, _ = win.canvas.trails[rid].data()
        assert len(xs) <= 2 * 3000  # decimated: what is drawn does not grow with the run
    # memory: from the first checkpoint after the full records are capped, per 10,000 steps
    base = min(k for k in rss if k >= 2 * FULL_RECORDS_KEPT)
    growth = (rss[LONG_STEPS] - rss[base]) / (LONG_STEPS - base) * 10_000
    first = min(frames)
    print(
        f"\n8 racers, {LONG_STEPS} live steps, {LONG_STEPS / running:.0f} steps/s while running"
        f"\nRSS MB: "
        + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(rss.items()))
        + f"\ngrowth after step {base}: {growth:.1f} MB per 10k steps"
        "\nframe ms, paused (steady / full redraw: canvas + loss plot): "
        + ", ".join(f"{k}: {c}" for k, c in sorted(frames.items()))
        + "\nlive frame ms (median, worker running at full speed): "
        + ", ".join(f"{k}: {clock.live_median_ms(k - CHECK_EVERY, k):.0f}" for k in sorted(frames))
    )
    assert growth < MB_PER_10K
    for a, b in zip(sorted(rss), sorted(rss)[1:]):  # nor does any stretch leak
        if a >= base:
            assert (rss[b] - rss[a]) / (b - a) * 10_000 < 2 * MB_PER_10K, (a, b, rss)
    assert_frames_flat(frames[first], frames[LONG_STEPS])


def assert_frames_flat(early: FrameCost, late: FrameCost) -> None:
    """Frame time at the end within a small factor of the early one (+ a few ms of noise). The
    loss plot's full redraw is checked in test_loss_plot_downsamples_long_curves, the trails'
    in test_trail_thinning_of_100k_points_is_cheap."""
    assert late.steady < FRAME_FACTOR * early.steady + 3.0, (early, late)
    assert late.full_canvas < FULL_FACTOR * early.full_canvas + FULL_SLACK_MS, (early, late)


FED_STEPS = 100_000
FED_BATCH = 1000  # steps per batch (and per drawn frame) fed to the race


def fed_path(start, k: np.ndarray, seed: int) -> np.ndarray:
    """A long, slowly converging zig-zag from ``start`` (what GD with a tiny η draws)."""
    rng = np.random.default_rng(seed)
    target = np.asarray(start) + rng.uniform(-1.0, 1.0, 2)
    t = 1.0 - np.exp(-k / rng.uniform(20_000, 60_000))
    zig = 2e-3 * np.sin(k / rng.uniform(3, 40))[:, None] * np.array([1.0, -0.5])
    return np.asarray(start) + t[:, None] * (target - np.asarray(start)) + zig


@qt_warnings_fail
def test_history_fed_to_100k_steps_keeps_memory_and_frames_flat(qtbot, window):
    """The GUI side of a 100,000-step race without waiting for the engine: 8 racers' batches of
    records (copies of each racer's real start record along long paths) go through on_batch,
    frame cost and RSS are measured every 10,000 steps."""
    win = window
    choose_function(win, "rosenbrock")
    wait_surface(qtbot, win)
    colors = (
        "#ff5a5f",
        "#ffffff",
        "#00e5ff",
        "#ffd166",
        "#06d6a0",
        "#ef476f",
        "#8338ec",
        "#f77f00",
    )
    win.racers_panel.set_racers([make_racer(n, c, **p) for (n, p), c in zip(LONG_RACERS, colors)])
    race = win.race
    race.start_at(LONG_START, play=False)
    wait_counts(qtbot, win, 1)
    pause_and_settle(qtbot, win)
    k = np.arange(FED_STEPS + 1)
    paths = {}
    for i, rid in enumerate(race.histories):
        xs = fed_path(LONG_START, k, i)
        paths[rid] = (xs, race.objective.value(xs), np.linalg.norm(race.objective.grad(xs), axis=1))
    templates = {rid: h.latest_record() for rid, h in race.histories.items()}
    rss = {0: rss_settled_mb()}
    frames: dict[int, FrameCost] = {}
    for first in range(1, FED_STEPS + 1, FED_BATCH):
        last = min(first + FED_BATCH, FED_STEPS + 1)
        updates = []
        for rid, (xs, fs, gs) in paths.items():
            tpl = templates[rid]
            records = tuple(
                replace(tpl, iteration=j, x=xs[j : j + 1], f=fs[j : j + 1], grad_norm=gs[j : j + 1])
                for j in range(first, last)
            )
            updates.append(RacerUpdate(rid, records))
        race.on_batch(RaceBatch(race.generation, tuple(updates), False))
        race.draw_frame()
        step = last - 1
        if step % 10_000 == 0:
            qtbot.wait(1)
            if step in (10_000, FED_STEPS):
                if step == 10_000:
                    measure_frames(win)  # warm up pyqtgraph's caches
                frames[step] = measure_frames(win)
            rss[step] = rss_settled_mb()
    for history in race.histories.values():
        assert history.latest_iteration == FED_STEPS
        assert len(history._records) == FULL_RECORDS_KEPT
        np.testing.assert_array_equal(
            history.point(FED_STEPS), paths[history_id(race, history)][0][-1]
        )
    growth = (rss[FED_STEPS] - rss[10_000]) / (FED_STEPS - 10_000) * 10_000
    worst = max(b - a for a, b in zip(list(rss.values())[1:], list(rss.values())[2:]))
    print(
        "\nfed 8 x 100k steps; RSS MB: "
        + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(rss.items()))
        + f"\ngrowth after 10k: {growth:.1f} MB per 10k steps (worst 10k: {worst:.1f} MB)"
        "\nframe ms (steady / full redraw: canvas + loss plot): "
        + ", ".join(f"{k}: {c}" for k, c in sorted(frames.items()))
    )
    assert growth < MB_PER_10K
    assert worst < 2 * MB_PER_10K  # the arrays double at 65,536 steps: ~17 MB at once
    assert_frames_flat(frames[10_000], frames[FED_STEPS])


def history_id(race, history) -> int:
    return next(rid for rid, h in race.histories.items() if h is history)


@qt_warnings_fail
def test_loss_plot_downsamples_long_curves(qtbot, window):
    """8 loss curves of 100,000 points repaint in about the time of 10,000-point curves."""
    win = window
    win.racers_panel.set_racers(
        [make_racer("gd", c, lr=1e-5) for c in ("#ff0000", "#00ff00", "#0000ff", "#ffffff") * 2]
    )
    plot = win.loss_plot
    ids = list(plot.curves)
    assert len(ids) == 8

    def repaint_ms(n: int) -> float:
        k = np.arange(n)
        for i, rid in enumerate(ids):
            plot.set_losses(rid, 10.0 / (1 + k / (1000 * (i + 1))) + 0.1 * np.sin(k / 7), (n, i))
        plot.viewport().repaint()
        times = []
        for _ in range(3):
            for curve in plot.curves.values():
                curve.settled.curve.update()  # what a new settled key does: paint it again
            t0 = time.perf_counter()
            plot.viewport().repaint()
            times.append(time.perf_counter() - t0)
        return 1000 * float(np.median(times))

    short, long = repaint_ms(10_000), repaint_ms(FED_STEPS)
    print(f"\nloss plot repaint, 8 curves: {short:.1f} ms at 10k points, {long:.1f} ms at 100k")
    for curve in plot.curves.values():
        assert curve.settled.opts["autoDownsample"]
    assert long < FRAME_FACTOR * short + 5.0


def test_trail_thinning_of_100k_points_is_cheap():
    """Thinning a 100,000-point trail to screen pixels costs about one plain pass over it."""
    history = RacerHistory(2)
    tpl = Run(get_objective("rosenbrock"), make_optimizer("gd", lr=1e-5), LONG_START).first
    xs = fed_path(LONG_START, np.arange(FED_STEPS + 1), 0)
    history.extend((tpl,))
    history.extend(
        tuple(replace(tpl, iteration=j, x=xs[j : j + 1]) for j in range(1, FED_STEPS + 1))
    )
    settled = history.settled_until()
    pixel = (3 / 800, 4 / 600)  # Rosenbrock's view on an 800 x 600 canvas

    def one_pass() -> np.ndarray:  # the same pixel test, column by column, and the selection
        pts = history.positions(settled)
        keep = np.zeros(len(pts), bool)
        for j in range(2):
            cells = np.floor(pts[:, j] / pixel[j])
            keep[1:] |= cells[1:] != cells[:-1]
        return pts[keep]

    def fastest(fn) -> float:
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    points = history.trail(settled, pixel=pixel)
    assert 2 <= len(points) <= 3000
    trail = fastest(lambda: history.trail(settled, pixel=pixel))
    plain = fastest(one_pass)
    print(f"\ntrail of {FED_STEPS} points: {1000 * trail:.2f} ms, one pass {1000 * plain:.2f} ms")
    assert trail < 3 * plain


@qt_warnings_fail
def test_a_window_closed_at_once_leaves_no_timer(qtbot):
    """Closed and deleted before its delayed start-up work: nothing fires into the dead window
    (regression: a context-less QTimer.singleShot raised 'Signal source has been deleted')."""
    win = MainWindow()
    win.show()
    win.close()
    win.deleteLater()
    qtbot.wait(LESSONS_DELAY_MS + 500)


# -- 4. an exception inside the worker -------------------------------------------------------------
def flaky_objective(fail_on_call: int) -> tuple[Objective, list[int]]:
    """Himmelblau whose gradient raises RuntimeError("injected") on one call (a transient fault
    in one racer's evaluation; later calls work again, so only that racer is hit)."""
    base = get_objective("himmelblau")
    calls = [0]

    def grad(*cols):
        calls[0] += 1
        if calls[0] == fail_on_call:
            raise RuntimeError("injected")
        return base.grad_components(*cols)

    flaky = Objective(
        "flaky",
        "Flaky Himmelblau",
        2,
        base.f,
        grad,
        base.hess_components,
        base.domain,
        base.stationary,
    )
    return flaky, calls


@qt_warnings_fail
def test_an_objective_raising_in_the_worker_fails_one_racer_only(qtbot, window, caplog):
    win = window
    win.racers_panel.set_racers(
        [
            make_racer("gd", "#ff0000", lr=0.001),
            make_racer("momentum", "#00ff00", lr=0.001),
            make_racer("adam", "#0000ff", lr=0.01),
        ]
    )
    objective, calls = flaky_objective(fail_on_call=6)  # 3 start evaluations, then steps
    win.race.set_scene(objective)
    wait_surface(qtbot, win)
    win.transport.set_speed(60)
    with caplog.at_level(logging.INFO):
        win.race.start_at((-4.0, 4.0), play=True)
        wait_counts(qtbot, win, 20)
        qtbot.waitUntil(
            lambda: all(h.count >= 20 for h in win.race.histories.values() if _running(h)),
            timeout=5000,
        )
    assert calls[0] > 6
    failed = [rid for rid, h in win.race.histories.items() if not _running(h)]
    assert len(failed) == 1
    bad = failed[0]
    record = win.race.histories[bad].latest_record()
    assert record.status_name() == "failed"
    assert "RuntimeError" in record.messages[0] and "injected" in record.messages[0]
    win.race.draw_frame()
    card = win.racers_panel.cards[bad]
    assert card.badge.text() == "failed"
    assert "injected" in card.readout.text()
    for rid, history in win.race.histories.items():
        if rid != bad:
            assert history.latest_record().status_name() == "running"
            assert win.racers_panel.cards[rid].badge.text() == "running"
    # the app keeps working: another function, another race
    rosen = win.function_panel.choice.findData("rosenbrock")
    win.function_panel.choice.setCurrentIndex(rosen)
    wait_surface(qtbot, win)
    assert win.race.objective.name == "rosenbrock"
    win.race.start_at((-1.5, 2.0), play=True)
    wait_counts(qtbot, win, 10)
    assert all(_running(h) for h in win.race.histories.values())
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


@qt_warnings_fail
def test_an_objective_raising_in_the_worker_is_logged(qtbot, window, caplog):
    win = window
    win.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.001)])
    objective, _ = flaky_objective(fail_on_call=3)
    win.race.set_scene(objective)
    wait_surface(qtbot, win)
    with caplog.at_level(logging.DEBUG):
        win.race.start_at((-4.0, 4.0), play=True)
        qtbot.waitUntil(
            lambda: any(not _running(h) for h in win.race.histories.values()), timeout=5000
        )
        qtbot.wait(100)
    logged = [r for r in caplog.records if "injected" in r.getMessage() or _exc_text(r)]
    assert logged, "nothing in the log says that a racer failed and why"
    assert logged[0].levelno >= logging.WARNING


def _running(history) -> bool:
    record = history.latest_record()
    return record is not None and record.status_name() == "running"


def _exc_text(record: logging.LogRecord) -> bool:
    return bool(record.exc_info) and "injected" in str(record.exc_info[1])

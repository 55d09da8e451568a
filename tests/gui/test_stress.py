"""GUI under stress ("never crash in front of a class"): rapid clicks, switches and toggles mid-run,
parameter edits every frame, rewind during play, reset and close during a GIF export, a long
8-racer run (memory and frame time stay flat) and an objective that raises inside the worker.

Every test fails on any Qt warning and on any exception raised in a slot (pytest-qt). The long
run is short by default; ``DESCENTLAB_LONG_STRESS=1`` runs the full 100,000 steps.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtWidgets import QPushButton

from engine.objective import Objective
from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from gui.history import FULL_RECORDS_KEPT
from gui.jobs import JobRunner
from gui.main_window import MainWindow
from gui.racers import RacerConfig, make_racer
from gui.worker import RaceThread

LONG = os.environ.get("DESCENTLAB_LONG_STRESS") == "1"
qt_warnings_fail = pytest.mark.qt_log_level_fail("WARNING")


# -- helpers ---------------------------------------------------------------------------------------
def click_canvas(qtbot, win, point) -> None:
    pos = win.canvas.scene_point(point)
    qtbot.mouseClick(
        win.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(pos.x()), round(pos.y()))
    )


def random_point(rng, win, margin: float = 0.08) -> tuple[float, ...]:
    """A data point well inside the visible view (1-D scenes: inside the x range)."""
    view = win.canvas.view.viewRect()
    x = rng.uniform(view.left() + margin * view.width(), view.right() - margin * view.width())
    if win.race.objective is not None and win.race.objective.dim == 1:
        return (float(x),)
    y = rng.uniform(view.top() + margin * view.height(), view.bottom() - margin * view.height())
    return (float(x), float(y))


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
            make_racer("adam", "#0000ff", lr=0.05),
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
    wait_counts(qtbot, win, 12)
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


# -- 2. rewind during play -------------------------------------------------------------------------
@qt_warnings_fail
def test_rewind_while_playing_then_space_resumes_the_same_race(qtbot, window):
    win = window
    win.racers_panel.set_racers(
        [make_racer("gd", "#ff0000", lr=0.001), make_racer("rprop", "#00ffff", step_max=0.05)]
    )
    win.transport.set_speed(0)
    win.race.start_at((-4.0, 4.0), play=True)
    rng = np.random.default_rng(2)
    for _ in range(10):
        wait_counts(qtbot, win, 30)
        qtbot.wait(int(rng.integers(0, 30)))
        qtbot.keyClick(win, Qt.Key.Key_Left)
        assert win.race.cursor is not None
        qtbot.wait(int(rng.integers(0, 5)))
        qtbot.keyClick(win, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: win.race.playing and win.race.cursor is None, timeout=3000)
        before = max(h.latest_iteration for h in win.race.histories.values())
        qtbot.waitUntil(
            lambda b=before: max(h.latest_iteration for h in win.race.histories.values()) > b + 5,
            timeout=5000,
        )
    pause_and_settle(qtbot, win)
    assert_histories_match_engine(win)


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

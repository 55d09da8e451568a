"""The learning-rate sweep panel, standalone with its own JobRunner."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.objectives import get_objective
from gui.jobs import JobRunner
from gui.racers import make_racer
from gui.sweep_panel import LrSweepPanel, SweepResult

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def runner():
    jobs = JobRunner("sweep tests")
    yield jobs
    jobs.shutdown()


@pytest.fixture
def panel(qtbot, runner):
    widget = LrSweepPanel(runner)
    qtbot.addWidget(widget)
    widget.resize(460, 640)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def racers():
    return [
        make_racer("gd", "#ff5a5f", lr=0.1),
        make_racer("newton", "#ffffff"),
        make_racer("rprop", "#00e5ff"),
        make_racer("momentum", "#ff66ff", lr=0.02, momentum=0.5),
    ]


def run_to_end(qtbot, panel) -> SweepResult:
    job = panel.run()
    assert job is not None
    qtbot.waitUntil(lambda: panel.result is not None and panel.job_id is None, timeout=15000)
    return panel.result


def plotted(item) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = item.getData()
    if xs is None:
        return np.empty(0), np.empty(0)
    return np.asarray(xs), np.asarray(ys)


def test_optimizer_choices_are_first_order_racers_with_lr(panel):
    panel.set_context(get_objective("quadratic_1d", a=4.0), (2.0,), racers())
    box = panel.optimizer_box
    data = [box.itemData(i) for i in range(box.count())]
    racer_items = [box.itemText(i) for i, d in enumerate(data) if d and d.startswith("racer:")]
    assert racer_items == ["Gradient descent (lr=0.1)", "Momentum (lr=0.02)"]
    assert panel.optimizer_box.currentIndex() == 0  # the first racer by default
    name, params, _, lr = panel.selected()
    assert (name, lr) == ("gd", 0.1) and "lr" not in params
    panel.optimizer_box.setCurrentIndex(1)
    name, params, _, lr = panel.selected()
    assert name == "momentum" and params["momentum"] == 0.5 and lr == 0.02
    # registry entries (defaults) follow; second-order and line-search methods are not offered
    names = {d.removeprefix("registry:") for d in data if d and d.startswith("registry:")}
    assert "gd" in names and "adam" in names
    assert not names & {"newton", "bfgs", "lbfgs", "rprop"}


def test_quadratic_1d_converges_below_two_over_a_and_diverges_above(qtbot, panel):
    objective = get_objective("quadratic_1d", a=4.0)
    panel.set_context(objective, (2.0,), racers())
    panel.count_spin.setValue(240)
    panel.steps_spin.setValue(200)
    lo, hi = panel.lr_from.value(), panel.lr_to.value()
    assert lo < 0.25 and hi > 1.0  # the auto range puts η_opt and the cliff in view
    result = run_to_end(qtbot, panel)

    lrs = result.sweep.lrs
    assert len(lrs) == 240 and np.all(np.diff(lrs) > 0)
    assert np.all(result.converges[lrs < 2 / 4.0])
    assert np.all(result.diverges[lrs > 2 / 4.0])
    assert not np.any(result.converges & result.diverges)
    # the cliff sits at 2η_opt = 2/a, within one grid step
    assert result.below_cliff < 0.5 <= result.cliff
    assert result.cliff / result.below_cliff < 1.05
    assert result.sweep.eta_opt == pytest.approx(0.25)
    assert result.sweep.eta_limit == pytest.approx(0.5)
    assert ("2η_opt", pytest.approx(0.5), True) in result.thresholds
    assert ("η_opt", pytest.approx(0.25), False) in result.thresholds
    # fastest convergence next to η_opt
    assert result.fastest is not None and abs(math.log10(result.fastest[0] / 0.25)) < 0.05

    text = panel.status.text()
    assert "Converges for η ≤ 0.495" in text and "diverges for η ≥ 0.514" in text
    assert "2η_opt = 0.5" in text

    # what went to pyqtgraph: finite only; diverged runs on their own row above every loss
    xs, ys = plotted(panel.loss_points)
    dx, dy = plotted(panel.diverged_points)
    assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
    assert np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))
    n_div = sum(s == "diverged" for s in result.sweep.status)
    assert n_div > 0 and len(dx) == n_div and len(xs) == 240 - n_div
    assert np.all(dy > ys.max())
    assert panel.loss_axis.rows == {float(dy[0]): "diverged"}
    # the vertical lines at η_opt and 2η_opt (log10 units), in both plots
    positions = sorted({round(line.value(), 9) for line in panel.eta_lines})
    assert positions == [round(math.log10(0.25), 9), round(math.log10(0.5), 9)]
    labels = {line.label.format for line in panel.eta_lines if getattr(line, "label", None)}
    assert labels == {"η_opt = 0.25", "2η_opt = 0.5"}
    # the diverging side is shaded from the cliff on
    assert panel.regions[0].isVisible()
    assert panel.regions[0].getRegion()[0] == pytest.approx(math.log10(result.cliff))
    # steps-to-converge: only converged runs, all within max steps
    sx, sy = plotted(panel.steps_points)
    assert len(sx) == sum(n is not None for n in result.sweep.steps_to_converge) > 0
    assert np.all(sy <= 200)


def test_quadratic_2d_marks_both_directions(qtbot, panel):
    objective = get_objective("quadratic_2d", lambda1=1.0, lambda2=10.0)
    panel.set_context(objective, (3.0, 2.0), racers())
    result = run_to_end(qtbot, panel)
    by_label = {label: eta for label, eta, _ in result.thresholds}
    assert by_label == pytest.approx({"1/λmax": 0.1, "2/λmax": 0.2, "1/λmin": 1.0, "2/λmin": 2.0})
    assert result.below_cliff < 0.2 <= result.cliff
    assert "2/λmax = 0.2" in panel.status.text()


def test_negative_losses_use_a_linear_axis(qtbot, panel):
    # six-hump camel dips below zero: no log axis, and still only finite data for pyqtgraph
    panel.set_context(get_objective("six_hump_camel"), (0.5, -0.5), racers())
    result = run_to_end(qtbot, panel)
    assert (
        np.nanmin(np.where(np.isfinite(result.sweep.final_loss), result.sweep.final_loss, np.nan))
        < 0
    )
    assert panel.loss_axis.logMode is False
    assert panel.steps_plot.getAxis("bottom").logMode is True
    _, ys = plotted(panel.loss_points)
    dx, dy = plotted(panel.diverged_points)
    assert len(dx) > 0 and np.all(np.isfinite(ys)) and np.all(np.isfinite(dy))
    assert np.all(dy > ys.max())
    assert result.cliff is not None


def test_cancel_draws_nothing_and_resets_progress(qtbot, panel, runner):
    panel.set_context(get_objective("rosenbrock"), (-1.2, 1.0), [make_racer("adam", "#ff9f1c")])
    panel.auto_box.setChecked(False)
    panel.lr_from.setValue(1e-4)
    panel.lr_to.setValue(1e-2)
    panel.count_spin.setValue(5000)
    panel.steps_spin.setValue(100_000)  # ~10 s of work
    job = panel.run()
    assert not panel.run_button.isEnabled() or panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    with qtbot.waitSignal(runner.cancelled, timeout=5000, check_params_cb=lambda j: j == job):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.progress.value() == 0
    qtbot.wait(50)
    assert panel.result is None and panel.job_id is None
    assert panel.progress.value() == 0
    assert len(plotted(panel.loss_points)[0]) == 0 and not panel.eta_lines
    assert panel.status.text() == "Cancelled."
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_new_run_cancels_the_previous_and_outdated_results_are_ignored(qtbot, panel, runner):
    slow = [make_racer("adam", "#ff9f1c")]
    panel.set_context(get_objective("rosenbrock"), (-1.2, 1.0), slow)
    panel.count_spin.setValue(5000)
    panel.steps_spin.setValue(100_000)
    first = panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    # a new scene: the running job is outdated, cancelled, and its result would be ignored
    with qtbot.waitSignal(runner.cancelled, timeout=5000, check_params_cb=lambda j: j == first):
        panel.set_context(get_objective("quadratic_1d", a=4.0), (2.0,), racers())
    assert panel.result is None and panel.job_id is None
    assert "scene changed" in panel.status.text()

    # a second Run while one is in flight cancels the first; only the second is drawn
    rosenbrock = get_objective("rosenbrock")
    panel.set_context(rosenbrock, (-1.2, 1.0), [*slow, make_racer("gd", "#ff5a5f", lr=1e-3)])
    panel.count_spin.setValue(5000)
    panel.steps_spin.setValue(100_000)
    slow_job = panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    panel.optimizer_box.setCurrentIndex(1)  # the GD racer
    panel.count_spin.setValue(200)
    panel.steps_spin.setValue(200)
    with qtbot.waitSignal(runner.cancelled, timeout=5000, check_params_cb=lambda j: j == slow_job):
        quick = panel.run()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10000)
    assert quick != slow_job and panel.result.sweep.optimizer == "gd"
    assert len(panel.result.sweep.lrs) == 200


def test_start_change_marks_the_result_outdated(qtbot, panel):
    objective = get_objective("quadratic_1d", a=4.0)
    group = racers()
    panel.set_context(objective, (2.0,), group)
    result = run_to_end(qtbot, panel)
    panel.set_context(objective, (1.0,), group)
    assert panel.result is result  # kept on screen, but flagged
    assert panel.status.text().startswith("⚠ Outdated")


def test_needs_a_start_point(panel):
    panel.set_context(get_objective("quadratic_1d", a=4.0), None, racers())
    assert not panel.run_button.isEnabled()
    assert panel.run() is None
    assert "start point" in panel.status.text()


def test_closing_mid_sweep_does_not_hang(qtbot, runner):
    import time

    panel = LrSweepPanel(runner)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_context(get_objective("rosenbrock"), (-1.2, 1.0), [make_racer("adam", "#ff9f1c")])
    panel.count_spin.setValue(5000)
    panel.steps_spin.setValue(100_000)
    panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    t0 = time.perf_counter()
    panel.close()
    runner.shutdown()
    assert time.perf_counter() - t0 < 5.0


def test_screenshot(qtbot, panel, tmp_path):
    panel.set_context(get_objective("quadratic_1d", a=4.0), (2.0,), racers())
    run_to_end(qtbot, panel)
    qtbot.wait(50)
    path = tmp_path / "sweep_panel.png"
    assert panel.grab().save(str(path))
    image = panel.grab().toImage()
    assert image.width() > 300 and image.height() > 400

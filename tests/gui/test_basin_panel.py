"""The basins-of-attraction panel and its canvas layer, standalone with a SurfaceCanvas."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from engine.objectives import get_objective
from engine.palette import DIVERGED_COLOR, NOT_CONVERGED_COLOR, attractor_color, hex_to_rgb
from engine.sweeps import DIVERGED_LABEL
from gui.basin_panel import UNBATCHED_GRID_CAP, BasinPanel
from gui.canvas import SurfaceCanvas
from gui.jobs import JobRunner
from gui.racers import make_racer
from gui.surface import compute_surface

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def runner():
    jobs = JobRunner("basin tests")
    yield jobs
    jobs.shutdown()


class Host(QWidget):
    """A canvas with the panel beside it, as in the main window."""

    def __init__(self, runner: JobRunner) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        self.canvas = SurfaceCanvas()
        self.panel = BasinPanel(runner, self.canvas.plot)
        self.panel.setFixedWidth(380)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.panel)
        self.resize(1100, 640)

    def show_scene(self, objective, racers=(), view=None):
        view = view or objective.domain
        self.canvas.set_objective(objective, view)
        y_range = view[1] if objective.dim == 2 else None
        self.canvas.show_surface(compute_surface(objective, view[0], y_range, 256))
        self.panel.set_context(objective, view, list(racers))


@pytest.fixture
def host(qtbot, runner):
    widget = Host(runner)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def choose(panel: BasinPanel, data) -> None:
    index = panel.optimizer_box.findData(data)
    assert index >= 0, data
    panel.optimizer_box.setCurrentIndex(index)


def run_to_end(qtbot, panel: BasinPanel):
    assert panel.run() is not None
    qtbot.waitUntil(lambda: panel.result is not None and panel.job_id is None, timeout=30000)
    return panel.result


def test_quadratic_2d_one_attractor_colour_for_every_converged_start(qtbot, host):
    gd = make_racer("gd", "#ff5a5f", lr=0.15)
    host.show_scene(get_objective("quadratic_2d", lambda1=1.0, lambda2=10.0), [gd])
    panel = host.panel
    assert panel.optimizer_box.currentData() == f"racer:{gd.racer_id}"
    panel.grid_spin.setValue(64)
    panel.steps_spin.setValue(300)
    result = run_to_end(qtbot, panel)
    basin = result.basin
    assert basin.optimizer == "gd" and basin.params["lr"] == 0.15
    assert len(basin.attractors) == 1
    assert basin.attractors[0].kind == "minimum"
    converged = basin.labels >= 0
    assert converged.sum() == 64 * 64
    colours = {tuple(c) for c in result.flat[converged][:, :3]}
    assert colours == {hex_to_rgb(attractor_color(0))}
    # the shaded image keeps the hue, darker with more steps
    assert np.all(result.shaded[converged][:, :3] <= result.flat[converged][:, :3])
    # drawn on the canvas over exactly the view
    layer = panel.layer
    assert layer.image.isVisible() and layer.image.image.shape == (64, 64, 4)
    rect = layer.image.mapRectToParent(layer.image.boundingRect())
    assert (rect.left(), rect.right()) == pytest.approx((-4.0, 4.0))
    assert (rect.top(), rect.bottom()) == pytest.approx((-4.0, 4.0))
    assert [e.color for e in panel.legend.entries] == [
        attractor_color(0),
        NOT_CONVERGED_COLOR,
        DIVERGED_COLOR,
    ]
    assert panel.legend.entries[0].count == 64 * 64
    assert "1 minimum" in panel.status.text()


def test_newton_on_himmelblau_finds_all_four_minima(qtbot, host):
    newton = make_racer("newton", "#ffffff")
    host.show_scene(get_objective("himmelblau"), [make_racer("gd", "#ff5a5f", lr=0.01), newton])
    panel = host.panel
    choose(panel, f"racer:{newton.racer_id}")
    assert panel.grid_spin.value() == 128 and panel.steps_spin.value() == 100
    assert panel.tol_spin.value() == pytest.approx(1e-6)
    result = run_to_end(qtbot, panel)
    texts = [e.text for e in panel.legend.entries]
    for point in ("(3, 2)", "(−2.81, 3.13)", "(−3.78, −3.28)", "(3.58, −1.85)"):
        assert any("minimum" in t and point in t for t in texts), (point, texts)
    minima = [a for a in result.basin.attractors if a.kind == "minimum"]
    assert len(minima) == 4
    # Newton also lands on the saddles and the maximum: they are named as such
    assert any(t.startswith("saddle") for t in texts)
    assert any("maximum" in t for t in texts)
    assert texts[-2:] == ["not converged", "diverged"]
    # rings mark the attractors on the canvas
    xs, _ = panel.layer.rings.getData()
    assert len(xs) == len(result.basin.attractors)


def test_image_orientation_matches_the_data(qtbot, host):
    """Row 0 of the map is the lowest y: the pixel under a data point has that start's colour."""
    objective = get_objective("himmelblau")
    host.show_scene(objective, [])
    panel = host.panel
    choose(panel, "registry:newton")
    panel.grid_spin.setValue(64)
    panel.shade_box.setChecked(False)
    panel.opacity_slider.setValue(100)
    for item in host.canvas.contours:
        item.hide()
    result = run_to_end(qtbot, panel)
    basin = result.basin
    qtbot.wait(50)
    frame = host.canvas.grab().toImage()
    ratio = frame.devicePixelRatio()
    # off-centre points in different basins; a flipped image would show another basin there
    checked = 0
    for x, y in ((4.2, 4.2), (-4.2, 4.3), (-4.4, -4.4), (4.4, -4.0), (1.2, 4.6), (4.6, -0.9)):
        col = int(np.argmin(abs(basin.xs - x)))
        row = int(np.argmin(abs(basin.ys - y)))
        flipped = basin.labels[basin.grid - 1 - row, col]
        label = basin.labels[row, col]
        if label == flipped:
            continue
        # the ImageItem maps the data point to the same cell
        pos = panel.layer.image.mapFromParent(QPointF(x, y))
        assert (int(pos.y()), int(pos.x())) == (row, col)
        p = host.canvas.scene_point((x, y))
        pixel = frame.pixelColor(int(p.x() * ratio), int(p.y() * ratio))
        got = np.array([pixel.red(), pixel.green(), pixel.blue()])
        want = result.flat[row, col, :3].astype(int)
        other = result.flat[basin.grid - 1 - row, col, :3].astype(int)
        assert np.abs(got - want).max() <= 12, (x, y, got, want)
        assert np.abs(got - other).max() > 12
        checked += 1
    assert checked >= 3


def test_diverged_starts_are_black(qtbot, host):
    gd = make_racer("gd", "#ff5a5f", lr=0.05)
    host.show_scene(get_objective("six_hump_camel"), [gd])
    panel = host.panel
    panel.grid_spin.setValue(48)
    result = run_to_end(qtbot, panel)
    basin = result.basin
    gone = basin.labels == DIVERGED_LABEL
    assert 0 < gone.sum() < basin.labels.size
    for image in (result.flat, result.shaded, panel.layer.image.image):
        assert np.all(image[gone] == (0, 0, 0, 255))
        assert not np.any(np.all(image[~gone][:, :3] == 0, axis=1))
    diverged = [e for e in panel.legend.entries if e.text == "diverged"]
    assert diverged[0].color == DIVERGED_COLOR and diverged[0].count == int(gone.sum())
    assert "diverged" in panel.status.text()


def test_opacity_show_hide_and_scene_change(qtbot, host):
    newton = make_racer("newton", "#ffffff")
    host.show_scene(get_objective("himmelblau"), [newton])
    panel = host.panel
    panel.grid_spin.setValue(32)
    run_to_end(qtbot, panel)
    layer = panel.layer
    assert layer.image.opacity() == pytest.approx(0.6)
    panel.opacity_slider.setValue(25)
    assert layer.image.opacity() == pytest.approx(0.25) and panel.opacity_label.text() == "25 %"
    qtbot.mouseClick(panel.show_box, Qt.MouseButton.LeftButton)
    assert not panel.show_box.isChecked() and not layer.image.isVisible()
    assert not layer.rings.isVisible()
    panel.show_box.setChecked(True)
    assert layer.image.isVisible()
    # the racers change (e.g. a colour): the map stays
    panel.set_context(panel.objective, panel.view, [newton, make_racer("gd", "#ff5a5f")])
    assert panel.result is not None and layer.image.isVisible()
    # another scene: the map and legend go
    host.show_scene(get_objective("rosenbrock"), [newton])
    assert panel.result is None and layer.basin is None and not layer.image.isVisible()
    assert panel.legend.entries == []
    # another view of the same objective also clears
    run_to_end(qtbot, panel)
    panel.set_context(panel.objective, ((-1.0, 1.0), (0.0, 2.0)), [newton])
    assert panel.result is None and not layer.image.isVisible()


def test_scene_change_mid_job_ignores_the_result(qtbot, host, runner):
    host.show_scene(get_objective("rastrigin"), [])
    panel = host.panel
    choose(panel, "registry:newton")
    panel.grid_spin.setValue(512)
    panel.steps_spin.setValue(100_000)
    job = panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    with qtbot.waitSignal(runner.cancelled, timeout=5000, check_params_cb=lambda j: j == job):
        host.show_scene(get_objective("himmelblau"), [])
    assert panel.job_id is None and panel.result is None and panel.progress.value() == 0
    assert not panel.layer.image.isVisible()


def test_cancel_button(qtbot, host, runner):
    host.show_scene(get_objective("rastrigin"), [])
    panel = host.panel
    choose(panel, "registry:newton")
    panel.grid_spin.setValue(512)
    panel.steps_spin.setValue(100_000)
    job = panel.run()
    assert panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    with qtbot.waitSignal(runner.cancelled, timeout=5000, check_params_cb=lambda j: j == job):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert panel.result is None and panel.progress.value() == 0
    assert panel.status.text() == "Cancelled." and not panel.cancel_button.isEnabled()
    assert panel.layer.basin is None


def test_bfgs_grid_is_capped(host):
    host.show_scene(get_objective("himmelblau"), [make_racer("bfgs", "#ffe66d")])
    panel = host.panel
    assert panel.grid_spin.maximum() == UNBATCHED_GRID_CAP
    assert panel.grid_spin.value() == UNBATCHED_GRID_CAP
    assert panel.note.isVisibleTo(panel) and "capped at 64" in panel.note.text()
    choose(panel, "registry:gd")
    assert panel.grid_spin.maximum() == 512 and not panel.note.isVisibleTo(panel)


def test_rprop_gets_a_looser_tol_unless_the_user_chose_one(host):
    host.show_scene(get_objective("himmelblau"), [make_racer("rprop", "#00e5ff")])
    panel = host.panel
    assert panel.tol_spin.value() == pytest.approx(1e-4)
    assert "step_min" in panel.note.text()
    choose(panel, "registry:adam")
    assert panel.tol_spin.value() == pytest.approx(1e-6)
    panel.tol_spin.setValue(1e-3)  # the user's choice sticks
    choose(panel, "registry:rprop")
    assert panel.tol_spin.value() == pytest.approx(1e-3)


def test_one_dimensional_objectives_cannot_be_mapped(host):
    host.show_scene(get_objective("quadratic_1d", a=4.0), [make_racer("gd", "#ff5a5f")])
    panel = host.panel
    assert not panel.run_button.isEnabled()
    assert panel.run() is None
    assert "two variables" in panel.status.text()


def test_closing_mid_job_does_not_hang(qtbot, runner):
    host = Host(runner)
    qtbot.addWidget(host)
    host.show()
    host.show_scene(get_objective("rastrigin"), [])
    panel = host.panel
    choose(panel, "registry:newton")
    panel.grid_spin.setValue(512)
    panel.steps_spin.setValue(100_000)
    panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    t0 = time.perf_counter()
    host.close()
    runner.shutdown()
    assert time.perf_counter() - t0 < 5.0


def test_screenshot(qtbot, host, tmp_path):
    newton = make_racer("newton", "#ffffff")
    host.show_scene(get_objective("himmelblau"), [newton])
    run_to_end(qtbot, host.panel)
    qtbot.wait(50)
    path = tmp_path / "basin_panel.png"
    assert host.grab().save(str(path))
    assert path.stat().st_size > 10_000

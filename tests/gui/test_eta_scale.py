"""The η control on a lecture quadratic: ticks at η_opt and 2η_opt, the regime label updates
live, and picking on the scale sets the racer's η for the running race."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from engine.scenario import ObjectiveSpec
from gui.racers import make_racer


@pytest.fixture
def quadratic(window, qtbot):
    window.scenes.request_objective(ObjectiveSpec("builtin", "quadratic_1d", {"a": 2.0}))
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.3)])
    qtbot.waitUntil(lambda: window.racers_panel.form is not None)
    return window


def test_scale_shows_eta_opt_ticks_and_the_regime(quadratic):
    form = quadratic.racers_panel.form
    scale = form.eta_scale
    assert scale is not None and scale.isVisibleTo(form)
    assert scale.bar.curvatures == (2.0,)
    assert scale.regimes() == ["monotone"]
    assert "monotone" in scale.label.text()
    form.set_values({"lr": 0.7})
    assert scale.regimes() == ["oscillating"]
    form.set_values({"lr": 1.3})
    assert scale.regimes() == ["divergent"]
    assert "divergence" in scale.label.text()


def test_picking_on_the_scale_sets_the_racers_eta(quadratic, qtbot):
    panel = quadratic.racers_panel
    bar = panel.form.eta_scale.bar
    target = 0.5  # η_opt = 1/a: the tick's position on the bar
    x = round(bar._x(target))
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(x, 12))
    lr = panel.racers[0].params["lr"]
    assert abs(lr - target) / target < 0.05  # within a pixel's worth on a log scale
    assert panel.form.fields["lr"].text() == f"{lr:.6g}"


def test_no_scale_off_the_lecture_quadratics(window, qtbot):
    window.scenes.request_objective(ObjectiveSpec("builtin", "rosenbrock"))
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.001)])
    qtbot.waitUntil(lambda: window.racers_panel.form is not None)
    assert not window.racers_panel.form.eta_scale.isVisibleTo(window.racers_panel.form)

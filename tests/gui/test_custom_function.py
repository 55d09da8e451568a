"""Your own function: type E(x, y) (or E(x)), press Enter, and race on it.

The race on a typed function is the engine's trace of the same text; bad input is explained
under the field (what and at which column) and changes nothing; a function undefined in part of
the view draws with gaps and a racer that steps there stops as "failed"; a 1-D formula switches
the canvas to the curve E(w).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from engine.expressions import objective_from_expression
from engine.optimizers import make_optimizer
from engine.run import trace
from gui.function_panel import CUSTOM
from gui.main_window import MainWindow
from gui.racers import make_racer

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def choose_custom(qtbot, win) -> None:
    """Pick "Your own function…" in the function panel, as a user would."""
    panel = win.function_panel
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    panel.choice.setCurrentIndex(panel.choice.findData(CUSTOM))
    assert panel.choice.currentText() == "Your own function…"
    assert panel.editor.isVisible()
    qtbot.waitUntil(panel.editor.field.hasFocus, timeout=3000)


def type_expression(qtbot, win, text: str, x_range: str | None = None) -> None:
    editor = win.function_panel.editor
    if x_range is not None:
        editor.x_range.setText(x_range)
    editor.field.setFocus()
    editor.field.selectAll()
    qtbot.keyClicks(editor.field, text)
    assert editor.field.text() == text
    qtbot.keyClick(editor.field, Qt.Key.Key_Return)


def show(qtbot, win, text: str, x_range: str | None = None) -> None:
    """Type ``text``, press Enter and wait until the canvas shows its surface."""
    type_expression(qtbot, win, text, x_range)
    qtbot.waitUntil(
        lambda: win.race.objective is not None and win.race.objective.expression == text,
        timeout=15000,
    )
    wait_surface(qtbot, win)


def wait_surface(qtbot, win) -> None:
    qtbot.waitUntil(
        lambda: (
            win.canvas.surface is not None
            and win.canvas.surface.generation == win.race.surface_generation
        ),
        timeout=10000,
    )


def click_canvas(qtbot, win, point) -> None:
    pos = win.canvas.scene_point(point)
    qtbot.mouseClick(
        win.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(pos.x()), round(pos.y())),
    )


def progressed(win, k: int) -> bool:
    """Every racer has made ``k`` steps or stopped."""
    records = [h.latest_record() for h in win.race.histories.values()]
    return bool(records) and all(
        r is not None and (r.iteration >= k or r.status_name() != "running") for r in records
    )


def finished(win) -> bool:
    records = [h.latest_record() for h in win.race.histories.values()]
    return bool(records) and all(r is not None and r.status_name() != "running" for r in records)


TYPED = "sqrt(x^2 + y^2 + 1) + log(1 + x^2) + 0.5*sin(2*y) - 0.3*x*y"


def test_typed_function_is_shown_with_its_derivatives(qtbot, window):
    window.actions["overlay_gradient"].setChecked(False)
    selected = window.racers_panel.selected
    generation = window.race.generation
    choose_custom(qtbot, window)
    show(qtbot, window, TYPED)

    objective = window.race.objective
    assert objective.expression == TYPED
    assert objective.dim == 2
    assert objective.title.startswith(TYPED[:30])  # long formulas are shortened with "…"
    assert window.windowTitle() == f"DescentLab — {objective.title}"
    assert window.scenes.spec.expression == TYPED
    surface = window.canvas.surface
    assert surface.z.shape[0] > 100 and surface.z.shape[1] > 100
    assert np.all(np.isfinite(surface.z))
    assert surface.x_range == (-5.0, 5.0) and surface.y_range == (-5.0, 5.0)
    mid = surface.z.shape[0] // 2
    assert surface.z[mid, mid] == pytest.approx(
        objective.value(np.array([[surface.xs[mid], surface.ys[mid]]]))[0]
    )
    assert window.canvas.image.isVisible() and len(window.canvas.contours) >= 10
    assert not window.function_panel.editor.error.isVisible()
    assert window.statusBar().currentMessage() == ""  # "Deriving ∇E…" is gone
    # typing into the field is text, not shortcuts: s/g/n/r/digits did nothing to the race
    assert window.overlays.enabled() == ()
    assert window.racers_panel.selected == selected
    assert window.race.generation > generation  # restarted once for the new surface

    editor = window.function_panel.editor
    assert not editor.derivatives.isVisible()
    qtbot.mouseClick(editor.derivatives_button, Qt.MouseButton.LeftButton)
    assert editor.derivatives.isVisible()
    text = editor.derivatives.text()
    assert "∂E/∂x = " in text and "∂E/∂y = " in text
    assert "∂²E/∂x² = " in text and "∂²E/∂x∂y = " in text and "∂²E/∂y² = " in text
    assert "cos(2*y)" in text  # d/dy of 0.5*sin(2*y)
    qtbot.mouseClick(editor.derivatives_button, Qt.MouseButton.LeftButton)
    assert not editor.derivatives.isVisible()


RACERS = [
    ("gd", {"lr": 0.02}),
    ("momentum", {"lr": 0.01, "momentum": 0.8}),
    ("adam", {"lr": 0.05}),
    ("newton", {"hessian_fix": "damped", "damping": 0.5}),
    ("rprop", {"variant": "irprop-"}),
    ("bfgs", {}),
]


def test_race_on_a_typed_function_equals_the_engine_trace(qtbot, window):
    text = "(1 - x)^2 + 5*(y - x^2)^2 + 0.1*sin(3*x*y)"
    steps = 60
    window.racers_panel.set_racers(
        [
            make_racer(name, f"#{40 * i:02x}80ff", **params)
            for i, (name, params) in enumerate(RACERS)
        ]
    )
    window.transport.max_steps.setValue(steps)
    window.transport.set_speed(0)
    choose_custom(qtbot, window)
    show(qtbot, window, text, x_range="-2, 2")

    click_canvas(qtbot, window, (-1.2, 1.0))
    qtbot.waitUntil(lambda: window.race.start is not None, timeout=3000)
    start = window.race.start
    assert start == pytest.approx((-1.2, 1.0), abs=0.1)
    qtbot.waitUntil(lambda: finished(window), timeout=20000)

    objective = objective_from_expression(text, domain=((-2.0, 2.0), (-5.0, 5.0)))
    for racer in window.racers_panel.racers:
        expected = trace(objective, make_optimizer(racer.optimizer, **racer.params), start, steps)
        history = window.race.histories[racer.racer_id]
        got = history.positions()
        assert got.shape == expected.points.shape, racer.optimizer
        np.testing.assert_allclose(got, expected.points, rtol=0, atol=1e-12, err_msg=racer.title)
        np.testing.assert_allclose(history.losses(), expected.losses, rtol=0, atol=1e-12)
        assert history.latest_record().status_name() == expected.status, racer.optimizer


BAD_INPUT = [
    ("syntax", "x +* y", ["syntax error", "column 4"]),
    ("unknown-function", "x^2 + foo(y)", ["unknown function 'foo'", "column 7"]),
    ("unknown-name", "x^2 + z", ["unknown name 'z'", "column 7"]),
    ("import", "__import__('os')", ["'__import__'", "column 1"]),
    ("huge-power", "9**9**9", ["too large", "column 4"]),
    ("unclosed", "sin(x", ["syntax error", "never closed", "column 4"]),
    ("empty", "", ["empty"]),
    ("too-long", "x+" * 50_000, ["too long", "limit is 2,000"]),
]
GOOD = "x^2 + 2*y^2 + x*y"


@pytest.fixture(scope="module")
def custom_window(qapp, request):
    """One window (for the bad-input cases) showing a typed function and a race on it."""
    bot = QtBot(request)
    win = MainWindow()
    win.resize(1300, 850)
    win.show()
    bot.waitExposed(win)
    bot.waitUntil(lambda: win.canvas.surface is not None, timeout=5000)
    choose_custom(bot, win)
    show(bot, win, GOOD)
    win.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.01)])
    win.race.start_at((2.0, -3.0), play=False)
    for _ in range(3):
        win.race.step()
    bot.waitUntil(
        lambda: (
            win.race.histories and all(h.latest_iteration == 3 for h in win.race.histories.values())
        ),
        timeout=5000,
    )
    yield win
    win.close()
    win.deleteLater()


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_explained_and_changes_nothing(qtbot, custom_window, case):
    win = custom_window
    _, text, expected = case
    editor = win.function_panel.editor
    objective = win.race.objective
    racers = tuple(win.racers_panel.racers)
    title = win.windowTitle()
    generation = win.race.generation
    points = {rid: h.positions().copy() for rid, h in win.race.histories.items()}

    editor.field.selectAll()
    qtbot.keyClick(editor.field, Qt.Key.Key_Backspace)
    assert editor.field.text() == ""
    if len(text) > 100:  # pasted, not typed
        editor.field.setText(text)
    else:
        qtbot.keyClicks(editor.field, text)
    qtbot.keyClick(editor.field, Qt.Key.Key_Return)
    qtbot.waitUntil(editor.error.isVisible, timeout=10000)
    message = editor.error.text()
    for part in expected:
        assert part in message, (part, message)
    assert editor.error.objectName() == "expressionError"

    qtbot.wait(30)
    assert win.race.objective is objective
    assert win.scenes.spec.expression == GOOD
    assert tuple(win.racers_panel.racers) == racers
    assert win.windowTitle() == title
    assert win.race.generation == generation
    assert {rid: h.positions() for rid, h in win.race.histories.items()}.keys() == points.keys()
    for rid, before in points.items():
        assert np.array_equal(win.race.histories[rid].positions(), before)
    assert win.statusBar().currentMessage() == ""

    # correcting the text clears the message and shows the function again
    editor.field.setText(GOOD)
    qtbot.keyClick(editor.field, Qt.Key.Key_Return)
    assert not editor.error.isVisible()
    qtbot.waitUntil(lambda: win.race.objective is not objective, timeout=15000)
    assert win.race.objective.expression == GOOD
    win.race.start_at((2.0, -3.0), play=False)
    for _ in range(3):
        win.race.step()
    qtbot.waitUntil(
        lambda: all(h.latest_iteration == 3 for h in win.race.histories.values()), timeout=5000
    )


def test_partly_undefined_function_draws_gaps_and_the_racer_fails_cleanly(qtbot, window):
    window.racers_panel.set_racers(
        [make_racer("gd", "#ff0000", lr=1.0), make_racer("gd", "#00ff00", lr=0.01)]
    )
    jumper, walker = (r.racer_id for r in window.racers_panel.racers)
    choose_custom(qtbot, window)
    show(qtbot, window, "log(x) + y^2", x_range="-2, 2")

    surface = window.canvas.surface
    left = surface.xs <= 0
    assert left.any() and (~left).any()
    assert np.all(np.isnan(surface.z[:, left]))
    assert np.all(np.isfinite(surface.z[:, ~left]))
    assert np.all(np.isnan(surface.display[:, left]))
    assert len(window.canvas.contours) >= 5
    for item in window.canvas.contours:
        xs, _ = item.getData()
        if xs is not None and len(xs):
            assert np.nanmin(xs) > -1e-9  # no contour line in the gap

    window.race.start_at((0.5, 1.0), play=False)
    for _ in range(5):
        window.race.step()
    qtbot.waitUntil(lambda: window.race.histories[walker].latest_iteration == 5, timeout=5000)
    record = window.race.histories[jumper].latest_record()
    assert record.status_name() == "failed"
    assert record.iteration == 1  # the first step lands at x = 0.5 - 1·(1/0.5) < 0
    assert "undefined" in record.messages[0]
    assert np.all(np.isfinite(window.race.histories[jumper].positions()))
    window.race.draw_frame()
    card = window.racers_panel.cards[jumper]
    assert card.badge.text() == "failed"
    assert "undefined" in card.readout.text()
    xs, ys = window.canvas.trails[jumper].data()
    assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
    # the other racer, walking slowly inside the domain, is unaffected
    assert window.race.histories[walker].latest_record().status_name() == "running"
    assert window.racers_panel.cards[walker].badge.text() == "running"


def test_one_variable_formula_switches_to_the_curve(qtbot, window):
    text = "x^4 - 3*x^2 + x"
    window.racers_panel.set_racers(
        [make_racer("gd", "#ff0000", lr=0.02), make_racer("newton", "#ffffff")]
    )
    choose_custom(qtbot, window)
    show(qtbot, window, text, x_range="-2.5, 2.5")
    objective = window.race.objective
    assert objective.dim == 1
    canvas = window.canvas
    assert canvas.curve.isVisible()
    assert not canvas.image.isVisible() and not canvas.colorbar.isVisible()
    assert canvas.plot.getAxis("left").labelText == "E(w)"
    assert canvas.plot.getAxis("bottom").labelText == "w"
    xs, ys = canvas.curve.getData()
    assert xs[0] == pytest.approx(-2.5) and xs[-1] == pytest.approx(2.5)
    np.testing.assert_allclose(ys, xs**4 - 3 * xs**2 + xs, rtol=1e-12, atol=1e-12)
    assert all(len(item.getData()[0] or []) == 0 for item in canvas.contours)
    # two minima and a maximum, marked on the curve
    marked = canvas.markers.getData()
    assert len(marked[0]) == 3
    np.testing.assert_allclose(marked[1], marked[0] ** 4 - 3 * marked[0] ** 2 + marked[0])

    click_canvas(qtbot, window, (1.8, 0.0))
    qtbot.waitUntil(lambda: window.race.start is not None, timeout=3000)
    assert len(window.race.start) == 1
    assert window.race.start[0] == pytest.approx(1.8, abs=0.05)
    qtbot.waitUntil(lambda: progressed(window, 5), timeout=10000)
    window.race.pause()
    window.race.draw_frame()
    for rid in (r.racer_id for r in window.racers_panel.racers):
        tx, ty = canvas.trails[rid].data()
        assert len(tx) >= 2
        np.testing.assert_allclose(ty, tx**4 - 3 * tx**2 + tx, rtol=1e-9, atol=1e-9)
    assert window.race.histories[window.racers_panel.racers[0].racer_id].positions().shape[1] == 1

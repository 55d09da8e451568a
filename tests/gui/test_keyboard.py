"""Everything in a lesson can be done from the keyboard alone: lessons (PgDn/PgUp), transport
(Space, Right, Left, R), the selected racer's η ([ and ]), racer selection (1–8), the start point
(Shift+arrows), overlays (G S N H B E), presentation mode (F5 / Esc) and the shortcuts list (F1).

Every key is sent with qtbot.keyClick to the window, as a lecturer's keyboard would.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidget

from engine.objectives import get_objective
from engine.scenario import ObjectiveSpec
from gui.lesson_panel import title_html
from gui.racers import make_racer
from gui.shortcuts_dialog import ShortcutsDialog
from tests.gui.conftest import racer_ids

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def press(qtbot, win, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(win, key, modifier)


def wait_lessons(qtbot, win) -> None:
    qtbot.waitUntil(lambda: len(win.lesson_panel.lessons) > 0, timeout=10000)


def wait_scene(qtbot, win, title: str) -> None:
    qtbot.waitUntil(lambda: win.windowTitle() == f"DescentLab — {title}", timeout=10000)


def latest(win, rid: int) -> int:
    history = win.race.histories.get(rid)
    return -1 if history is None else history.latest_iteration


def gd_scene(qtbot, win, lr: float = 0.001, start=(-4.0, 4.0)) -> int:
    """Himmelblau (the default surface) with one slow GD racer at ``start``, paused."""
    win.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=lr)])
    win.race.start_at(start, play=False)
    rid = racer_ids(win)[0]
    qtbot.waitUntil(lambda: latest(win, rid) == 0)
    return rid


@pytest.fixture
def leave_presentation(window):
    """A failing presentation test must not leave the application font at 20 pt."""
    yield window
    window.presentation.set_active(False)


def test_page_down_and_up_walk_through_the_lessons(qtbot, window):
    wait_lessons(qtbot, window)
    lessons = window.lesson_panel.lessons
    assert len(lessons) >= 3
    for index in (0, 1, 2):
        press(qtbot, window, K.Key_PageDown)
        assert window.lesson_panel.current == index
        wait_scene(qtbot, window, lessons[index].title)
        assert window.scenes.lesson == lessons[index].lesson
    spec = lessons[2].objective
    assert window.race.objective.name == (spec.name if spec.kind == "builtin" else "expression")
    assert window.lesson_panel.list.currentRow() == 2

    press(qtbot, window, K.Key_PageUp)
    assert window.lesson_panel.current == 1
    wait_scene(qtbot, window, lessons[1].title)
    lesson = lessons[1]
    # the lesson's own scene: its racers, start point and overlays
    assert [r.optimizer for r in window.racers_panel.racers] == [r.optimizer for r in lesson.racers]
    assert window.race.start == lesson.start
    assert set(window.overlays.enabled()) == set(lesson.overlays)

    # the ends of the list are sticky, not wrapping
    press(qtbot, window, K.Key_PageUp)
    press(qtbot, window, K.Key_PageUp)
    assert window.lesson_panel.current == 0
    wait_scene(qtbot, window, lessons[0].title)


def test_space_plays_and_pauses(qtbot, window):
    rid = gd_scene(qtbot, window)
    press(qtbot, window, K.Key_Space)
    qtbot.waitUntil(lambda: window.race.playing, timeout=3000)
    assert window.actions["play"].text() == "Pause"
    qtbot.waitUntil(lambda: latest(window, rid) >= 3, timeout=5000)
    press(qtbot, window, K.Key_Space)
    qtbot.waitUntil(lambda: not window.race.playing, timeout=3000)
    assert window.actions["play"].text() == "Play"
    qtbot.wait(50)  # let a batch already queued before the pause arrive
    paused_at = latest(window, rid)
    qtbot.wait(250)  # 30 steps/s would add several steps if the pause did not hold
    assert latest(window, rid) == paused_at


def test_right_steps_exactly_one_left_rewinds_r_resets(qtbot, window):
    rid = gd_scene(qtbot, window)
    for expected in (1, 2, 3):
        press(qtbot, window, K.Key_Right)
        qtbot.waitUntil(lambda e=expected: latest(window, rid) == e)
    qtbot.wait(100)
    assert latest(window, rid) == 3 and not window.race.playing
    history = window.race.histories[rid]
    second = history.point(2)

    press(qtbot, window, K.Key_Left)
    assert window.race.cursor == 2
    assert np.array_equal(window.race.shown_point(rid), second)
    press(qtbot, window, K.Key_Left)
    assert window.race.cursor == 1
    press(qtbot, window, K.Key_Right)  # forward through the stored path, nothing recomputed
    assert window.race.cursor == 2

    press(qtbot, window, K.Key_R)
    qtbot.waitUntil(lambda: latest(window, rid) == 0)
    assert window.race.cursor is None
    assert window.race.start == (-4.0, 4.0)
    assert np.array_equal(window.race.histories[rid].point(0), [-4.0, 4.0])


def test_digits_select_racers_one_to_eight(qtbot, window):
    optimizers = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton", "rprop"]
    window.racers_panel.set_racers(
        [make_racer(name, f"#{i:02x}{i:02x}ff") for i, name in enumerate(optimizers)]
    )
    ids = [r.racer_id for r in window.racers_panel.racers]
    for digit, key in enumerate((K.Key_1, K.Key_2, K.Key_3, K.Key_4, K.Key_5, K.Key_6, K.Key_7)):
        press(qtbot, window, key)
        assert window.racers_panel.selected == ids[digit]
    press(qtbot, window, K.Key_8)
    assert window.racers_panel.selected == ids[7]
    assert "Rprop" in window.racers_panel.params_box.title()
    # a digit beyond the list changes nothing
    window.racers_panel.set_racers(window.racers_panel.racers[:2])
    press(qtbot, window, K.Key_2)
    assert window.racers_panel.selected == ids[1]
    press(qtbot, window, K.Key_5)
    assert window.racers_panel.selected == ids[1]


def test_brackets_scale_the_selected_racers_lr_from_the_next_step(qtbot, window):
    objective = get_objective("himmelblau")
    window.racers_panel.set_racers(
        [make_racer("newton", "#ffffff"), make_racer("gd", "#ff0000", lr=0.001)]
    )
    newton_id, gd_id = (r.racer_id for r in window.racers_panel.racers)
    window.race.start_at((-4.0, 4.0), play=False)
    qtbot.waitUntil(lambda: latest(window, gd_id) == 0)

    press(qtbot, window, K.Key_2)
    assert window.racers_panel.selected == gd_id
    press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, gd_id) == 1)
    press(qtbot, window, K.Key_BracketRight)
    assert window.racers_panel.racer(gd_id).params["lr"] == pytest.approx(0.00125)
    press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, gd_id) == 2)
    history = window.race.histories[gd_id]
    x1 = history.point(1)
    expected = x1 - 0.00125 * objective.grad(x1[None, :])[0]
    assert np.allclose(history.point(2), expected, rtol=0, atol=1e-12)

    press(qtbot, window, K.Key_BracketLeft)  # × 0.8: back to 0.001
    assert window.racers_panel.racer(gd_id).params["lr"] == pytest.approx(0.001)
    press(qtbot, window, K.Key_BracketLeft)
    assert window.racers_panel.racer(gd_id).params["lr"] == pytest.approx(0.0008)
    press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, gd_id) == 3)
    x2 = history.point(2)
    expected = x2 - 0.0008 * objective.grad(x2[None, :])[0]
    assert np.allclose(history.point(3), expected, rtol=0, atol=1e-12)
    assert "η = 0.0008" in window.statusBar().currentMessage()

    # while playing, the change lands on the running race too
    window.transport.set_speed(60)
    press(qtbot, window, K.Key_Space)
    qtbot.waitUntil(lambda: window.race.playing, timeout=3000)
    press(qtbot, window, K.Key_BracketRight)
    assert window.racers_panel.racer(gd_id).params["lr"] == pytest.approx(0.001)
    mark = latest(window, gd_id)
    qtbot.waitUntil(lambda: latest(window, gd_id) >= mark + 5, timeout=5000)
    press(qtbot, window, K.Key_Space)
    qtbot.waitUntil(lambda: not window.race.playing, timeout=3000)
    last = history.latest_iteration
    x = history.point(last - 1)
    expected = x - 0.001 * objective.grad(x[None, :])[0]
    assert np.allclose(history.point(last), expected, rtol=0, atol=1e-12)

    # the keys act on the selected racer only (Newton's damping factor η here)
    press(qtbot, window, K.Key_1)
    before = window.racers_panel.racer(newton_id).full_params()["lr"]
    press(qtbot, window, K.Key_BracketLeft)
    assert window.racers_panel.racer(newton_id).params["lr"] == pytest.approx(before * 0.8)
    assert window.racers_panel.racer(gd_id).params["lr"] == pytest.approx(0.001)


def test_shift_arrows_move_the_start_by_two_percent_of_the_view_and_restart(qtbot, window):
    rid = gd_scene(qtbot, window, start=(1.0, -2.0))
    for _ in range(3):
        press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, rid) == 3)
    (x0, x1), (y0, y1) = window.race.view
    dx, dy = 0.02 * (x1 - x0), 0.02 * (y1 - y0)

    moves = [
        (K.Key_Right, (dx, 0.0)),
        (K.Key_Up, (0.0, dy)),
        (K.Key_Left, (-dx, 0.0)),
        (K.Key_Down, (0.0, -dy)),
        (K.Key_Left, (-dx, 0.0)),
    ]
    expected = np.array([1.0, -2.0])
    for key, (mx, my) in moves:
        press(qtbot, window, key, SHIFT)
        expected = expected + np.array([mx, my])
        assert np.allclose(window.race.start, expected, rtol=0, atol=1e-12)
        # a restart: every trail begins again at the new start
        qtbot.waitUntil(lambda: latest(window, rid) == 0)
        assert np.allclose(window.race.histories[rid].point(0), expected, rtol=0, atol=1e-12)
        pos = window.canvas.start_marker.pos()
        assert (pos.x(), pos.y()) == pytest.approx(tuple(expected))
    assert window.race.cursor is None and not window.race.playing

    # while playing, the moved race keeps playing
    window.transport.set_speed(60)
    press(qtbot, window, K.Key_Space)
    qtbot.waitUntil(lambda: window.race.playing, timeout=3000)
    press(qtbot, window, K.Key_Up, SHIFT)
    expected = expected + np.array([0.0, dy])
    assert np.allclose(window.race.start, expected, rtol=0, atol=1e-12)
    qtbot.waitUntil(lambda: latest(window, rid) >= 3, timeout=5000)
    assert np.allclose(window.race.histories[rid].point(0), expected, rtol=0, atol=1e-12)


def test_shift_up_on_a_curve_keeps_the_race(qtbot, window):
    window.scenes.request_objective(ObjectiveSpec("builtin", "quadratic_1d"))
    window.racers_panel.set_racers([make_racer("gd", "#ff0000", lr=0.1)])
    window.race.start_at((-2.0,), play=False)
    rid = racer_ids(window)[0]
    for _ in range(3):
        press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, rid) == 3)
    generation = window.race.generation
    press(qtbot, window, K.Key_Right, SHIFT)  # a 1-D start moves along w ...
    assert window.race.start == pytest.approx((-2.0 + 0.02 * np.ptp(window.race.view[0]),))
    qtbot.waitUntil(lambda: latest(window, rid) == 0)
    for _ in range(3):
        press(qtbot, window, K.Key_Right)
    qtbot.waitUntil(lambda: latest(window, rid) == 3)
    generation = window.race.generation
    press(qtbot, window, K.Key_Up, SHIFT)  # ... but there is no "up" to move it to
    qtbot.wait(50)
    assert window.race.generation == generation
    assert latest(window, rid) == 3


OVERLAY_KEYS = [
    (K.Key_G, "gradient"),
    (K.Key_S, "step"),
    (K.Key_N, "newton_model"),
    (K.Key_H, "hessian"),
    (K.Key_B, "rprop_box"),
    (K.Key_E, "regime"),
]


def test_overlay_keys_toggle_the_view_menu_and_the_overlays(qtbot, window):
    view_menu = window.menus["View"].actions()
    for key, name in OVERLAY_KEYS:
        action = window.actions[f"overlay_{name}"]
        assert action in view_menu
        assert not action.isChecked() and not window.overlays.is_enabled(name)
        press(qtbot, window, key)
        assert action.isChecked(), name
        assert window.overlays.is_enabled(name), name
    assert set(window.overlays.enabled()) == {name for _, name in OVERLAY_KEYS}
    for key, name in OVERLAY_KEYS:
        press(qtbot, window, key)
        assert not window.actions[f"overlay_{name}"].isChecked(), name
        assert not window.overlays.is_enabled(name), name
    assert window.overlays.enabled() == ()


def _visible_docks(win) -> set[str]:
    return {d.objectName() for d in win.docks() if d.isVisible()}


def _point_size(label) -> float:
    label.ensurePolished()
    return label.font().pointSizeF()


@pytest.mark.parametrize("leave_key", [K.Key_F5, K.Key_Escape], ids=["F5", "Esc"])
def test_f5_presentation_mode_hides_docks_shows_banner(qtbot, leave_presentation, leave_key):
    window = leave_presentation
    wait_lessons(qtbot, window)
    press(qtbot, window, K.Key_PageDown)
    lesson = window.lesson_panel.lessons[0]
    wait_scene(qtbot, window, lesson.title)
    docks_before = _visible_docks(window)
    assert docks_before  # the controls are on screen before
    app_font = QApplication.font().pointSizeF()

    press(qtbot, window, K.Key_F5)
    assert window.presentation.active
    qtbot.waitUntil(lambda: not _visible_docks(window), timeout=3000)
    assert not window.menuBar().isVisible()
    banner = window.banner
    assert banner.isVisible()
    assert banner.title.isVisible() and banner.text.isVisible()
    assert banner.title.text() == title_html(lesson.title)
    assert lesson.explanation[:40] in banner.text.text()
    assert _point_size(banner.title) >= 20
    assert _point_size(banner.text) >= 20
    assert QApplication.font().pointSizeF() >= 20
    # keys still drive the lesson in presentation mode
    press(qtbot, window, K.Key_PageDown)
    second = window.lesson_panel.lessons[1]
    wait_scene(qtbot, window, second.title)
    assert banner.title.text() == title_html(second.title)
    assert second.explanation[:40] in banner.text.text()
    assert banner.isVisible()

    press(qtbot, window, leave_key)
    assert not window.presentation.active
    qtbot.waitUntil(lambda: _visible_docks(window) == docks_before, timeout=3000)
    assert window.menuBar().isVisible()
    assert not banner.isVisible()
    assert QApplication.font().pointSizeF() == app_font


def test_f1_lists_every_action_with_a_shortcut(qtbot, window):
    press(qtbot, window, K.Key_F1)
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None, timeout=3000)
    dialog = window.findChild(ShortcutsDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    table = dialog.findChild(QTableWidget, "shortcutTable")
    rows = {table.item(i, 1).text(): table.item(i, 0).text() for i in range(table.rowCount())}
    described = set(rows)
    for name, action in window.actions.items():
        if action.shortcuts() and name != "leave_presentation":
            assert action.text().replace("&", "") in described, name
    assert rows["Play"] == "Space"
    assert rows["Step ▶"] == "Right"
    assert rows["Next lesson"] == "PgDown"
    assert rows["Presentation mode"] == "F5"
    assert rows["Keyboard shortcuts"] == "F1 or ?"
    assert rows["Gradient direction −∇E"] == "G"
    assert rows["Move start left"] == "Shift+Left"
    assert any(keys.startswith("1") and "8" in keys for keys in rows.values())
    dialog.reject()
    assert not dialog.isVisible()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is None, timeout=3000)

    window.activateWindow()  # the offscreen platform does not give the focus back by itself
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(window, "?")  # the other key for the same list
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None, timeout=3000)
    again = window.findChild(ShortcutsDialog)
    qtbot.waitUntil(again.isVisible, timeout=3000)
    again.reject()

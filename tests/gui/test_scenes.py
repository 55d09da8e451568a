"""Scenes in the window: save → open gives back the same state; malformed files are reported
(file and field) and leave the current scene alone; lesson files open like any scene; the last
scene comes back on the next start (and a broken one does not); drag-and-drop and
``python main.py SCENE.json`` open scenes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from engine.lessons import lesson_dir
from engine.optimizers import optimizer_spec
from engine.scenario import (
    MAX_FILE_BYTES,
    Scenario,
    load_scenario,
    scenario_from_dict,
    scenario_to_json,
)
from gui.lesson_panel import title_html
from gui.main_window import MainWindow
from gui.racers import make_racer
from gui.scene_manager import SETTINGS_KEY

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

BUILTIN_SCENE = {
    "version": 1,
    "title": "Round trip: a rotated valley",
    "explanation": "GD zig-zags across a <b>narrow</b> valley; Newton jumps to the bottom.",
    "objective": {
        "kind": "builtin",
        "name": "quadratic_2d",
        "params": {"lambda1": 1.5, "lambda2": 12.0, "theta": 30.0},
    },
    "view": [[-3.0, 2.5], [-2.0, 4.0]],
    "start": [1.75, -1.25],
    "racers": [
        {"optimizer": "gd", "params": {"lr": 0.05}, "color": "#123456", "label": "slow GD"},
        {"optimizer": "momentum", "params": {"lr": 0.02, "momentum": 0.8}, "enabled": False},
        {"optimizer": "rprop", "params": {"variant": "irprop-", "step0": 0.2}},
        {
            "optimizer": "newton",
            "params": {"hessian_fix": "damped", "damping": 2.0},
            "color": "#abcdef",
            "label": "damped Newton",
        },
    ],
    "overlays": ["step", "hessian"],
    "speed": 7,
    "max_steps": 321,
    "look_at": "the zig-zag",
}
EXPRESSION_SCENE = {
    "version": 1,
    "title": "Round trip: my own bowl",
    "objective": {
        "kind": "expression",
        "expression": "x^2 + 3*y^2 - x*y + sin(x)",
        "domain": [[-2.0, 2.0], [-1.0, 3.0]],
    },
    "start": [1.0, 2.0],
    "racers": [
        {"optimizer": "adam", "params": {"lr": 0.1}, "label": "Adam"},
        {"optimizer": "lbfgs", "params": {"memory": 4}, "color": "#00ff00"},
    ],
    "overlays": ["gradient", "newton_model"],
    "speed": 0,
    "max_steps": 42,
}


def title_of(win) -> str:
    return win.windowTitle().removeprefix("DescentLab — ")


def wait_title(qtbot, win, title: str, timeout: int = 10000) -> None:
    qtbot.waitUntil(lambda: title_of(win) == title, timeout=timeout)


def apply(qtbot, win, data: dict) -> Scenario:
    scenario = scenario_from_dict(json.loads(json.dumps(data)))
    with qtbot.waitSignal(win.scenes.sceneApplied, timeout=10000):
        win.scenes.apply_scenario(scenario)
    return scenario


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def state(win) -> dict:
    """Everything a scene defines, as the window shows it (not as the scene manager stores it)."""
    return {
        "capture": win.scenes.capture(),
        "title": title_of(win),
        "objective": (win.race.objective.name, win.race.objective.expression),
        "racers": [
            (r.optimizer, dict(r.params), r.color, r.label, r.enabled)
            for r in win.racers_panel.racers
        ],
        "race_racers": [(r.optimizer, dict(r.params), r.enabled) for r in win.race.racers],
        "start": win.race.start,
        "view": win.race.view,
        "overlays": set(win.overlays.enabled()),
        "checked": {
            n for n, a in win.actions.items() if n.startswith("overlay_") and a.isChecked()
        },
        "speed": win.transport.speed_value(),
        "max_steps": (win.transport.max_steps.value(), win.race.max_steps),
        "function": (win.function_panel.name, dict(win.function_panel.params)),
    }


@pytest.mark.parametrize("data", [BUILTIN_SCENE, EXPRESSION_SCENE], ids=["builtin", "expression"])
def test_save_then_open_gives_the_same_state(qtbot, window, tmp_path, data):
    apply(qtbot, window, data)
    # and a few edits made in the window after the scene was applied
    first = window.racers_panel.racers[0]
    assert window.racers_panel.edit_params(first.racer_id, {"lr": 0.03})
    window.actions["overlay_regime"].trigger()
    window.transport.max_steps.setValue(123)
    before = state(window)
    assert before["checked"] == {f"overlay_{n}" for n in before["overlays"]}
    assert before["racers"][0][1]["lr"] == 0.03

    path = tmp_path / "round trip.json"
    assert window.scenes.save_file(path)
    assert "Saved round trip.json" in window.statusBar().currentMessage()
    saved = load_scenario(path)
    assert saved == before["capture"]

    window.load_default_scene()  # something else entirely in between
    wait_title(qtbot, window, "Himmelblau")
    assert state(window)["capture"] != before["capture"]

    with qtbot.waitSignal(window.scenes.sceneApplied, timeout=10000):
        window.scenes.open_file(path)
    after = state(window)
    assert after == before
    assert after["capture"] == saved
    assert window.scenes.path == path
    # labels, colours, enabled flags and non-default parameters, explicitly
    expected = [(r.optimizer, r.color, r.label or "", r.enabled) for r in before["capture"].racers]
    assert [(r.optimizer, r.color, r.label, r.enabled) for r in window.racers_panel.racers] == (
        expected
    )
    if data is BUILTIN_SCENE:
        assert [r.label for r in window.racers_panel.racers][::3] == ["slow GD", "damped Newton"]
        assert [r.enabled for r in window.racers_panel.racers] == [True, False, True, True]
        assert window.racers_panel.racers[2].params["variant"] == "irprop-"
        assert after["start"] == (1.75, -1.25)
        assert after["view"] == ((-3.0, 2.5), (-2.0, 4.0))
        assert after["speed"] == 7.0
        assert after["max_steps"] == (123, 123)
        assert after["overlays"] == {"step", "hessian", "regime"}
    else:
        assert window.function_panel.editor.field.text() == data["objective"]["expression"]
        assert window.race.view == ((-2.0, 2.0), (-1.0, 3.0))
        assert after["speed"] == 0.0
    # the racers race from the saved start
    enabled = sum(r[4] for r in after["racers"])
    qtbot.waitUntil(
        lambda: (
            len(window.race.histories) == enabled
            and all(h.count for h in window.race.histories.values())
        )
    )
    for history in window.race.histories.values():
        assert np.array_equal(history.point(0), after["start"])


# -- malformed files -------------------------------------------------------------------------------


def _with(**changes):
    def make(base: dict) -> str:
        data = json.loads(json.dumps(base))
        for key, value in changes.items():
            data[key] = value
        return json.dumps(data)

    return make


def _racer(index: int, **changes):
    def make(base: dict) -> str:
        data = json.loads(json.dumps(base))
        data["racers"][index].update(changes)
        return json.dumps(data)

    return make


def _objective(**changes):
    def make(base: dict) -> str:
        data = json.loads(json.dumps(base))
        data["objective"].update(changes)
        return json.dumps(data)

    return make


def _without(key):
    def make(base: dict) -> str:
        data = json.loads(json.dumps(base))
        del data[key]
        return json.dumps(data)

    return make


# (id, file content from the valid BUILTIN_SCENE, what the message must name)
MALFORMED = [
    ("truncated-json", lambda b: json.dumps(b)[:60], ["not valid JSON", "line 1"]),
    ("empty-file", lambda b: "", ["not valid JSON"]),
    ("a-list", lambda b: "[1, 2]", ["must be a JSON object"]),
    ("no-version", _without("version"), ["version", "missing"]),
    ("newer-version", _with(version=2), ["version", "newer DescentLab"]),
    ("version-text", _with(version="1"), ["version", "whole number"]),
    ("unknown-key", _with(colour="red"), ["'colour'", "unknown key"]),
    ("no-objective", _without("objective"), ["objective", "missing"]),
    ("unknown-function", _objective(name="himmelblue"), ["objective.name", "himmelblue"]),
    ("param-out-of-range", _objective(params={"lambda1": 5000}), ["objective.params.lambda1"]),
    ("unknown-param", _objective(params={"kappa": 2}), ["objective.params.kappa"]),
    (
        "expression-with-builtin-keys",
        _objective(kind="expression", expression="x^2 + y^2"),
        ["objective", "unknown key"],
    ),
    (
        "expression-unknown-name",
        lambda b: json.dumps(
            {**b, "objective": {"kind": "expression", "expression": "x^2 + foo(y)"}}
        ),
        ["objective.expression", "foo", "column 7"],
    ),
    (
        "expression-syntax-error",
        lambda b: json.dumps({**b, "objective": {"kind": "expression", "expression": "x^2 +* y"}}),
        ["objective.expression", "syntax error", "column 6"],
    ),
    ("view-one-range", _with(view=[[-1, 1]]), ["view", "2 range(s)"]),
    ("view-reversed", _with(view=[[-1, 1], [3, 2]]), ["view[1]", "min must be less than max"]),
    ("start-nan", lambda b: json.dumps(b).replace("1.75", "NaN"), ["start[0]", "NaN"]),
    ("start-3d", _with(start=[1, 2, 3]), ["start", "at most 2"]),
    ("start-far", _with(start=[0, 1e7]), ["start[1]", "±1e+06"]),
    ("racers-object", _with(racers={"optimizer": "gd"}), ["racers", "must be a list"]),
    ("too-many-racers", _with(racers=[{"optimizer": "gd"}] * 17), ["racers", "at most 16"]),
    ("unknown-optimizer", _racer(0, optimizer="sgd"), ["racers[0].optimizer", "sgd"]),
    ("negative-lr", _racer(0, params={"lr": -1}), ["racers[0].params.lr", "-1"]),
    ("lr-text", _racer(0, params={"lr": "fast"}), ["racers[0].params.lr", "number"]),
    ("unknown-variant", _racer(2, params={"variant": "rprop++"}), ["racers[2].params.variant"]),
    ("bad-colour", _racer(3, color="red"), ["racers[3].color", "#rrggbb"]),
    ("long-label", _racer(0, label="x" * 41), ["racers[0].label", "at most 40"]),
    ("enabled-text", _racer(1, enabled="yes"), ["racers[1].enabled", "true or false"]),
    ("unknown-overlay", _with(overlays=["gradients"]), ["overlays[0]", "gradients"]),
    ("repeated-overlay", _with(overlays=["step", "step"]), ["overlays[1]", "twice"]),
    ("speed-too-high", _with(speed=500), ["speed", "500"]),
    ("max-steps-fraction", _with(max_steps=1.5), ["max_steps", "whole number"]),
    ("lesson-zero", _with(lesson=0), ["lesson", "between 1 and 999"]),
    ("title-two-lines", _with(title="a\nb"), ["title", "line break"]),
    (
        "repeated-key",
        lambda b: json.dumps(b)[:-1] + ', "title": "again"}',
        ["title", "more than once"],
    ),
    ("deeply-nested", lambda b: '{"version": 1, "title": ' + "[" * 40 + "]" * 40 + "}", ["nested"]),
    ("not-utf8", lambda b: json.dumps(b).encode("utf-8") + b"\xff\xfe", ["not UTF-8"]),
    ("too-large", lambda b: " " * (MAX_FILE_BYTES + 1), ["larger than"]),
    ("missing-file", None, ["cannot read"]),
]


@pytest.fixture(scope="module")
def busy_window(qapp, request):
    """One window (shared by the malformed-file cases) with a race in progress."""
    bot = QtBot(request)
    win = MainWindow()
    win.resize(1300, 850)
    win.show()
    bot.waitExposed(win)
    bot.waitUntil(lambda: win.canvas.surface is not None, timeout=5000)
    win.racers_panel.set_racers(
        [make_racer("gd", "#ff0000", lr=0.002), make_racer("rprop", "#00ffff")]
    )
    win.race.start_at((-3.0, 3.5), play=False)
    for _ in range(4):
        win.race.step()
    bot.waitUntil(
        lambda: (
            all(h.latest_iteration == 4 for h in win.race.histories.values())
            and len(win.race.histories) == 2
        ),
        timeout=5000,
    )
    yield win
    win.close()
    win.deleteLater()


def snapshot(win) -> dict:
    return {
        "objective": win.race.objective,
        "spec": win.scenes.spec,
        "title": win.windowTitle(),
        "racers": tuple(win.racers_panel.racers),
        "race_racers": win.race.racers,
        "start": win.race.start,
        "view": win.race.view,
        "generation": win.race.generation,
        "histories": win.race.histories,
        "points": {rid: h.positions().copy() for rid, h in win.race.histories.items()},
        "capture": win.scenes.capture(),
        "path": win.scenes.path,
    }


def _close_error_boxes(win) -> list[QMessageBox]:
    boxes = [b for b in win.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    for box in boxes:
        box.done(0)
        box.deleteLater()
    return boxes


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_scene_is_reported_and_the_scene_stays(qtbot, busy_window, tmp_path, case):
    win = busy_window
    name, make, expected = case
    path = tmp_path / f"bad-{name}.json"
    if make is not None:
        content = make(BUILTIN_SCENE)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    _close_error_boxes(win)
    before = snapshot(win)

    with qtbot.waitSignal(win.scenes.error, timeout=10000) as blocker:
        win.scenes.open_file(path)
    title, message = blocker.args
    assert title == "Could not open the scene"
    assert message.startswith(f"{path.name}: ")
    for part in expected:
        assert part in message, (part, message)

    boxes = _close_error_boxes(win)
    assert len(boxes) == 1
    assert boxes[0].text() == message
    assert boxes[0].icon() == QMessageBox.Icon.Warning
    assert win.statusBar().currentMessage() == message

    qtbot.wait(30)  # nothing else may follow the error
    after = snapshot(win)
    assert after["points"].keys() == before["points"].keys()
    for rid, points in before["points"].items():
        assert np.array_equal(after["points"][rid], points)
    del before["points"], after["points"]
    assert after == before
    assert after["histories"] is before["histories"]


def test_the_default_scene_of_the_malformed_cases_is_valid(tmp_path):
    """The base of the malformed cases opens fine: each case fails for its own reason only."""
    scenario = load_scenario(write(tmp_path / "good.json", BUILTIN_SCENE))
    assert scenario.title == BUILTIN_SCENE["title"]
    assert len(MALFORMED) >= 20


# -- lessons, restore, drag-and-drop, command line ----------------------------------------------


@pytest.mark.parametrize("file_name", ["08-rotated-quadratic.json", "05-generic-convex.json"])
def test_a_lesson_file_opens_through_open_file(qtbot, window, file_name):
    path = lesson_dir() / file_name
    lesson = load_scenario(path)
    with qtbot.waitSignal(window.scenes.sceneApplied, timeout=10000):
        window.scenes.open_file(path)
    assert title_of(window) == lesson.title
    got = window.scenes.capture()
    assert got.objective == lesson.objective
    assert (got.title, got.explanation, got.look_at, got.lesson) == (
        lesson.title,
        lesson.explanation,
        lesson.look_at,
        lesson.lesson,
    )
    assert got.view == (lesson.view or window.race.objective.domain)
    assert got.start == lesson.start
    assert set(got.overlays) == set(lesson.overlays)
    assert (got.speed, got.max_steps) == (lesson.speed, lesson.max_steps)
    assert len(window.racers_panel.racers) == len(lesson.racers)
    for racer, spec in zip(window.racers_panel.racers, lesson.racers):
        assert racer.optimizer == spec.optimizer
        defaults = optimizer_spec(spec.optimizer).defaults()
        assert racer.full_params() == {**defaults, **spec.params}
        if spec.color:
            assert racer.color == spec.color
        assert racer.enabled == spec.enabled


@pytest.mark.parametrize(
    "data",
    [
        BUILTIN_SCENE,
        pytest.param(EXPRESSION_SCENE),
    ],
    ids=["builtin", "expression"],
)
def test_the_status_bar_says_which_file_was_opened(qtbot, window, tmp_path, data):
    path = write(tmp_path / "told.json", data)
    with qtbot.waitSignal(window.scenes.sceneApplied, timeout=10000):
        window.scenes.open_file(path)
    assert window.statusBar().currentMessage() == "Opened told.json"


def test_opening_a_file_after_a_lesson_leaves_the_lesson(qtbot, window, tmp_path):
    qtbot.waitUntil(lambda: len(window.lesson_panel.lessons) > 0, timeout=10000)
    window.lesson_panel.choose(0)
    wait_title(qtbot, window, window.lesson_panel.lessons[0].title)
    path = write(tmp_path / "mine.json", BUILTIN_SCENE)
    with qtbot.waitSignal(window.scenes.sceneApplied, timeout=10000):
        window.scenes.open_file(path)
    # the lesson navigator and the banner now describe the opened scene, not lesson 1
    assert window.lesson_panel.current == -1
    assert window.banner.title.text() == title_html(BUILTIN_SCENE["title"])


def test_last_scene_comes_back_on_the_next_start(qtbot, window):
    apply(qtbot, window, EXPRESSION_SCENE)
    window.actions["overlay_step"].trigger()
    expected = window.scenes.capture()
    window.close()
    stored = QSettings().value(SETTINGS_KEY)
    assert stored and json.loads(stored)["title"] == EXPRESSION_SCENE["title"]

    again = MainWindow(restore_last=True)
    qtbot.addWidget(again)
    again.show()
    wait_title(qtbot, again, EXPRESSION_SCENE["title"])
    assert again.scenes.capture() == expected
    assert set(again.overlays.enabled()) == {"gradient", "newton_model", "step"}
    assert again.race.objective.expression == EXPRESSION_SCENE["objective"]["expression"]
    qtbot.waitUntil(lambda: again.canvas.surface is not None, timeout=5000)
    assert again.race.start == (1.0, 2.0)


def test_without_restore_the_default_scene_shows(qtbot):
    QSettings().setValue(SETTINGS_KEY, scenario_to_json(scenario_from_dict(BUILTIN_SCENE)))
    win = MainWindow(restore_last=False)
    qtbot.addWidget(win)
    wait_title(qtbot, win, "Himmelblau")
    qtbot.wait(100)
    assert title_of(win) == "Himmelblau"


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("{ this is not json", "not valid JSON"),
        (
            json.dumps({**BUILTIN_SCENE, "racers": [{"optimizer": "gd", "params": {"lr": -1}}]}),
            "racers[0].params.lr",
        ),
        (json.dumps({**BUILTIN_SCENE, "version": 9}), "newer DescentLab"),
    ],
    ids=["not-json", "bad-field", "newer"],
)
def test_a_broken_stored_scene_is_reported_and_the_default_stays(qtbot, stored, reason):
    QSettings().setValue(SETTINGS_KEY, stored)
    win = MainWindow(restore_last=True)
    qtbot.addWidget(win)
    win.show()
    message = win.statusBar().currentMessage()
    assert message.startswith("Could not restore the last scene: last session's scene")
    assert reason in message
    qtbot.waitUntil(lambda: win.canvas.surface is not None, timeout=5000)
    qtbot.wait(50)
    assert title_of(win) == "Himmelblau"
    assert win.race.objective.name == "himmelblau"
    assert [r.optimizer for r in win.racers_panel.racers] == ["gd", "newton", "rprop"]
    assert win.race.start == (-0.5, 0.5)


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_dropping_a_json_file_opens_it(qtbot, window, tmp_path):
    path = write(tmp_path / "dropped scene.json", BUILTIN_SCENE)
    mime = _mime(tmp_path / "picture.png", path)
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPoint(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.scenes.sceneApplied, timeout=10000):
        window.dropEvent(drop)
    assert drop.isAccepted()
    assert title_of(window) == BUILTIN_SCENE["title"]
    assert window.scenes.path == path
    assert window.race.start == (1.75, -1.25)


def test_dragging_other_files_is_refused(window, tmp_path):
    mime = _mime(tmp_path / "picture.png", tmp_path / "notes.txt")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.ignore()
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


@pytest.fixture
def app_identity(qapp):
    """run_app names the application and sets pyqtgraph options: undo that afterwards."""
    saved = (qapp.applicationName(), qapp.organizationName(), pg.getConfigOption("antialias"))
    yield qapp
    qapp.setApplicationName(saved[0])
    qapp.setOrganizationName(saved[1])
    pg.setConfigOptions(antialias=saved[2])


def test_main_py_with_a_scene_file_opens_it(qtbot, monkeypatch, tmp_path, app_identity):
    import gui.main_window
    import main

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, restore_last: bool = False) -> None:
            super().__init__(restore_last=restore_last)
            self.restored = restore_last
            created.append(self)

    monkeypatch.setattr(gui.main_window, "MainWindow", Recorded)
    monkeypatch.setattr(app_identity, "exec", lambda: 0)
    # a remembered scene must not win over the file named on the command line
    app_identity.setOrganizationName("DescentLab")
    app_identity.setApplicationName("DescentLab")
    QSettings().setValue(SETTINGS_KEY, scenario_to_json(scenario_from_dict(EXPRESSION_SCENE)))
    path = write(tmp_path / "lecture.json", BUILTIN_SCENE)

    assert main.main([str(path)]) == 0
    assert len(created) == 1
    win = created[0]
    qtbot.addWidget(win)
    assert not win.restored
    assert win.isVisible()
    wait_title(qtbot, win, BUILTIN_SCENE["title"])
    assert win.scenes.path == path
    assert win.race.objective.name == "quadratic_2d"
    qtbot.wait(100)
    assert title_of(win) == BUILTIN_SCENE["title"]


def test_main_py_with_a_broken_scene_file_reports_it(qtbot, monkeypatch, tmp_path, app_identity):
    import gui.main_window
    import main

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, restore_last: bool = False) -> None:
            super().__init__(restore_last=restore_last)
            created.append(self)

    monkeypatch.setattr(gui.main_window, "MainWindow", Recorded)
    monkeypatch.setattr(app_identity, "exec", lambda: 0)
    path = tmp_path / "typo.json"
    path.write_text(json.dumps({**BUILTIN_SCENE, "speed": "fast"}), encoding="utf-8")

    assert main.main([str(path)]) == 0
    win = created[0]
    qtbot.addWidget(win)
    qtbot.waitUntil(
        lambda: any(b.isVisible() for b in win.findChildren(QMessageBox, "errorDialog")),
        timeout=10000,
    )
    box = _close_error_boxes(win)[0]
    assert box.text().startswith("typo.json: speed: must be a number")
    assert title_of(win) == "Himmelblau"


def test_an_expression_error_in_a_scene_names_its_column_once(qtbot, busy_window, tmp_path):
    data = {**BUILTIN_SCENE, "objective": {"kind": "expression", "expression": "x^2 + foo(y)"}}
    path = write(tmp_path / "formula.json", data)
    with qtbot.waitSignal(busy_window.scenes.error, timeout=10000) as blocker:
        busy_window.scenes.open_file(path)
    _close_error_boxes(busy_window)
    message = blocker.args[1]
    assert "column 7" in message
    assert message.count("column") == 1, message


def test_every_max_steps_the_transport_offers_can_be_saved(qtbot, window, tmp_path):
    window.transport.max_steps.setValue(window.transport.max_steps.maximum())
    path = tmp_path / "long run.json"
    assert window.scenes.save_file(path)
    assert load_scenario(path).max_steps == window.transport.max_steps.value()


def test_a_refused_save_names_the_file_once(qtbot, window, tmp_path, monkeypatch):
    from dataclasses import replace

    good = window.scenes.capture()
    monkeypatch.setattr(window.scenes, "capture", lambda: replace(good, max_steps=0))
    path = tmp_path / "refused.json"
    with qtbot.waitSignal(window.scenes.error) as blocker:
        assert not window.scenes.save_file(path)
    title, message = blocker.args
    assert title == "Could not save the scene"
    assert "max_steps" in message
    assert message.count("refused.json") == 1, message
    assert not path.exists()
    _close_error_boxes(window)

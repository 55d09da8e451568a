"""The main window: composition and wiring only (widgets, actions, menus, signal connections)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.scenario import OVERLAYS, ObjectiveSpec, Scenario
from gui.about import app_icon, show_about
from gui.basin_panel import BasinPanel
from gui.canvas import SurfaceCanvas
from gui.export import ExportActions
from gui.function_panel import FunctionPanel
from gui.jobs import JobRunner
from gui.lesson_panel import LessonBanner, LessonPanel, lesson_html
from gui.loss_plot import LossPlot
from gui.overlays import OVERLAY_SHORTCUTS, OVERLAY_TITLES, OverlayManager
from gui.presentation import PresentationMode
from gui.race_controller import RaceController
from gui.racers import make_racer
from gui.racers_panel import RacersPanel
from gui.scene_manager import SceneManager
from gui.shortcuts_dialog import ShortcutsDialog, shortcut_rows
from gui.sweep_panel import LrSweepPanel
from gui.transport import TransportBar

APP_NAME = "DescentLab"
SCENE_FILTER = "DescentLab scenes (*.json);;All files (*)"
LESSONS_DELAY_MS = 800
EXTRA_KEYS = [
    ("1 … 8", "Select racer 1 … 8 (for η changes with [ and ])"),
    ("Left click", "Start every enabled racer from that point"),
    ("Drag the ⊕ marker", "Move the start point and restart"),
]


class MainWindow(QMainWindow):
    def __init__(self, restore_last: bool = False) -> None:
        super().__init__()
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.setWindowIcon(app_icon())
        self.canvas = SurfaceCanvas()
        self.loss_plot = LossPlot()
        self.function_panel = FunctionPanel()
        self.racers_panel = RacersPanel()
        self.lesson_panel = LessonPanel()
        self.banner = LessonBanner()
        self.race = RaceController(self.canvas, self.loss_plot, self.racers_panel, self)
        self.overlays = OverlayManager(self.canvas, self.race, self)
        self.scene_jobs = JobRunner("DescentLab scenes", self)
        self.scenes = SceneManager(self, self.scene_jobs)
        self.analysis_jobs = JobRunner("DescentLab analysis", self)  # sweeps and basin maps
        self.sweep_panel = LrSweepPanel(self.analysis_jobs)
        self.basin_panel = BasinPanel(self.analysis_jobs, self.canvas.plot)
        self.presentation = PresentationMode(self)
        self.export_jobs = JobRunner("DescentLab exports", self)  # never behind a scene load
        self.exports = ExportActions(self, self.race, self.export_jobs)

        self.actions: dict[str, QAction] = {}
        self._make_actions()
        self.transport = TransportBar(
            [self.actions[n] for n in ("play", "step_back", "step", "reset")]
        )
        self._layout()
        self._menus()
        self._wire()
        self.scene_name = ""
        self.load_default_scene()
        # lessons with user expressions import sympy (~0.3 s of CPU): read them once the window
        # is up, so that start-up is not slowed down by the background thread
        QTimer.singleShot(LESSONS_DELAY_MS, self, self._load_lessons)
        if restore_last:
            self.scenes.restore()

    # -- composition -----------------------------------------------------------------------------
    def _action(self, name: str, text: str, keys, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        keys = keys if isinstance(keys, list) else [keys]
        action.setShortcuts([QKeySequence(k) for k in keys if k])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        self.actions[name] = action
        return action

    def _make_actions(self) -> None:
        r = self.race
        self._action("play", "Play", "Space", r.toggle_play)
        self._action("step", "Step ▶", "Right", r.step)
        self._action("step_back", "◀ Back", "Left", r.step_back)
        self._action("reset", "Reset", "R", r.reset)
        self._action("lr_down", "Selected racer: η ÷ 1.25", "[", lambda: self._scale_lr(0.8))
        self._action("lr_up", "Selected racer: η × 1.25", "]", lambda: self._scale_lr(1.25))
        for digit in range(1, 9):
            shortcut = QShortcut(QKeySequence(str(digit)), self)
            shortcut.activated.connect(lambda d=digit: self._select_racer(d - 1))
        for name, (dx, dy), key in (
            ("start_left", (-1, 0), "Shift+Left"),
            ("start_right", (1, 0), "Shift+Right"),
            ("start_up", (0, 1), "Shift+Up"),
            ("start_down", (0, -1), "Shift+Down"),
        ):
            self._action(
                name,
                f"Move start {name.split('_')[1]}",
                key,
                lambda _=False, d=(dx, dy): self._nudge_start(d),
            )
        self._action("next_lesson", "Next lesson", "PgDown", self.lesson_panel.next)
        self._action("prev_lesson", "Previous lesson", "PgUp", self.lesson_panel.previous)
        self._action("presentation", "Presentation mode", "F5", self.presentation.toggle)
        self._action(
            "leave_presentation",
            "Leave presentation mode",
            "Esc",
            lambda: self.presentation.set_active(False),
        )
        self._action(
            "show_sweep", "Learning-rate sweep…", "Ctrl+L", lambda: self._show_dock(self.sweep_dock)
        )
        self._action(
            "show_basins",
            "Basins of attraction…",
            "Ctrl+B",
            lambda: self._show_dock(self.basin_dock),
        )
        self._action("shortcuts", "Keyboard shortcuts", ["F1", "?"], self.show_shortcuts)
        self._action("about", "About DescentLab", "", lambda: show_about(self))
        self._action("open", "Open scene…", QKeySequence.StandardKey.Open, self.open_scene)
        self._action("save", "Save scene", QKeySequence.StandardKey.Save, self.save_scene)
        self._action("save_as", "Save scene as…", "Ctrl+Shift+S", self.save_scene_as)
        self._action("quit", "Quit", "Ctrl+Q", self.close)
        for action in self.exports.actions:
            self.actions[action.objectName()] = action
            self.addAction(action)
        for name in OVERLAYS:
            self._action(
                f"overlay_{name}",
                OVERLAY_TITLES[name],
                OVERLAY_SHORTCUTS[name],
                lambda on, n=name: self.overlays.set_enabled(n, on),
                checkable=True,
            )

    def _layout(self) -> None:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.loss_plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([820, 420])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        function_box = QGroupBox("Loss surface")
        QVBoxLayout(function_box).addWidget(self.function_panel)
        racers_box = QGroupBox("Racers")
        QVBoxLayout(racers_box).addWidget(self.racers_panel)
        controls_layout.addWidget(function_box)
        controls_layout.addWidget(racers_box, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(controls)
        self.controls_dock = self._dock(
            "controls", "Controls", scroll, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.controls_dock.setMinimumWidth(360)
        self.lessons_dock = self._dock(
            "lessons", "Lessons", self.lesson_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.tabifyDockWidget(self.controls_dock, self.lessons_dock)
        self.controls_dock.raise_()
        self.sweep_dock = self._dock(
            "lr_sweep",
            "Learning-rate sweep",
            self.sweep_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self.basin_dock = self._dock(
            "basins",
            "Basins of attraction",
            self.basin_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self.tabifyDockWidget(self.sweep_dock, self.basin_dock)
        self.sweep_dock.setMinimumWidth(380)
        self.sweep_dock.hide()
        self.basin_dock.hide()
        self.coords = QLabel()
        self.statusBar().addPermanentWidget(self.exports.progress_widget)
        self.statusBar().addPermanentWidget(self.coords)

    def _dock(self, name: str, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def docks(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)

    def _menus(self) -> None:
        bar = self.menuBar()
        menus = {
            "&File": [
                "open",
                "save",
                "save_as",
                None,
                "export_png",
                "export_window_png",
                "export_gif",
                None,
                "quit",
            ],
            "&Race": [
                "play",
                "step",
                "step_back",
                "reset",
                None,
                "lr_down",
                "lr_up",
                None,
                "start_left",
                "start_right",
                "start_up",
                "start_down",
            ],
            "&View": [f"overlay_{n}" for n in OVERLAYS] + [None, "presentation"],
            "&Lessons": ["next_lesson", "prev_lesson"],
            "&Analysis": ["show_sweep", "show_basins"],
            "&Help": ["shortcuts", "about"],
        }
        self.menus = {}
        for title, names in menus.items():
            menu = bar.addMenu(title)
            self.menus[title.strip("&")] = menu
            for name in names:
                menu.addSeparator() if name is None else menu.addAction(self.actions[name])
        view = self.menus["View"]
        view.addSeparator()
        for dock in self.docks():
            view.addAction(dock.toggleViewAction())

    def _wire(self) -> None:
        self.canvas.startRequested.connect(self.race.start_at)
        self.canvas.cursorMoved.connect(self._show_cursor)
        self.canvas.pathShown.connect(self.loss_plot.show_racer)
        self.racers_panel.racersChanged.connect(self.race.set_racers)
        self.racers_panel.paramsEdited.connect(self.race.edit_params)
        self.function_panel.objectiveRequested.connect(self._objective_requested)
        self.lesson_panel.lessonChosen.connect(self._lesson_chosen)
        self.scenes.error.connect(self.show_error)
        self.scenes.sceneApplied.connect(lambda _: self.update_banner())
        self.scene_jobs.finished.connect(self._lessons_loaded)
        self.transport.speedChanged.connect(self.race.set_speed)
        self.transport.maxStepsChanged.connect(self.race.set_max_steps)
        self.race.playingChanged.connect(self._playing_changed)
        self.race.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.overlays.enabledChanged.connect(self._overlay_toggled)
        self.exports.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.scenes.objectiveShown.connect(self._analysis_context)
        self.race.raceStarted.connect(self._analysis_context)
        self.racers_panel.racersChanged.connect(self._analysis_context)
        self.racers_panel.paramsEdited.connect(self._analysis_context)
        self.race.set_speed(self.transport.speed_value())
        self.race.max_steps = self.transport.max_steps.value()

    # -- scenes ----------------------------------------------------------------------------------
    def load_default_scene(self) -> None:
        """Himmelblau's four minima with GD, Newton and Rprop racing from one point."""
        self.scenes.request_objective(ObjectiveSpec("builtin", "himmelblau"))
        self.racers_panel.set_racers(
            [
                make_racer("gd", "#ff5a5f", lr=0.01),
                make_racer("newton", "#ffffff"),
                make_racer("rprop", "#00e5ff"),
            ]
        )
        self.race.start_at((-0.5, 0.5), play=False)
        self.statusBar().showMessage(
            "Click anywhere on the surface to start a race — Space plays/pauses, F1 lists keys.",
            10000,
        )

    def set_scene_name(self, name: str) -> None:
        self.scene_name = name
        self.setWindowTitle(f"{APP_NAME} — {name}")

    def restart_after_objective_change(self) -> None:
        """A new surface from the function panel: racers stay, their trails reset."""
        self.lesson_panel.clear_selection()
        self.update_banner()
        self.race.set_racers(tuple(self.racers_panel.racers))

    def set_overlays(self, names) -> None:
        for name in OVERLAYS:
            self.actions[f"overlay_{name}"].setChecked(name in names)

    def enabled_overlays(self) -> tuple[str, ...]:
        return self.overlays.enabled()

    def update_banner(self) -> None:
        visible = self.presentation.active
        if self.lesson_panel.current >= 0:
            lesson = self.lesson_panel.lessons[self.lesson_panel.current]
            self.banner.show_text(lesson.title, lesson_html(lesson, with_look_at=False))
        else:
            self.banner.show_text(self.scene_name, "")
        self.banner.setVisible(visible)

    def open_scene(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", "", SCENE_FILTER)
        if path:
            self.scenes.open_file(path)

    def save_scene(self) -> None:
        if self.scenes.path is None:
            self.save_scene_as()
        else:
            self.scenes.save_file(self.scenes.path)

    def save_scene_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", "scene.json", SCENE_FILTER)
        if path:
            self.scenes.save_file(path)

    def show_error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("errorDialog")
        box.open()

    def show_shortcuts(self) -> None:
        actions = [a for a in self.actions.values() if a.objectName() != "leave_presentation"]
        ShortcutsDialog(shortcut_rows(actions, EXTRA_KEYS), self).open()

    # -- small handlers --------------------------------------------------------------------------
    def _objective_requested(self, spec: ObjectiveSpec) -> None:
        self.scenes.request_objective(spec)

    def _lesson_chosen(self, lesson: Scenario) -> None:
        self.scenes.apply_scenario(lesson)

    def _load_lessons(self) -> None:
        self.scene_jobs.submit(_load_lessons)

    def _lessons_loaded(self, _job: int, result) -> None:
        if isinstance(result, tuple) and len(result) == 2 and result[0] == "lessons":
            lessons, problems = result[1]
            self.lesson_panel.set_lessons(lessons, problems)

    def _scale_lr(self, factor: float) -> None:
        rid = self.racers_panel.selected
        racer = self.racers_panel.racer(rid) if rid is not None else None
        if racer is None or "lr" not in racer.full_params():
            self.statusBar().showMessage("Select a racer with a learning rate (keys 1–8).", 4000)
            return
        lr = float(racer.full_params()["lr"]) * factor
        if self.racers_panel.edit_params(rid, {"lr": float(f"{lr:.4g}")}):
            self.statusBar().showMessage(f"{racer.title.split(' (')[0]}: η = {lr:.4g}", 4000)

    def _select_racer(self, index: int) -> None:
        racers = self.racers_panel.racers
        if 0 <= index < len(racers):
            self.racers_panel.select(racers[index].racer_id)
            self.statusBar().showMessage(f"Selected racer {index + 1}: {racers[index].title}", 3000)

    def _nudge_start(self, direction: tuple[int, int]) -> None:
        start, view = self.race.start, self.race.view
        if start is None or not view or not any(direction[: len(start)]):
            return  # e.g. Shift+Up on a 1-D curve: nothing moves, so keep the race
        moved = [s + 0.02 * d * (hi - lo) for s, d, (lo, hi) in zip(start, direction, view)]
        self.race.start_at(tuple(moved), play=self.race.playing)

    def _analysis_context(self, *_args) -> None:
        race = self.race
        self.racers_panel.set_curvatures(quadratic_curvatures(race.objective))
        self.sweep_panel.set_context(race.objective, race.start, race.racers)
        self.basin_panel.set_context(race.objective, race.view, race.racers)

    def _show_dock(self, dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def _overlay_toggled(self, name: str, on: bool) -> None:
        action = self.actions[f"overlay_{name}"]
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def _show_cursor(self, point) -> None:
        objective = self.race.objective
        if point is None or objective is None:
            self.coords.setText("")
            return
        value = float(objective.value(np.array([point]))[0])
        coords = ", ".join(f"{v:.4g}" for v in point)
        text = f"({coords})    E = {value:.6g}"
        near = self._stationary_near(point)
        if near is not None:
            where = ", ".join(f"{v:.4g}" for v in near.point)
            text += f"    ·  {near.kind} at ({where})"
        self.coords.setText(text)

    def _stationary_near(self, point):
        """The known stationary point within 10 pixels of the cursor, if any (its label)."""
        objective = self.race.objective
        pixel = self.canvas.pixel_size()
        for sp in objective.stationary:
            if all(abs(a - b) <= 10 * px for a, b, px in zip(sp.point, point, pixel)):
                return sp
        return None

    def _playing_changed(self, playing: bool) -> None:
        self.actions["play"].setText("Pause" if playing else "Play")

    # -- window events ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.toLocalFile().lower().endswith(".json") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [QUrl(u).toLocalFile() for u in event.mimeData().urls()]
        scenes = [p for p in paths if p.lower().endswith(".json")]
        if scenes:
            self.scenes.open_file(Path(scenes[0]))
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.exports.shutdown()
        self.export_jobs.shutdown()
        self.scenes.remember()
        self.race.shutdown()
        self.scene_jobs.shutdown()
        self.analysis_jobs.shutdown()
        super().closeEvent(event)


def quadratic_curvatures(objective) -> tuple[float, ...]:
    """Eigenvalues of a lecture quadratic's (constant) Hessian; () for any other surface."""
    if objective is None or objective.name not in ("quadratic_1d", "quadratic_2d"):
        return ()
    centre = np.array([[0.5 * (lo + hi) for lo, hi in objective.domain]])
    return tuple(float(v) for v in np.linalg.eigvalsh(objective.hess(centre)[0]))


def _load_lessons(progress, cancelled):
    """Job: read the lesson files (expression lessons import sympy, so not on the GUI thread)."""
    from engine.lessons import load_lessons

    result = load_lessons()
    problems = [str(e) for e in result.errors]
    return ("lessons", (list(result.lessons), problems))

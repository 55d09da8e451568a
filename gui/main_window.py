"""The main window: composition and wiring only (widgets, actions, menus, signal connections)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QGroupBox,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.objectives import get_objective
from gui.canvas import SurfaceCanvas
from gui.function_panel import FunctionPanel
from gui.loss_plot import LossPlot
from gui.race_controller import RaceController
from gui.racers import make_racer
from gui.racers_panel import RacersPanel
from gui.transport import TransportBar

APP_NAME = "DescentLab"


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.resize(1400, 860)
        self.canvas = SurfaceCanvas()
        self.loss_plot = LossPlot()
        self.function_panel = FunctionPanel()
        self.racers_panel = RacersPanel()
        self.race = RaceController(self.canvas, self.loss_plot, self.racers_panel, self)

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

    # -- composition -----------------------------------------------------------------------------
    def _make_actions(self) -> None:
        specs = [
            ("play", "Play", "Space", self.race.toggle_play),
            ("step", "Step ▶", "Right", self.race.step),
            ("step_back", "◀ Back", "Left", self.race.step_back),
            ("reset", "Reset", "R", self.race.reset),
            ("quit", "Quit", QKeySequence.StandardKey.Quit, self.close),
        ]
        for name, text, key, slot in specs:
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            self.actions[name] = action
        self.actions["quit"].setShortcut(QKeySequence("Ctrl+Q"))

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
        self.controls_dock = QDockWidget("Controls", self)
        self.controls_dock.setObjectName("controls")
        self.controls_dock.setWidget(controls)
        self.controls_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.controls_dock.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)

        self.coords = QLabel()
        self.statusBar().addPermanentWidget(self.coords)

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.actions["quit"])
        race_menu = bar.addMenu("&Race")
        for name in ("play", "step", "step_back", "reset"):
            race_menu.addAction(self.actions[name])

    def _wire(self) -> None:
        self.canvas.startRequested.connect(self.race.start_at)
        self.canvas.cursorMoved.connect(self._show_cursor)
        self.racers_panel.racersChanged.connect(self.race.set_racers)
        self.racers_panel.paramsEdited.connect(self.race.edit_params)
        self.function_panel.objectiveChanged.connect(self._objective_chosen)
        self.transport.speedChanged.connect(self.race.set_speed)
        self.transport.maxStepsChanged.connect(self.race.set_max_steps)
        self.race.playingChanged.connect(self._playing_changed)
        self.race.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.race.set_speed(self.transport.speed_value())
        self.race.max_steps = self.transport.max_steps.value()

    # -- scenes ----------------------------------------------------------------------------------
    def load_default_scene(self) -> None:
        """Himmelblau's four minima with GD, Newton and Rprop racing from one point."""
        self.function_panel.set_objective("himmelblau")
        self.show_objective(get_objective("himmelblau"))
        self.racers_panel.set_racers(
            [
                make_racer("gd", "#ff5a5f", lr=0.01),
                make_racer("newton", "#ffffff"),
                make_racer("rprop", "#00e5ff"),
            ]
        )
        self.race.start_at((-0.5, 0.5), play=False)
        self.statusBar().showMessage(
            "Click anywhere on the surface to start a race — Space plays/pauses.", 10000
        )

    def show_objective(self, objective, view=None) -> None:
        self.race.set_scene(objective, view)
        self.set_scene_name(objective.title)

    def set_scene_name(self, name: str) -> None:
        self.scene_name = name
        self.setWindowTitle(f"{APP_NAME} — {name}")

    def _objective_chosen(self, name: str, params: dict) -> None:
        try:
            objective = get_objective(name, **params)
        except ValueError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            return
        self.show_objective(objective)

    # -- small views -----------------------------------------------------------------------------
    def _show_cursor(self, point) -> None:
        objective = self.race.objective
        if point is None or objective is None:
            self.coords.setText("")
            return
        value = float(objective.value(np.array([point]))[0])
        coords = ", ".join(f"{v:.4g}" for v in point)
        self.coords.setText(f"({coords})    E = {value:.6g}")

    def _playing_changed(self, playing: bool) -> None:
        self.actions["play"].setText("Pause" if playing else "Play")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.race.shutdown()
        super().closeEvent(event)

"""Transport controls: play/pause, step, step back, reset, speed and max steps.

The buttons are bound to the window's actions (so keys and clicks do the same thing); the speed
slider runs 1–120 steps/s, and its right end means "as fast as possible".
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QToolButton, QWidget

from engine.scenario import MAX_STEPS as SCENE_MAX_STEPS

MAX_SPEED = 120
FASTEST = MAX_SPEED + 1  # slider position meaning "as fast as possible"


class TransportBar(QWidget):
    speedChanged = Signal(float)  # steps per second; 0 = as fast as possible
    maxStepsChanged = Signal(int)

    def __init__(self, actions: list[QAction], parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.buttons: dict[str, QToolButton] = {}
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(70)
            layout.addWidget(button)
            self.buttons[action.objectName()] = button
        layout.addSpacing(12)
        layout.addWidget(QLabel("Speed"))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(1, FASTEST)
        self.speed.setValue(30)
        self.speed.setMinimumWidth(140)
        self.speed.setToolTip("Steps per second (right end: as fast as possible)")
        self.speed.valueChanged.connect(self._speed_moved)
        layout.addWidget(self.speed, 1)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(80)
        layout.addWidget(self.speed_label)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Max steps"))
        self.max_steps = QSpinBox()
        self.max_steps.setRange(1, SCENE_MAX_STEPS)  # what a scene can hold
        self.max_steps.setValue(500)
        self.max_steps.setKeyboardTracking(False)
        self.max_steps.valueChanged.connect(self.maxStepsChanged)
        layout.addWidget(self.max_steps)
        self._speed_moved(self.speed.value())

    def speed_value(self) -> float:
        pos = self.speed.value()
        return 0.0 if pos >= FASTEST else float(pos)

    def set_speed(self, steps_per_second: float) -> None:
        self.speed.setValue(FASTEST if steps_per_second <= 0 else int(round(steps_per_second)))

    def _speed_moved(self, pos: int) -> None:
        self.speed_label.setText("max" if pos >= FASTEST else f"{pos} steps/s")
        self.speedChanged.emit(self.speed_value())

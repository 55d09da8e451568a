"""Pick the loss surface: a built-in objective or a lecture quadratic with live parameter sliders
(a, b, c or λ1, λ2, θ) and the readouts the lecture cares about (η_opt = 1/a, κ = λmax/λmin)."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.objectives import objective_entry, objective_names
from engine.scenario import ObjectiveSpec

CUSTOM = "__custom__"
DEFAULT_EXPRESSION = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"

# Slider ranges for the families' parameters (the engine accepts wider ranges by typing).
SLIDER_RANGES: dict[str, tuple[float, float, bool]] = {  # name -> (low, high, logarithmic)
    "a": (0.1, 20.0, True),
    "b": (-10.0, 10.0, False),
    "c": (-10.0, 10.0, False),
    "lambda1": (0.1, 100.0, True),
    "lambda2": (0.1, 100.0, True),
    "theta": (-90.0, 90.0, False),
    "cx": (-3.0, 3.0, False),
    "cy": (-3.0, 3.0, False),
}
LABELS = {"lambda1": "λ1", "lambda2": "λ2", "theta": "θ (°)"}
STEPS = 1000


class ParamSlider(QWidget):
    """A slider and a spin box bound to one value; the slider may be logarithmic."""

    valueChanged = Signal(float)

    def __init__(self, low: float, high: float, log: bool, value: float) -> None:
        super().__init__()
        self.low, self.high, self.log = low, high, log
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(3)
        self.spin.setRange(-1e6, 1e6)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(80)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.set_value(value)
        self.slider.valueChanged.connect(self._slid)
        self.spin.valueChanged.connect(self._typed)

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, value: float) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(self._to_slider(value))
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def _to_slider(self, value: float) -> int:
        lo, hi = self.low, self.high
        if self.log:
            value, lo, hi = math.log(max(value, lo)), math.log(lo), math.log(hi)
        return round((min(max(value, lo), hi) - lo) / (hi - lo) * STEPS)

    def _from_slider(self, pos: int) -> float:
        t = pos / STEPS
        if self.log:
            return math.exp(math.log(self.low) + t * (math.log(self.high) - math.log(self.low)))
        return self.low + t * (self.high - self.low)

    def _slid(self, pos: int) -> None:
        value = (
            float(f"{self._from_slider(pos):.3g}") if self.log else round(self._from_slider(pos), 2)
        )
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.valueChanged.emit(value)

    def _typed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self.valueChanged.emit(value)


class ExpressionEditor(QGroupBox):
    """Type your own E(x) or E(x, y); Enter applies it. Errors appear right under the field."""

    submitted = Signal(str, object)  # expression text, ((x0, x1), (y0, y1))

    def __init__(self) -> None:
        super().__init__("Your own function")
        layout = QVBoxLayout(self)
        self.field = QLineEdit(DEFAULT_EXPRESSION)
        self.field.setObjectName("expression")
        self.field.setPlaceholderText("e.g. (1-x)^2 + 100*(y-x^2)^2   or   x^4 - 3*x^2 + x")
        self.field.setToolTip(
            "E in x (1-D) or x and y (2-D): + − * / ^, sin cos tan exp log sqrt abs tanh …"
        )
        self.field.returnPressed.connect(self.submit)
        layout.addWidget(self.field)
        self.error = QLabel()
        self.error.setObjectName("expressionError")
        self.error.setStyleSheet("color: #dc3545;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        ranges = QFormLayout()
        self.x_range = QLineEdit("-5, 5")
        self.y_range = QLineEdit("-5, 5")
        for edit in (self.x_range, self.y_range):
            edit.setPlaceholderText("from, to")
            edit.returnPressed.connect(self.submit)
        ranges.addRow("x range", self.x_range)
        ranges.addRow("y range", self.y_range)
        layout.addLayout(ranges)
        buttons = QHBoxLayout()
        apply = QPushButton("Apply (Enter)")
        apply.clicked.connect(self.submit)
        self.derivatives_button = QPushButton("Show ∇E and H")
        self.derivatives_button.setCheckable(True)
        self.derivatives_button.toggled.connect(lambda on: self.derivatives.setVisible(on))
        buttons.addWidget(apply)
        buttons.addWidget(self.derivatives_button)
        layout.addLayout(buttons)
        self.derivatives = QLabel()
        self.derivatives.setObjectName("derivatives")
        self.derivatives.setWordWrap(True)
        self.derivatives.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.derivatives.setStyleSheet("font-family: monospace;")
        self.derivatives.hide()
        layout.addWidget(self.derivatives)

    def submit(self) -> None:
        try:
            x_range = _parse_range(self.x_range.text(), "x")
            y_range = _parse_range(self.y_range.text(), "y")
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.submitted.emit(self.field.text(), (x_range, y_range))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def show_derivatives(self, text: str) -> None:
        self.derivatives.setText(text)


def _parse_range(text: str, name: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{name} range: type two numbers, e.g. -5, 5") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ValueError(f"{name} range: 'from' must be a finite number below 'to'")
    if max(abs(lo), abs(hi)) > 1e6:
        raise ValueError(f"{name} range: keep within ±1e6")
    return lo, hi


class FunctionPanel(QWidget):
    """Choose the objective; emits objectiveRequested(ObjectiveSpec) on every change."""

    objectiveRequested = Signal(object)  # engine.scenario.ObjectiveSpec

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.choice = QComboBox()
        for name in objective_names():
            self.choice.addItem(objective_entry(name).title, name)
        self.choice.addItem("Your own function…", CUSTOM)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        layout.addWidget(self.choice)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("hint")
        layout.addWidget(self.description)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.readout = QLabel()
        self.readout.setObjectName("kappa")
        self.readout.setWordWrap(True)
        layout.addWidget(self.readout)
        self.editor = ExpressionEditor()
        self.editor.submitted.connect(self._expression_submitted)
        self.editor.hide()
        layout.addWidget(self.editor)
        self.sliders: dict[str, ParamSlider] = {}
        self.params: dict[str, float] = {}

    @property
    def name(self) -> str:
        return str(self.choice.currentData())

    def show_spec(self, spec: ObjectiveSpec) -> None:
        """Show what is on the canvas (scene load, lesson) without emitting anything."""
        if spec.kind == "expression":
            self._select(CUSTOM)
            self._build(CUSTOM, {})
            self.editor.field.setText(spec.expression)
            if spec.domain:
                self.editor.x_range.setText(f"{spec.domain[0][0]:g}, {spec.domain[0][1]:g}")
                if len(spec.domain) > 1:
                    self.editor.y_range.setText(f"{spec.domain[1][0]:g}, {spec.domain[1][1]:g}")
            self.editor.show_error("")
        elif spec.name == self.name and self.sliders:
            # our own slider or spin box asked for this surface: update the values in place.
            # Rebuilding would delete the slider under the mouse inside its own mouseMoveEvent.
            entry = objective_entry(spec.name)
            for p in entry.params:
                value = float(spec.params.get(p.name, p.default))
                self.params[p.name] = value
                if p.name in self.sliders and self.sliders[p.name].value() != value:
                    self.sliders[p.name].set_value(value)
            self._update_readout()
        else:
            self._select(spec.name)
            self._build(spec.name, dict(spec.params))

    def show_expression_error(self, message: str) -> None:
        self.editor.show_error(message)

    def _select(self, name: str) -> None:
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex(max(0, self.choice.findData(name)))
        self.choice.blockSignals(False)

    def _choice_changed(self) -> None:
        self._build(self.name, {})
        if self.name == CUSTOM:
            self.editor.field.setFocus()
            self.editor.field.selectAll()
            return
        self._emit()

    def _emit(self) -> None:
        self.objectiveRequested.emit(ObjectiveSpec("builtin", self.name, dict(self.params)))

    def _expression_submitted(self, text: str, domain: tuple) -> None:
        self.objectiveRequested.emit(
            ObjectiveSpec("expression", expression=text, domain=tuple(domain))
        )

    def _build(self, name: str, params: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.sliders = {}
        custom = name == CUSTOM
        self.editor.setVisible(custom)
        if custom:
            self.description.setText(
                "Type E(x) for a 1-D function or E(x, y) for a surface, then press Enter."
            )
            self.params = {}
            self._update_readout()
            return
        entry = objective_entry(name)
        self.description.setText(entry.description)
        self.params = {p.name: float(params.get(p.name, p.default)) for p in entry.params}
        for p in entry.params:
            low, high, log = SLIDER_RANGES.get(p.name, (p.low, p.high, False))
            slider = ParamSlider(low, high, log, self.params[p.name])
            slider.setObjectName(f"slider_{p.name}")
            slider.setToolTip(p.help)
            slider.valueChanged.connect(lambda v, key=p.name: self._param_changed(key, v))
            self.form.addRow(LABELS.get(p.name, p.name), slider)
            self.sliders[p.name] = slider
        self._update_readout()

    def _param_changed(self, key: str, value: float) -> None:
        self.params[key] = value
        self._update_readout()
        self._emit()

    def _update_readout(self) -> None:
        p = self.params
        if self.name == "quadratic_1d":
            a = p.get("a", 1.0)
            text = (
                f"η_opt = 1/a = {1 / a:.4g}    2η_opt = {2 / a:.4g}"
                if a > 0
                else "a ≤ 0: no minimum"
            )
        elif self.name == "quadratic_2d":
            l1, l2 = p.get("lambda1", 1.0), p.get("lambda2", 1.0)
            lmin, lmax = min(l1, l2), max(l1, l2)
            if lmin > 0:
                text = (
                    f"κ = λmax/λmin = {lmax / lmin:.4g}  (large κ: slow GD)\n"
                    f"η must be < 2/λmax = {2 / lmax:.4g}"
                )
            else:
                text = "not positive definite: no minimum"
        else:
            text = ""
        self.readout.setText(text)
        self.readout.setVisible(bool(text))

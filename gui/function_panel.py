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
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.objectives import objective_entry, objective_names

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


class FunctionPanel(QWidget):
    """Choose the objective; emits objectiveChanged(name, params) on every change."""

    objectiveChanged = Signal(str, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.choice = QComboBox()
        for name in objective_names():
            self.choice.addItem(objective_entry(name).title, name)
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
        self.sliders: dict[str, ParamSlider] = {}
        self.params: dict[str, float] = {}

    @property
    def name(self) -> str:
        return str(self.choice.currentData())

    def set_objective(
        self, name: str, params: dict[str, Any] | None = None, emit: bool = False
    ) -> None:
        """Show ``name`` with ``params`` (e.g. from a scene) without echoing unless ``emit``."""
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex(max(0, self.choice.findData(name)))
        self.choice.blockSignals(False)
        self._build(name, params or {})
        if emit:
            self.objectiveChanged.emit(self.name, dict(self.params))

    def _choice_changed(self) -> None:
        self._build(self.name, {})
        self.objectiveChanged.emit(self.name, dict(self.params))

    def _build(self, name: str, params: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.sliders = {}
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
        self.objectiveChanged.emit(self.name, dict(self.params))

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

"""A parameter editor generated from an optimizer's ParamSpecs (no hand-written form per optimizer).

Numbers are typed (any notation, e.g. 1e-3) and committed on Enter or focus loss; Up/Down nudge by
×1.25 for log-scaled parameters and ±1 for whole numbers. Invalid input is flagged next to the field
and never applied, so the running race keeps its last good value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.optimizers import ParamSpec, optimizer_spec
from gui.eta_scale import EtaScale


class NumberField(QLineEdit):
    """A line edit for one float parameter, validated by its ParamSpec."""

    committed = Signal(object)

    def __init__(self, spec: ParamSpec, owner: str, value: float) -> None:
        super().__init__()
        self.spec, self.owner = spec, owner
        self._value = value
        self.setText(_fmt(value))
        self.setToolTip(f"{spec.help}  ({spec.range_text()})")
        self.editingFinished.connect(self._commit)
        self.error = ""

    def set_value(self, value: float) -> None:
        self._value = value
        if not self.hasFocus():
            self.setText(_fmt(value))

    def _commit(self) -> None:
        try:
            value = self.spec.validate(self.owner, float(self.text().strip()))
        except ValueError as exc:
            msg = str(exc) if "must" in str(exc) else f"{self.spec.name}: not a number"
            self._flag(msg.removeprefix(f"{self.owner}: "))
            return
        self._flag("")
        if value != self._value:
            self._value = value
            self.committed.emit(value)
        self.setText(_fmt(value))

    def _flag(self, message: str) -> None:
        self.error = message
        self.setStyleSheet("border: 2px solid #dc3545;" if message else "")
        self.setToolTip(message or f"{self.spec.help}  ({self.spec.range_text()})")
        parent = self.parent()
        while parent is not None and not isinstance(parent, ParamForm):
            parent = parent.parent()
        if parent is not None:
            parent.show_error(message)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            up = event.key() == Qt.Key.Key_Up
            value = (
                self._value * (1.25 if up else 0.8)
                if self.spec.log
                else (self._value + (0.1 if up else -0.1) * max(abs(self._value), 0.1))
            )
            self.setText(_fmt(value))
            self._commit()
            return
        super().keyPressEvent(event)


class ParamForm(QWidget):
    """The editor for one racer's parameters; emits only the changed values."""

    paramsChanged = Signal(object)  # dict name -> value

    def __init__(self, optimizer: str, values: Mapping[str, Any], parent=None) -> None:
        super().__init__(parent)
        self.spec = optimizer_spec(optimizer)
        self.values = {**self.spec.defaults(), **values}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #dc3545;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.fields: dict[str, QWidget] = {}
        for p in self.spec.params:
            field = self._make_field(p, self.values[p.name])
            field.setObjectName(f"param_{p.name}")
            label = QLabel(p.name)
            label.setToolTip(p.help)
            self.form.addRow(label, field)
            self.fields[p.name] = field
        self.eta_scale: EtaScale | None = None
        if "lr" in self.fields:
            self.eta_scale = EtaScale()
            self.eta_scale.picked.connect(self._eta_picked)
            self.form.insertRow(self._row_of("lr") + 1, "", self.eta_scale)
            self.eta_scale.hide()
        self.curvatures: tuple[float, ...] = ()
        self._update_visibility()

    def set_curvatures(self, curvatures: tuple[float, ...]) -> None:
        """On a quadratic, show η against η_opt = 1/λ and 2η_opt for each curvature λ."""
        self.curvatures = tuple(c for c in curvatures if c > 0)
        self._update_eta_scale()

    def _update_eta_scale(self) -> None:
        if self.eta_scale is None:
            return
        lr = self.values.get("lr")
        show = bool(self.curvatures) and isinstance(lr, (int, float)) and lr > 0
        if show:
            self.eta_scale.set_state(self.curvatures, float(lr))
        self.eta_scale.setVisible(show)

    def _eta_picked(self, eta: float) -> None:
        self.set_values({"lr": eta})
        self._changed("lr", eta)

    def _row_of(self, name: str) -> int:
        row, _ = self.form.getWidgetPosition(self.fields[name])
        return row

    def _make_field(self, p: ParamSpec, value: Any) -> QWidget:
        if p.kind == "choice":
            box = QComboBox()
            box.addItems(list(p.choices))
            box.setCurrentText(str(value))
            box.setToolTip(p.help)
            box.currentTextChanged.connect(lambda text, name=p.name: self._changed(name, text))
            return box
        if p.kind == "int":
            spin = QSpinBox()
            spin.setRange(
                int(p.low if p.low is not None else -(10**6)),
                int(p.high if p.high is not None else 10**6),
            )
            spin.setValue(int(value))
            spin.setToolTip(p.help)
            spin.valueChanged.connect(lambda v, name=p.name: self._changed(name, int(v)))
            return spin
        field = NumberField(p, self.spec.name, float(value))
        field.committed.connect(lambda v, name=p.name: self._changed(name, v))
        return field

    def _changed(self, name: str, value: Any) -> None:
        self.values[name] = value
        self._update_visibility()
        self._update_eta_scale()
        self.show_error("")
        self.paramsChanged.emit({name: value})

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Push values into the widgets without echoing them back as edits."""
        for name, value in values.items():
            field = self.fields.get(name)
            if field is None:
                continue
            self.values[name] = value
            field.blockSignals(True)
            if isinstance(field, QComboBox):
                field.setCurrentText(str(value))
            elif isinstance(field, QSpinBox):
                field.setValue(int(value))
            elif isinstance(field, NumberField):
                field.set_value(float(value))
            field.blockSignals(False)
        self._update_visibility()
        self._update_eta_scale()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _update_visibility(self) -> None:
        for p in self.spec.params:
            visible = all(self.values.get(k) in allowed for k, allowed in p.visible_if.items())
            self.form.setRowVisible(self.fields[p.name], visible)


def _fmt(value: float) -> str:
    return f"{value:.6g}"

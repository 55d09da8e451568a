"""The racers panel: add, remove, enable and colour optimizers; edit the selected one's parameters;
read each racer's iteration, loss, gradient norm and status at a glance."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.optimizers import OPTIMIZERS
from gui import theme
from gui.param_form import ParamForm
from gui.racers import RacerConfig, make_racer


class RacerCard(QFrame):
    """One row: colour swatch, enable box, title, status badge, readout, remove button."""

    clicked = Signal(int)
    toggled = Signal(int, bool)
    removeRequested = Signal(int)
    colorRequested = Signal(int)

    def __init__(self, racer: RacerConfig) -> None:
        super().__init__()
        self.racer_id = racer.racer_id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("racerCard")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        outer.setSpacing(2)
        top = QHBoxLayout()
        self.swatch = QPushButton()
        self.swatch.setFixedSize(22, 22)
        self.swatch.setToolTip("Change colour")
        self.swatch.clicked.connect(lambda: self.colorRequested.emit(self.racer_id))
        self.enabled_box = QCheckBox()
        self.enabled_box.setToolTip("Race this optimizer")
        self.enabled_box.toggled.connect(lambda on: self.toggled.emit(self.racer_id, on))
        self.title = QLabel()
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.badge = QLabel("idle")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setObjectName("badge")
        remove = QPushButton("✕")
        remove.setFixedSize(22, 22)
        remove.setToolTip("Remove this racer")
        remove.clicked.connect(lambda: self.removeRequested.emit(self.racer_id))
        top.addWidget(self.enabled_box)
        top.addWidget(self.swatch)
        top.addWidget(self.title, 1)
        top.addWidget(self.badge)
        top.addWidget(remove)
        outer.addLayout(top)
        self.readout = QLabel("—")
        self.readout.setObjectName("readout")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.readout)
        self.update_config(racer)
        self.set_status("idle", "idle")

    def update_config(self, racer: RacerConfig) -> None:
        self.title.setText(racer.title)
        self.swatch.setStyleSheet(f"background: {racer.color}; border: 1px solid #222;")
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(racer.enabled)
        self.enabled_box.blockSignals(False)

    def set_status(self, text: str, key: str) -> None:
        if (text, key) == getattr(self, "_status", None):
            return  # called every frame: restyling a label is not free
        self._status = (text, key)
        color = theme.STATUS_COLORS.get(key, "#6c757d")
        self.badge.setText(text)
        self.badge.setStyleSheet(
            f"background: {color}; color: white; border-radius: 6px; padding: 1px 6px;"
        )

    def set_selected(self, selected: bool) -> None:
        self.setStyleSheet("#racerCard { border: 2px solid #0d6efd; }" if selected else "")

    def mousePressEvent(self, event) -> None:
        self.clicked.emit(self.racer_id)
        super().mousePressEvent(event)


class RacersPanel(QWidget):
    """Owns the list of RacerConfigs shown to the user."""

    racersChanged = Signal(object)  # tuple[RacerConfig, ...]: structure changed, restart the race
    paramsEdited = Signal(int, object)  # racer_id, {name: value}: apply from the next step
    selectionChanged = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.racers: list[RacerConfig] = []
        self.cards: dict[int, RacerCard] = {}
        self.selected: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        add_row = QHBoxLayout()
        self.add_choice = QComboBox()
        for spec in OPTIMIZERS.values():
            self.add_choice.addItem(spec.title, spec.name)
        self.add_button = QPushButton("Add racer")
        self.add_button.clicked.connect(self._add_clicked)
        add_row.addWidget(self.add_choice, 1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(4)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.list_widget)
        scroll.setMinimumHeight(150)
        layout.addWidget(scroll, 1)
        self.params_box = QGroupBox("Parameters")
        self.params_layout = QVBoxLayout(self.params_box)
        layout.addWidget(self.params_box)
        self.form: ParamForm | None = None
        self.curvatures: tuple[float, ...] = ()

    # -- public API --------------------------------------------------------------------------------
    def set_racers(self, racers: list[RacerConfig] | tuple[RacerConfig, ...]) -> None:
        """Replace the whole list (scene load, default scene); emits racersChanged."""
        self.racers = list(racers)
        self._rebuild()
        self.racersChanged.emit(tuple(self.racers))

    def add_racer(self, optimizer: str, **params: Any) -> RacerConfig:
        color = theme.color_for(optimizer, len(self.racers))
        used = {r.color for r in self.racers}
        if color in used:
            color = next((c for c in theme.RACER_COLORS if c not in used), color)
        racer = make_racer(optimizer, color, **params)
        self.racers.append(racer)
        self._rebuild()
        self.select(racer.racer_id)
        self.racersChanged.emit(tuple(self.racers))
        return racer

    def remove_racer(self, racer_id: int) -> None:
        self.racers = [r for r in self.racers if r.racer_id != racer_id]
        if self.selected == racer_id:
            self.selected = None
        self._rebuild()
        self.racersChanged.emit(tuple(self.racers))

    def set_enabled(self, racer_id: int, enabled: bool) -> None:
        self._replace(racer_id, enabled=enabled)
        self.racersChanged.emit(tuple(self.racers))

    def set_color(self, racer_id: int, color: str) -> None:
        self._replace(racer_id, color=color)
        self.racersChanged.emit(tuple(self.racers))

    def edit_params(self, racer_id: int, changes: dict[str, Any]) -> bool:
        """Validate and store an edit, then forward it to the running race."""
        racer = self.racer(racer_id)
        if racer is None:
            return False
        try:
            updated = racer.with_params(**changes)
        except ValueError as exc:
            if self.form is not None:
                self.form.show_error(str(exc))
            return False
        self._store(updated)
        self.cards[racer_id].update_config(updated)
        if self.form is not None and self.selected == racer_id:
            self.form.set_values(changes)
        self.paramsEdited.emit(racer_id, dict(changes))
        return True

    def racer(self, racer_id: int) -> RacerConfig | None:
        return next((r for r in self.racers if r.racer_id == racer_id), None)

    def select(self, racer_id: int | None) -> None:
        self.selected = racer_id
        for rid, card in self.cards.items():
            card.set_selected(rid == racer_id)
        if self.form is not None:
            self.params_layout.removeWidget(self.form)
            self.form.deleteLater()
            self.form = None
        racer = self.racer(racer_id) if racer_id is not None else None
        if racer is not None:
            self.form = ParamForm(racer.optimizer, racer.params)
            self.form.set_curvatures(self.curvatures)
            self.form.paramsChanged.connect(
                lambda changes, rid=racer.racer_id: self.edit_params(rid, changes)
            )
            self.params_layout.addWidget(self.form)
            self.params_box.setTitle(f"Parameters — {racer.title}")
        else:
            self.params_box.setTitle("Parameters")
        if racer_id is not None:
            self.selectionChanged.emit(racer_id)

    def set_curvatures(self, curvatures: tuple[float, ...]) -> None:
        """The current quadratic's curvatures (Hessian eigenvalues), or () for other surfaces."""
        self.curvatures = tuple(curvatures)
        if self.form is not None:
            self.form.set_curvatures(self.curvatures)

    def set_status(self, racer_id: int, text: str, key: str, readout: str) -> None:
        card = self.cards.get(racer_id)
        if card is not None:
            card.set_status(text, key)
            if card.readout.text() != readout:
                card.readout.setText(readout)

    def reset_statuses(self) -> None:
        for card in self.cards.values():
            card.set_status("idle", "idle")
            card.readout.setText("—")

    # -- internals -------------------------------------------------------------------------------
    def _replace(self, racer_id: int, **changes: Any) -> None:
        racer = self.racer(racer_id)
        if racer is None:
            return
        updated = replace(racer, **changes)
        self._store(updated)
        self.cards[racer_id].update_config(updated)

    def _store(self, updated: RacerConfig) -> None:
        self.racers = [updated if r.racer_id == updated.racer_id else r for r in self.racers]

    def _rebuild(self) -> None:
        for card in self.cards.values():
            self.list_layout.removeWidget(card)
            card.deleteLater()
        self.cards = {}
        for i, racer in enumerate(self.racers):
            card = RacerCard(racer)
            card.clicked.connect(self.select)
            card.toggled.connect(self.set_enabled)
            card.removeRequested.connect(self.remove_racer)
            card.colorRequested.connect(self._pick_color)
            self.list_layout.insertWidget(i, card)
            self.cards[racer.racer_id] = card
        ids = [r.racer_id for r in self.racers]
        self.select(self.selected if self.selected in ids else (ids[0] if ids else None))

    def _add_clicked(self) -> None:
        self.add_racer(self.add_choice.currentData())

    def _pick_color(self, racer_id: int) -> None:
        racer = self.racer(racer_id)
        if racer is None:
            return
        color = QColorDialog.getColor(QColor(racer.color), self, "Racer colour")
        if color.isValid():
            self.set_color(racer_id, color.name())

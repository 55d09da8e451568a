"""The basins-of-attraction panel: run one optimizer from every cell of a grid over the current
view and colour each start by the point it ends at (drawn on the canvas by a BasinLayer).

The map is computed in the shared :class:`gui.jobs.JobRunner`; the panel only draws what comes
back, and ignores results of jobs that were cancelled or started for another scene.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QWidget,
)

from engine.objective import Objective
from engine.optimizers import Optimizer, make_optimizer, optimizer_spec
from engine.sweeps import MAX_STEPS, BasinMap, basin_image, basin_map
from gui import theme
from gui.basin_layer import DEFAULT_OPACITY, BasinLayer, BasinLegend, share
from gui.jobs import JobRunner
from gui.panel_job import JobPanel
from gui.racers import RacerConfig
from gui.sweep_panel import SciSpinBox, chosen_entry, fill_optimizer_box, int_spin, steps_row

MIN_GRID, MAX_GRID, DEFAULT_GRID = 16, 512, 128
UNBATCHED_GRID_CAP = 64  # BFGS / L-BFGS loop over the starts in Python: 64² ≈ a few seconds
DEFAULT_STEPS = 100
DEFAULT_TOL = 1e-6  # Adam and friends rarely reach the engine's 1e-8 in 100 steps
# Rprop never steps less than step_min (1e-6), so near a minimum ‖∇E‖ hovers around λ·step_min
SUGGESTED_TOL = {"rprop": 1e-4}


@dataclass(frozen=True, eq=False)
class BasinResult:
    """A finished map with its two renderings (made on the job thread)."""

    basin: BasinMap
    shaded: np.ndarray  # (N, N, 4) uint8, darker = more steps
    flat: np.ndarray  # (N, N, 4) uint8, one colour per outcome
    label: str

    def image(self, shade: bool) -> np.ndarray:
        return self.shaded if shade else self.flat


def basin_job(
    objective: Objective,
    optimizer: Optimizer,
    view: tuple[tuple[float, float], tuple[float, float]],
    grid: int,
    steps: int,
    tol: float,
    label: str,
) -> Callable[[Callable[[float], None], Callable[[], bool]], BasinResult]:
    """The job for JobRunner: captures only immutable data, never the widget."""

    def job(progress: Callable[[float], None], cancelled: Callable[[], bool]) -> BasinResult:
        basin = basin_map(
            objective,
            optimizer,
            view[0],
            view[1],
            grid=grid,
            steps=steps,
            tol=tol,
            progress=progress,
            cancel=cancelled,
        )
        return BasinResult(basin, basin_image(basin, shade=True), basin_image(basin, False), label)

    return job


def describe(result: BasinResult) -> str:
    """One or two lines on what the map found."""
    b = result.basin
    kinds: dict[str, int] = {}
    for att in b.attractors:
        kinds[att.kind] = kinds.get(att.kind, 0) + 1
    found = ", ".join(f"{n} {_plural(kind, n)}" for kind, n in kinds.items()) or "no attractor"
    counts = b.counts()
    total = b.grid * b.grid
    tail = []
    if counts["diverged"]:
        tail.append(f"{share(counts['diverged'], total)} diverged")
    if counts["not_converged"]:
        tail.append(f"{share(counts['not_converged'], total)} not converged")
    text = (
        f"{result.label}: {b.grid}×{b.grid} starts, {b.max_steps} steps, tol {b.tol:g} → {found}"
        + (f"; {', '.join(tail)}" if tail else "")
        + f"  ({b.seconds:.2g} s)."
    )
    if counts["not_converged"] > total // 2:
        text += " Grey = stopped at max steps: try more steps or a looser tol."
    return text


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return kind
    return {"minimum": "minima", "maximum": "maxima"}.get(kind, kind + "s")


class BasinPanel(JobPanel):
    """Dock panel "Basins of attraction". Call :meth:`set_context` when the scene, its view or the
    racers change; the map is drawn on ``plot`` (the canvas's PlotItem) by a BasinLayer. The job
    in flight is ``self.job``, keyed by the (objective, view) it was started for."""

    noun = "map"
    result_type = BasinResult

    def __init__(self, runner: JobRunner, plot: pg.PlotItem, parent: QWidget | None = None):
        super().__init__(runner, parent)
        self.layer = BasinLayer(plot)
        self.objective: Objective | None = None
        self.view: tuple[tuple[float, float], ...] = ()
        self.racers: tuple[RacerConfig, ...] = ()
        self.result: BasinResult | None = None
        self._tol_edited = False
        self._build()
        self._update_enabled()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout, form = self._panel_layout()
        self.optimizer_box = QComboBox()
        self.optimizer_box.setToolTip(
            "A racer (with its parameters) or any optimizer with its default parameters"
        )
        self.optimizer_box.currentIndexChanged.connect(self._optimizer_changed)
        form.addRow("Optimizer", self.optimizer_box)

        self.grid_spin = int_spin(
            MIN_GRID,
            MAX_GRID,
            DEFAULT_GRID,
            16,
            "starts per side: N × N runs, one per pixel of the map",
        )
        self.steps_spin = int_spin(
            1, MAX_STEPS, DEFAULT_STEPS, 50, "updates per start; starts still running then are grey"
        )
        form.addRow("Grid N", steps_row(self.grid_spin, self.steps_spin))

        self.tol_spin = SciSpinBox(DEFAULT_TOL, 1e-15, 1.0, factor=10.0)
        self.tol_spin.setToolTip("a start has converged once ‖∇E‖ ≤ tol")
        self.tol_spin.valueChanged.connect(self._tol_changed)
        self.shade_box = QCheckBox("darker = more steps")
        self.shade_box.setChecked(True)
        self.shade_box.setToolTip("Shade each basin by how many updates its starts needed")
        self.shade_box.toggled.connect(self._redraw)
        row = QHBoxLayout()
        row.addWidget(self.tol_spin, 1)
        row.addWidget(self.shade_box)
        form.addRow("tol", row)
        layout.addLayout(form)

        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.STATUS_COLORS['failed']};")
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.note.hide()
        layout.addWidget(self.note)

        buttons = self._job_controls("Run map")
        layout.addLayout(buttons)

        shown = QHBoxLayout()
        self.show_box = QCheckBox("Show on canvas")
        self.show_box.setChecked(True)
        self.show_box.toggled.connect(self.layer.set_visible)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity_slider.setToolTip("opacity of the map over the surface")
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(36)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        self._opacity_changed(self.opacity_slider.value())
        shown.addWidget(self.show_box)
        shown.addWidget(QLabel("opacity"))
        shown.addWidget(self.opacity_slider, 1)
        shown.addWidget(self.opacity_label)
        layout.addLayout(shown)

        layout.addWidget(self._status_label())
        self.legend = BasinLegend()
        layout.addWidget(self.legend)
        layout.addStretch(1)

    # -- context -----------------------------------------------------------------------------------
    def set_context(
        self,
        objective: Objective | None,
        view: Sequence[Sequence[float]],
        racers: Sequence[RacerConfig],
    ) -> None:
        """A new objective or view clears the map and cancels a job in flight (it would be
        stale); new racers only refresh the optimizer choices."""
        view_t = tuple(tuple(float(v) for v in r) for r in view)
        scene_changed = objective is not self.objective or view_t != self.view
        self.objective = objective
        self.view = view_t
        self.racers = tuple(racers)
        self._fill_optimizers()
        if scene_changed:
            self.job.drop()
            self.clear()
        self._update_enabled()
        if self.job_id is None and self.result is None:
            self._set_status(self._idle_text())

    def clear(self) -> None:
        """Forget the map: canvas layer and legend."""
        self.result = None
        self.layer.clear()
        self.legend.set_map(None)

    def _fill_optimizers(self) -> None:
        fill_optimizer_box(self.optimizer_box, self.racers)
        self._optimizer_changed()

    def selected(self) -> tuple[str, dict[str, Any], str] | None:
        """(optimizer name, parameters, label) of the chosen entry."""
        entry = chosen_entry(self.optimizer_box, self.racers)
        if entry is None:
            return None
        if isinstance(entry, RacerConfig):
            return entry.optimizer, dict(entry.params), entry.title
        return entry.name, {}, entry.title

    # -- actions -----------------------------------------------------------------------------------
    @Slot()
    def run(self) -> int | None:
        """Start a map over the current view (cancelling one in flight); returns the job id."""
        sel = self.selected()
        if self.objective is None or self.objective.dim != 2 or sel is None:
            self._set_status(self._idle_text())
            return None
        name, params, label = sel
        try:
            optimizer = make_optimizer(name, **params)
        except ValueError as exc:
            self._set_status(str(exc), error=True)
            return None
        grid = self.grid_spin.value()
        view = (self.view[0], self.view[1])
        return self._start(
            basin_job(
                self.objective,
                optimizer,
                view,
                grid,
                self.steps_spin.value(),
                self.tol_spin.value(),
                label,
            ),
            (self.objective, self.view),
            f"Running {label} from {grid * grid:,} starts…",
        )

    # -- the map's end -----------------------------------------------------------------------------
    def _show_result(self, result: BasinResult, scene: object) -> None:
        if scene != (self.objective, self.view):
            return
        self.result = result
        self.layer.set_map(result.basin, result.image(self.shade_box.isChecked()))
        self.legend.set_map(result.basin)
        self._set_status(describe(result))

    # -- small slots -------------------------------------------------------------------------------
    @Slot()
    def _optimizer_changed(self, *_args: object) -> None:
        sel = self.selected()
        if sel is None:
            return
        name = sel[0]
        notes = []
        if not optimizer_spec(name).batched:
            self.grid_spin.setMaximum(UNBATCHED_GRID_CAP)
            notes.append(
                f"{optimizer_spec(name).title} runs its starts one at a time (its line search "
                f"is not vectorised), so the grid is capped at {UNBATCHED_GRID_CAP}: "
                f"{UNBATCHED_GRID_CAP**2:,} starts take a few seconds."
            )
        else:
            self.grid_spin.setMaximum(MAX_GRID)
        suggested = SUGGESTED_TOL.get(name, DEFAULT_TOL)
        if not self._tol_edited:
            self.tol_spin.blockSignals(True)
            self.tol_spin.setValue(suggested)
            self.tol_spin.blockSignals(False)
        if name in SUGGESTED_TOL:
            notes.append(
                "Rprop never steps less than step_min, so ‖∇E‖ stays near λ·step_min: "
                f"a tol of {suggested:g} lets its starts count as converged."
            )
        self.note.setText("\n".join(notes))
        self.note.setVisible(bool(notes))

    @Slot(float)
    def _tol_changed(self, _value: float) -> None:
        self._tol_edited = True

    @Slot(int)
    def _opacity_changed(self, value: int) -> None:
        self.layer.set_opacity(value / 100)
        self.opacity_label.setText(f"{value} %")

    @Slot()
    def _redraw(self, *_args: object) -> None:
        if self.result is not None:
            self.layer.set_map(self.result.basin, self.result.image(self.shade_box.isChecked()))

    def _ready(self) -> bool:
        two_d = self.objective is not None and self.objective.dim == 2
        return two_d and self.optimizer_box.count() > 0

    def _idle_text(self) -> str:
        if self.objective is None:
            return "Choose a loss surface first."
        if self.objective.dim != 2:
            return (
                "Basin maps need a function of two variables: each pixel is a start (x, y). "
                f"{self.objective.title} has one."
            )
        (x0, x1), (y0, y1) = self.view[0], self.view[1]
        return (
            f"Each pixel of the view [{x0:g}, {x1:g}] × [{y0:g}, {y1:g}] becomes a start; "
            "its colour says where the run ends. Press Run map."
        )

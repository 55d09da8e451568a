"""The learning-rate sweep panel: one run per η from the race's start, final loss and steps vs η.

The sweep runs in the shared :class:`gui.jobs.JobRunner` (never on the GUI thread); the panel only
draws what comes back. On a quadratic the plot carries the lecture's thresholds: η_opt = 1/λ and
the divergence cliff at 2η_opt (one pair per eigen-direction in 2-D).

Everything handed to pyqtgraph is finite: both axes are plotted in log₁₀ units computed here (the
axes only *label* them as powers of ten), and diverged runs sit on their own row at the top of the
loss plot, labelled "diverged" on the axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from engine.analysis import analyse_quadratic
from engine.objective import Objective
from engine.optimizers import OPTIMIZERS, OptimizerSpec, optimizer_spec
from engine.sweeps import MAX_STEPS, LrSweep, log_spaced_lrs, lr_sweep, quadratic_hessian
from gui import theme
from gui.jobs import JobRunner
from gui.panel_job import JobPanel
from gui.racers import RacerConfig

PLOT_BACKGROUND = "#1e1e24"  # as the canvas and the loss plot
TEXT_COLOR = "#e6e6e6"
OUTCOME_COLORS = {  # by what a run did within its steps
    "converged": "#4cc38a",  # reached tol
    "decreasing": "#8fa3bf",  # loss went down, tol not reached
    "grew": theme.STATUS_COLORS["failed"],  # still finite, but the loss went up
    "diverged": "#ff5a5f",
    "failed": theme.STATUS_COLORS["max_steps"],
}
CLIFF_COLOR = "#ff5a5f"
ETA_OPT_COLOR = "#ffe66d"
MIN_COUNT, MAX_COUNT, DEFAULT_COUNT = 200, 5000, 240
DEFAULT_STEPS = 200
SUBSCRIPTS = "₁₂₃₄₅₆₇₈₉"


# -- plain data (no Qt): what a finished sweep means ---------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished sweep and what the panel reads from it (computed on the job thread).

    Per η (ascending): ``outcome`` is converged (reached tol), decreasing (loss below the start's,
    tol not reached), grew (finite but above the start's loss), diverged, or failed.
    ``converges``: the loss went down; ``diverges``: diverged or grew. ``cliff`` is the smallest η
    from which *every* larger η diverges (None if the largest η does not), ``below_cliff`` the
    largest η under it.
    """

    sweep: LrSweep
    label: str
    outcome: tuple[str, ...]
    converges: np.ndarray  # (m,) bool
    diverges: np.ndarray  # (m,) bool
    cliff: float | None
    below_cliff: float | None
    fastest: tuple[float, int] | None  # (η, steps) of the quickest converged run
    thresholds: tuple[tuple[str, float, bool], ...]  # (label, η, is the binding cliff)
    message: str


def classify_runs(sweep: LrSweep) -> tuple[str, ...]:
    """Outcome of each run of a sweep (see SweepResult)."""
    out = []
    for status, loss in zip(sweep.status, sweep.final_loss):
        if status == "converged":
            out.append("converged")
        elif status == "diverged" or not math.isfinite(float(loss)):
            out.append("diverged")
        elif status == "failed":
            out.append("failed")
        elif float(loss) > sweep.initial_loss:
            out.append("grew")
        else:
            out.append("decreasing")
    return tuple(out)


def gd_thresholds(sweep: LrSweep) -> tuple[tuple[str, float, bool], ...]:
    """Plain GD's η_opt = 1/λ and 2η_opt = 2/λ on a quadratic, per eigen-direction.

    1-D: "η_opt", "2η_opt". 2-D: "1/λmax", "2/λmax", "1/λmin", "2/λmin" (equal eigenvalues give
    one pair; directions without a minimum, λ ≤ 0, none). The flag marks the binding cliff, 2/λmax.
    """
    if sweep.analysis is None:
        return ()
    lams = sorted(
        {round(d.eigenvalue, 12) for d in sweep.analysis.directions if d.eigenvalue > 0},
        reverse=True,
    )
    if not lams:
        return ()
    if len(sweep.analysis.directions) == 1:
        return (("η_opt", 1.0 / lams[0], False), ("2η_opt", 2.0 / lams[0], True))
    lines: list[tuple[str, float, bool]] = []
    for i, lam in enumerate(lams):
        name = "λmax" if i == 0 else "λmin"
        lines.append((f"1/{name}", 1.0 / lam, False))
        lines.append((f"2/{name}", 2.0 / lam, i == 0))
    return tuple(lines)


def summarize_sweep(sweep: LrSweep, label: str) -> SweepResult:
    """Classify every run and phrase the finding ("converges for η ≤ …, diverges from …")."""
    outcome = classify_runs(sweep)
    lrs = sweep.lrs
    kinds = np.array(outcome)
    converges = np.isin(kinds, ("converged", "decreasing"))
    diverges = np.isin(kinds, ("diverged", "grew"))
    cliff = below = None
    if diverges.size and diverges[-1]:
        ok = np.flatnonzero(~diverges)
        first = int(ok[-1]) + 1 if ok.size else 0
        cliff = float(lrs[first])
        below = float(lrs[first - 1]) if first > 0 else None
    steps = [(s, float(lr)) for s, lr in zip(sweep.steps_to_converge, lrs) if s is not None]
    fastest = None
    if steps:
        best_steps, best_lr = min(steps, key=lambda p: (p[0], -p[1]))
        fastest = (best_lr, int(best_steps))
    thresholds = gd_thresholds(sweep)
    result = SweepResult(
        sweep=sweep,
        label=label,
        outcome=outcome,
        converges=converges,
        diverges=diverges,
        cliff=cliff,
        below_cliff=below,
        fastest=fastest,
        thresholds=thresholds,
        message="",
    )
    return _with_message(result)


def _with_message(r: SweepResult) -> SweepResult:
    s = r.sweep
    lo, hi = float(s.lrs[0]), float(s.lrs[-1])
    parts: list[str] = []
    if r.cliff is None:
        if np.any(r.diverges):
            parts.append(
                f"Diverges at {int(np.count_nonzero(r.diverges))} of {len(s.lrs)} η, "
                f"but not at the largest ({g(hi)}): no single cliff in this range."
            )
        else:
            parts.append(
                f"Converges for every η in [{g(lo)}, {g(hi)}] — widen the range to find the cliff."
            )
    elif r.below_cliff is None:
        parts.append(f"Diverges for every η ≥ {g(lo)} — lower the range.")
    else:
        below = np.flatnonzero(s.lrs < r.cliff)
        clean = bool(np.all(r.converges[below]))
        lead = "Converges" if clean else "Mostly converges"
        parts.append(
            f"{lead} for η ≤ {g(r.below_cliff)}, diverges for η ≥ {g(r.cliff)}"
            + ("." if clean else " (some smaller η fail too).")
        )
    limits = [eta for _, eta, binding in r.thresholds if binding]
    if limits:
        who = "" if s.optimizer == "gd" else " for plain GD"
        name = "2η_opt" if len(s.start) == 1 else "2η_opt = 2/λmax"
        parts.append(f"Theory{who}: {name} = {g(limits[0])}.")
    if r.fastest is not None:
        reached = [lr for lr, n in zip(s.lrs, s.steps_to_converge) if n is not None]
        parts.append(
            f"Within {s.max_steps} steps tol is reached for {len(reached)} η "
            f"({g(min(reached))} … {g(max(reached))}); fastest η = {g(r.fastest[0])} "
            f"({r.fastest[1]} step{'s' if r.fastest[1] != 1 else ''})."
        )
    else:
        parts.append(f"No run reached tol within {s.max_steps} steps.")
    return replace(r, message=" ".join(parts))


def g(value: float) -> str:
    """A number in 3 significant digits."""
    return f"{value:.3g}"


def suggested_range(
    objective: Objective, lr: float, start: Sequence[float] | None = None
) -> tuple[float, float]:
    """A decade-aligned η range: around η_opt on a quadratic (cliff in view), else around ``lr``."""
    h = quadratic_hessian(objective, start)
    etas: list[float] = []
    if h is not None:
        etas = [d.eta_opt for d in analyse_quadratic(h, 1.0).directions if d.eigenvalue > 0]
    if etas:
        lo, hi = min(etas) / 100.0, max(etas) * 6.0  # 3 × the softest direction's cliff
    else:
        lo, hi = lr / 100.0, lr * 100.0
    lo = 10.0 ** math.floor(math.log10(lo))
    hi = 10.0 ** math.ceil(math.log10(hi))
    return max(lo, 1e-12), min(hi, 1e6)


def sweep_job(
    objective: Objective,
    optimizer: str,
    params: dict[str, Any],
    start: tuple[float, ...],
    lrs: np.ndarray,
    steps: int,
    label: str,
) -> Callable[[Callable[[float], None], Callable[[], bool]], SweepResult]:
    """The job for JobRunner: only plain data is captured, nothing from the widget."""
    lrs = np.array(lrs, float)
    params = dict(params)

    def job(progress: Callable[[float], None], cancelled: Callable[[], bool]) -> SweepResult:
        # lr_sweep asks cancel() once before every step, so counting the calls is our progress
        calls = 0
        every = max(1, steps // 100)

        def cancel() -> bool:
            nonlocal calls
            calls += 1
            if calls % every == 0:
                progress(min(calls / steps, 0.999))
            return cancelled()

        sweep = lr_sweep(objective, optimizer, start, lrs, steps, params=params, cancel=cancel)
        progress(1.0)
        return summarize_sweep(sweep, label)

    return job


# -- widgets ---------------------------------------------------------------------------------------


class SciSpinBox(QDoubleSpinBox):
    """A spin box for positive numbers across decades: shows 3 significant digits, accepts any
    notation (1e-3, 0.001), and the arrows multiply/divide by ``factor`` (a log step)."""

    def __init__(
        self, value: float, low: float, high: float, factor: float = 10**0.25, parent=None
    ) -> None:
        super().__init__(parent)
        self.factor = factor
        self.setDecimals(30)
        self.setRange(low, high)
        self.setKeyboardTracking(False)
        self.setValue(value)

    def textFromValue(self, value: float) -> str:
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> QValidator.State:
        try:
            value = float(text.strip())
        except ValueError:
            return QValidator.State.Intermediate
        ok = self.minimum() <= value <= self.maximum()
        return QValidator.State.Acceptable if ok else QValidator.State.Intermediate

    def stepBy(self, steps: int) -> None:
        self.setValue(float(f"{self.value() * self.factor**steps:.3g}"))


def int_spin(low: int, high: int, value: int, step: int, tip: str) -> QSpinBox:
    """A whole-number spin box for the panels' forms."""
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSingleStep(step)
    spin.setToolTip(tip)
    return spin


def steps_row(count: QSpinBox, steps: QSpinBox) -> QHBoxLayout:
    """A form row "<count> steps <steps>": how many runs, how many updates each."""
    row = QHBoxLayout()
    row.addWidget(count, 1)
    row.addWidget(QLabel("steps"))
    row.addWidget(steps, 1)
    return row


class LabelledAxis(pg.AxisItem):
    """An axis that can replace the tick labels above ``cut`` by named rows (e.g. "diverged")."""

    def __init__(self, orientation: str, **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.rows: dict[float, str] = {}
        self.cut: float | None = None

    def set_rows(self, rows: dict[float, str], cut: float | None) -> None:
        self.rows, self.cut = dict(rows), cut
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if self.cut is None:
            return levels
        levels = [(sp, [v for v in vals if v < self.cut]) for sp, vals in levels]
        extra = [v for v in self.rows if minVal <= v <= maxVal]
        if levels and extra:
            sp, vals = levels[0]
            levels[0] = (sp, [*vals, *extra])
        return levels

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        for i, v in enumerate(values):
            for row, text in self.rows.items():
                if abs(v - row) < 1e-9:
                    strings[i] = text
        return strings


def _axis_font(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setTextPen(TEXT_COLOR)
        axis.setPen(pg.mkPen("#8a8a96"))


class LrSweepPanel(JobPanel):
    """Dock panel "Learning-rate sweep". Call :meth:`set_context` whenever the scene, the start
    or the racers change; results arrive from the shared JobRunner. The job in flight is
    ``self.job``, keyed by the context (:meth:`_context_key`) it was started for."""

    noun = "sweep"
    result_type = SweepResult

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.objective: Objective | None = None
        self.start: tuple[float, ...] | None = None
        self.racers: tuple[RacerConfig, ...] = ()
        self.result: SweepResult | None = None
        self._result_key: object = None
        self._auto_range = True
        self._build()
        self._update_enabled()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout, form = self._panel_layout()
        self.optimizer_box = QComboBox()
        self.optimizer_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.optimizer_box.setToolTip(
            "Racers with a learning rate (their other parameters are kept), or any first-order "
            "optimizer with its defaults"
        )
        self.optimizer_box.currentIndexChanged.connect(self._optimizer_changed)
        form.addRow("Optimizer", self.optimizer_box)

        self.lr_from = SciSpinBox(1e-3, 1e-12, 1e6)
        self.lr_to = SciSpinBox(10.0, 1e-12, 1e6)
        self.lr_from.setToolTip("smallest η (log-spaced up to the largest)")
        self.lr_to.setToolTip("largest η")
        self.auto_box = QCheckBox("auto")
        self.auto_box.setChecked(True)
        self.auto_box.setToolTip(
            "Fit the range to the problem: around η_opt on a quadratic, else around the racer's η"
        )
        self.auto_box.toggled.connect(self._auto_toggled)
        self.lr_from.valueChanged.connect(self._range_edited)
        self.lr_to.valueChanged.connect(self._range_edited)
        range_row = QHBoxLayout()
        range_row.addWidget(self.lr_from, 1)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.lr_to, 1)
        range_row.addWidget(self.auto_box)
        form.addRow("η from", range_row)

        self.count_spin = int_spin(
            MIN_COUNT,
            MAX_COUNT,
            DEFAULT_COUNT,
            40,
            "number of η values (one run each, all in one batch)",
        )
        self.steps_spin = int_spin(1, MAX_STEPS, DEFAULT_STEPS, 50, "updates per run")
        form.addRow("η count", steps_row(self.count_spin, self.steps_spin))
        layout.addLayout(form)

        buttons = self._job_controls("Run sweep")
        self.run_button.setDefault(True)
        layout.addLayout(buttons)

        layout.addWidget(self._status_label())

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.graphics.setMinimumHeight(320)
        self.loss_axis = LabelledAxis("left")
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(
            row=0,
            col=0,
            axisItems={"left": self.loss_axis, "bottom": LabelledAxis("bottom")},
        )
        self.steps_plot: pg.PlotItem = self.graphics.addPlot(
            row=1, col=0, axisItems={"bottom": LabelledAxis("bottom")}
        )
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        for plot in (self.loss_plot, self.steps_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("bottom").setLogMode(True, False)
            plot.getAxis("left").setWidth(58)
            for name in ("left", "bottom"):
                plot.getAxis(name).enableAutoSIPrefix(False)
            _axis_font(plot)
        self.steps_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "final loss E", color=TEXT_COLOR)
        self.steps_plot.setLabel("left", "steps to tol", color=TEXT_COLOR)
        self.steps_plot.setLabel("bottom", "learning rate η", color=TEXT_COLOR)
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)
        layout.addWidget(self.graphics, 1)
        self.key_label = QLabel(_key_html())
        self.key_label.setWordWrap(True)
        layout.addWidget(self.key_label)

        self.loss_line = pg.PlotDataItem(pen=pg.mkPen("#c8c8d0", width=1.5))
        self.loss_points = pg.PlotDataItem(pen=None, symbol="o", symbolSize=5)
        self.diverged_points = pg.PlotDataItem(
            pen=None,
            symbol="x",
            symbolSize=8,
            symbolPen=pg.mkPen(OUTCOME_COLORS["diverged"], width=1.5),
            symbolBrush=OUTCOME_COLORS["diverged"],
        )
        self.steps_points = pg.PlotDataItem(
            pen=pg.mkPen(OUTCOME_COLORS["converged"], width=1),
            symbol="o",
            symbolSize=5,
            symbolPen=None,
            symbolBrush=OUTCOME_COLORS["converged"],
        )
        self.max_steps_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen("#8a8a96", width=1, style=Qt.PenStyle.DashLine),
            label="max steps = {value:g}",
            labelOpts={"position": 0.03, "color": "#b0b0ba", "anchors": [(0, 0), (0, 0)]},
        )
        self.diverged_rule = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#55555f", width=1, style=Qt.PenStyle.DotLine)
        )
        self.regions = [
            pg.LinearRegionItem(
                movable=False,
                brush=pg.mkBrush(255, 90, 95, 38),
                pen=pg.mkPen(None),
            )
            for _ in range(2)
        ]
        for region, plot in zip(self.regions, (self.loss_plot, self.steps_plot)):
            region.setZValue(-20)
            plot.addItem(region, ignoreBounds=True)
        for item in (self.loss_line, self.loss_points, self.diverged_points):
            self.loss_plot.addItem(item)
        self.loss_plot.addItem(self.diverged_rule, ignoreBounds=True)
        self.steps_plot.addItem(self.steps_points)
        self.steps_plot.addItem(self.max_steps_line, ignoreBounds=True)
        self.eta_lines: list[pg.InfiniteLine] = []
        self._clear_plot()

    # -- context -----------------------------------------------------------------------------------
    def set_context(
        self,
        objective: Objective | None,
        start: Sequence[float] | None,
        racers: Sequence[RacerConfig],
    ) -> None:
        """The scene, start or racers changed: refresh the choices; a new objective clears the
        plot, and a job started for another context is cancelled (its result would be stale)."""
        new_objective = objective is not self.objective
        self.objective = objective
        self.start = None if start is None else tuple(float(v) for v in start)
        self.racers = tuple(racers)
        self._fill_optimizers()
        if new_objective:
            self._clear_plot()
            self.result = None
            self._result_key = None
        dropped = self.job.running and self._context_key() != self.job.key
        if dropped:
            self.job.drop()
        if self._auto_range:
            self._fit_range()
        self._update_enabled()
        if dropped:
            self._set_status("The scene changed while the sweep ran — press Run sweep again.")
        elif self.result is None and self.job_id is None:
            self._set_status(self._idle_text())
        elif self.result is not None and self._context_key() != self._result_key:
            self._set_status(
                "⚠ Outdated: the start or the optimizer changed — press Run sweep to update.\n"
                + self.result.message
            )

    def _fill_optimizers(self) -> None:
        fill_optimizer_box(self.optimizer_box, self.racers, _sweepable)

    def selected(self) -> tuple[str, dict[str, Any], str, float] | None:
        """(optimizer, params without lr, label, the racer's lr) of the chosen entry."""
        entry = chosen_entry(self.optimizer_box, self.racers)
        if entry is None:
            return None
        if isinstance(entry, RacerConfig):
            params = entry.full_params()
            lr = float(params.pop("lr"))
            return entry.optimizer, params, entry.label or optimizer_spec(entry.optimizer).title, lr
        spec = entry
        params = spec.defaults()
        lr = float(params.pop("lr"))
        return spec.name, params, spec.title, lr

    def _context_key(self) -> object:
        sel = self.selected()
        chosen = None if sel is None else (sel[0], tuple(sorted(sel[1].items())))
        return (self.objective, self.start, chosen)

    # -- actions -----------------------------------------------------------------------------------
    @Slot()
    def run(self) -> int | None:
        """Start a sweep (cancelling one in flight); returns the job id, or None if not ready."""
        sel = self.selected()
        if self.objective is None or self.start is None or sel is None:
            self._set_status(self._idle_text())
            return None
        lo, hi = self.lr_from.value(), self.lr_to.value()
        try:
            lrs = log_spaced_lrs(lo, hi, self.count_spin.value())
        except ValueError as exc:
            self._set_status(f"η range: {exc}", error=True)
            return None
        name, params, label, _ = sel
        steps = self.steps_spin.value()
        return self._start(
            sweep_job(self.objective, name, params, self.start, lrs, steps, label),
            self._context_key(),
            f"Sweeping {len(lrs)} learning rates × {steps} steps…",
        )

    # -- the sweep's end ---------------------------------------------------------------------------
    def _show_result(self, result: SweepResult, key: object) -> None:
        if key != self._context_key():  # belt and braces: set_context drops such jobs
            return
        self.result = result
        self._result_key = key
        self._draw(result)
        self._set_status(result.message)

    # -- small slots -------------------------------------------------------------------------------
    @Slot(int)
    def _optimizer_changed(self, _index: int) -> None:
        if self._auto_range:
            self._fit_range()
        if self.result is not None and self._context_key() != self._result_key:
            self._set_status("⚠ Outdated: another optimizer is chosen — press Run sweep.")

    @Slot(bool)
    def _auto_toggled(self, on: bool) -> None:
        self._auto_range = on
        if on:
            self._fit_range()

    @Slot(float)
    def _range_edited(self, _value: float) -> None:
        self._auto_range = False
        self.auto_box.blockSignals(True)
        self.auto_box.setChecked(False)
        self.auto_box.blockSignals(False)

    def _fit_range(self) -> None:
        sel = self.selected()
        if self.objective is None or sel is None:
            return
        lo, hi = suggested_range(self.objective, sel[3], self.start)
        for spin, value in ((self.lr_from, lo), (self.lr_to, hi)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)

    def _ready(self) -> bool:
        return (
            self.objective is not None and self.start is not None and self.optimizer_box.count() > 0
        )

    def _idle_text(self) -> str:
        if self.objective is None:
            return "Choose a loss surface first."
        if self.start is None:
            return "Click the surface to choose a start point, then run the sweep from it."
        return "One run per η from the current start — press Run sweep."

    # -- drawing -----------------------------------------------------------------------------------
    def _clear_plot(self) -> None:
        for item in (self.loss_line, self.loss_points, self.diverged_points, self.steps_points):
            item.setData([], [])
        for line in self.eta_lines:
            for plot in (self.loss_plot, self.steps_plot):
                if line in plot.items:
                    plot.removeItem(line)
        self.eta_lines = []
        for region in self.regions:
            region.hide()
        self.diverged_rule.hide()
        self.max_steps_line.hide()
        self.loss_axis.set_rows({}, None)
        self.loss_plot.setTitle(None)
        self.loss_plot.setRange(xRange=(-3, 1), yRange=(-8, 2), padding=0)
        self.steps_plot.setRange(yRange=(0, DEFAULT_STEPS * 1.08), padding=0)

    def _draw(self, r: SweepResult) -> None:
        self._clear_plot()
        s = r.sweep
        x = np.log10(s.lrs)
        loss = np.asarray(s.final_loss, float)
        finite = np.isfinite(loss)
        positive = finite & (loss > 0)
        use_log = bool(np.any(finite)) and bool(np.all(loss[finite] >= 0))
        if use_log:
            tiny = float(loss[positive].min()) / 10 if np.any(positive) else 1e-300
            shown = np.log10(np.maximum(np.where(finite, loss, 1.0), max(tiny, 1e-300)))
        else:
            shown = np.where(finite, loss, 0.0)
        self.loss_axis.setLogMode(False, use_log)

        # the diverged row sits a clear step above the highest finite loss
        if np.any(finite):
            top, bottom = float(shown[finite].max()), float(shown[finite].min())
        else:
            top, bottom = 0.0, -1.0
        span = max(top - bottom, 1.0 if use_log else abs(top) * 0.1 or 1.0)
        row = math.floor(top) + 3.0 if use_log else top + 0.18 * span
        rule = (math.floor(top) + 1.0 + row) / 2 if use_log else top + 0.09 * span

        idx = np.flatnonzero(finite)
        connect = np.append(np.diff(idx) == 1, False) if idx.size else np.empty(0, bool)
        self.loss_line.setData(x[idx], shown[idx], connect=connect)
        colors = [OUTCOME_COLORS[r.outcome[i]] for i in idx]
        self.loss_points.setData(
            x[idx], shown[idx], symbolBrush=colors, symbolPen=None, symbolSize=5
        )
        gone = np.flatnonzero(~finite)
        self.diverged_points.setData(x[gone], np.full(gone.size, row))
        self.loss_axis.set_rows({row: "diverged"}, rule)
        self.diverged_rule.setValue(rule)
        self.diverged_rule.setVisible(True)

        conv = np.array([n is not None for n in s.steps_to_converge])
        steps = np.array([n if n is not None else 0 for n in s.steps_to_converge], float)
        cidx = np.flatnonzero(conv)
        sconnect = np.append(np.diff(cidx) == 1, False) if cidx.size else np.empty(0, bool)
        self.steps_points.setData(x[cidx], steps[cidx], connect=sconnect)
        self.max_steps_line.show()  # (a hidden line does not update its label)
        self.max_steps_line.setValue(s.max_steps)

        if r.cliff is not None:
            for region in self.regions:
                region.setRegion((math.log10(r.cliff), float(x[-1]) + 1.0))
                region.show()
        self._draw_thresholds(r, float(x[0]), float(x[-1]))

        self.loss_plot.setTitle(
            f"<span style='color:{TEXT_COLOR}'>{r.label} from {_point(s.start)}, "
            f"{s.max_steps} steps</span>",
            size="9pt",
        )
        pad = 0.02 * (x[-1] - x[0]) if x.size > 1 else 0.5
        self.loss_plot.setRange(
            xRange=(float(x[0]) - pad, float(x[-1]) + pad),
            yRange=(
                (math.floor(bottom) - 0.5, row + 0.8)
                if use_log
                else (bottom - 0.08 * span, row + 0.08 * span)
            ),
            padding=0,
        )
        self.steps_plot.setRange(yRange=(0, s.max_steps * 1.1), padding=0)

    def _draw_thresholds(self, r: SweepResult, x0: float, x1: float) -> None:
        positions = (0.93, 0.78, 0.63, 0.48)
        shown = 0
        for label, eta, binding in r.thresholds:
            pos = math.log10(eta)
            if not x0 <= pos <= x1:
                continue
            is_cliff = label.startswith("2")  # 2η_opt, 2/λ
            color = CLIFF_COLOR if is_cliff else ETA_OPT_COLOR
            width = 2.0 if binding else 1.3
            style = Qt.PenStyle.SolidLine if is_cliff else Qt.PenStyle.DashLine
            if not binding and is_cliff:
                style = Qt.PenStyle.DashDotLine
            near_left = (pos - x0) < 0.3 * (x1 - x0)
            anchor = (-0.05, 0.5) if near_left else (1.05, 0.5)
            for plot, labelled in ((self.loss_plot, True), (self.steps_plot, False)):
                line = pg.InfiniteLine(
                    pos=pos,
                    angle=90,
                    pen=pg.mkPen(color, width=width, style=style),
                    label=f"{label} = {g(eta)}" if labelled else None,
                    labelOpts={
                        "position": positions[shown % len(positions)],
                        "color": color,
                        "fill": pg.mkBrush(30, 30, 36, 220),
                        # labels left of their line, unless that runs off the plot
                        "anchors": [anchor, anchor],
                    }
                    if labelled
                    else None,
                )
                line.setZValue(-5)
                plot.addItem(line, ignoreBounds=True)
                self.eta_lines.append(line)
            shown += 1


def _key_html() -> str:
    """The plot's colour key as one line of rich text."""
    dot = "<span style='color:{}; font-size:13pt'>{}</span>&nbsp;{}"
    items = [
        dot.format(OUTCOME_COLORS["converged"], "●", "reached tol"),
        dot.format(OUTCOME_COLORS["decreasing"], "●", "loss went down"),
        dot.format(OUTCOME_COLORS["grew"], "●", "loss went up"),
        dot.format(OUTCOME_COLORS["diverged"], "✕", "diverged"),
        dot.format(ETA_OPT_COLOR, "┆", "η_opt"),
        dot.format(CLIFF_COLOR, "│", "2η_opt (GD theory)"),
    ]
    return "&nbsp;&nbsp; ".join(items)


def _sweepable(spec: OptimizerSpec) -> bool:
    return spec.order == 1 and spec.batched and any(p.name == "lr" for p in spec.params)


def fill_optimizer_box(
    box: QComboBox,
    racers: Sequence[RacerConfig],
    accept: Callable[[OptimizerSpec], bool] | None = None,
) -> None:
    """Fill an optimizer choice without emitting signals: the racers (data ``racer:<id>``), a
    separator, then every registry optimizer with its defaults (``registry:<name>``); only
    optimizers ``accept`` takes, if given. The current entry stays chosen if it is still there,
    else the first."""
    current = box.currentData()
    box.blockSignals(True)
    box.clear()
    for r in racers:
        if accept is None or accept(optimizer_spec(r.optimizer)):
            box.addItem(color_icon(r.color), r.title, f"racer:{r.racer_id}")
    if box.count():
        box.insertSeparator(box.count())
    for spec in OPTIMIZERS.values():
        if accept is None or accept(spec):
            box.addItem(f"{spec.title} (defaults)", f"registry:{spec.name}")
    index = box.findData(current) if current is not None else -1
    box.setCurrentIndex(index if index >= 0 else 0)
    box.blockSignals(False)


def chosen_entry(
    box: QComboBox, racers: Sequence[RacerConfig]
) -> RacerConfig | OptimizerSpec | None:
    """The racer or registry optimizer chosen in a box filled by :func:`fill_optimizer_box`
    (None: no entry, or a racer that is gone)."""
    data = box.currentData()
    if data is None:
        return None
    kind, key = str(data).split(":", 1)
    if kind == "racer":
        return next((r for r in racers if str(r.racer_id) == key), None)
    return optimizer_spec(key)


def color_icon(color: str, size: int = 12) -> QIcon:
    """A small square swatch for combo boxes and legends."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#202020"))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


def _point(p: np.ndarray) -> str:
    return "(" + ", ".join(g(float(v)) for v in p) + ")"

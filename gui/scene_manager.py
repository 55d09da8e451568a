"""Scenes in the window: build objectives (user expressions off the GUI thread), apply a Scenario
(file, lesson, last session) to the panels and the race, capture the current state as a Scenario,
and open/save scene files. Nothing changes until the new scene has fully validated and built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from engine.objective import Objective
from engine.objectives import get_objective
from engine.optimizers import optimizer_spec
from engine.scenario import (
    ObjectiveSpec,
    RacerSpec,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario_text,
    save_scenario,
    scenario_to_json,
)
from gui import theme
from gui.jobs import JobRunner
from gui.racers import RacerConfig

log = logging.getLogger(__name__)
SETTINGS_KEY = "scene/last"


@dataclass(frozen=True)
class BuiltObjective:
    """An objective ready to show, plus the derivatives text for user expressions."""

    spec: ObjectiveSpec
    objective: Objective
    derivatives: str = ""


def build(spec: ObjectiveSpec) -> BuiltObjective:
    """Build the objective a spec names (runs in the job thread for expressions)."""
    if spec.kind == "builtin":
        return BuiltObjective(spec, get_objective(spec.name, **dict(spec.params)))
    from engine.expressions import objective_from_expression, parse_expression

    parsed = parse_expression(spec.expression, dim=spec.dim)
    domain = spec.domain[: parsed.dim] if spec.domain else None
    objective = objective_from_expression(spec.expression, domain=domain, dim=parsed.dim)
    resolved = ObjectiveSpec("expression", expression=spec.expression, domain=domain, dim=spec.dim)
    text = f"{parsed.gradient_text}\n\n{parsed.hessian_text}"
    return BuiltObjective(resolved, objective, text)


def racer_from_spec(spec: RacerSpec, index: int, used: set[str]) -> RacerConfig:
    color = spec.color or theme.color_for(spec.optimizer, index)
    if spec.color is None and color in used:
        color = next((c for c in theme.RACER_COLORS if c not in used), color)
    return RacerConfig(
        spec.optimizer, MappingProxyType(dict(spec.params)), color, spec.label or "", spec.enabled
    )


def racer_to_spec(racer: RacerConfig) -> RacerSpec:
    defaults = optimizer_spec(racer.optimizer).defaults()
    params = {k: v for k, v in racer.params.items() if defaults.get(k) != v}
    return RacerSpec(
        racer.optimizer, MappingProxyType(params), racer.color, racer.label or None, racer.enabled
    )


class SceneManager(QObject):
    """The window's scene: what is shown, how it got there, and how to save it."""

    objectiveShown = Signal(object)  # BuiltObjective
    sceneApplied = Signal(object)  # Scenario
    error = Signal(str, str)  # title, message (the window shows it where the user looks)

    def __init__(self, window: Any, jobs: JobRunner) -> None:
        super().__init__(window)
        self.window = window
        self.jobs = jobs
        self.spec: ObjectiveSpec | None = None
        self.title = ""
        self.explanation = ""
        self.look_at = ""
        self.lesson: int | None = None
        self.path: Path | None = None
        self._pending: dict[int, Callable[[Any], None]] = {}
        self._pending_errors: dict[int, Callable[[str], None]] = {}
        jobs.finished.connect(self._job_finished)
        jobs.failed.connect(self._job_failed)

    # -- objectives ------------------------------------------------------------------------------
    def request_objective(self, spec: ObjectiveSpec) -> None:
        """From the function panel: show another surface; a bad expression keeps the old one."""

        def shown(built: BuiltObjective) -> None:
            self._show(built, None)
            self.title = built.objective.title
            self.explanation = self.look_at = ""
            self.lesson = None
            self.window.set_scene_name(built.objective.title)
            self.window.restart_after_objective_change()

        self._build_then(spec, shown, self.window.function_panel.show_expression_error)

    def _build_then(
        self,
        spec: ObjectiveSpec,
        done: Callable[[BuiltObjective], None],
        failed: Callable[[str], None],
    ) -> None:
        if spec.kind == "builtin":  # instant: keep sliders live
            try:
                built = build(spec)
            except ValueError as exc:
                failed(str(exc))
                return
            done(built)
            return
        self._cancel_pending()
        self.window.statusBar().showMessage("Deriving ∇E and the Hessian…")
        job = self.jobs.submit(lambda progress, cancelled: build(spec))
        self._pending[job] = done
        self._pending_errors[job] = failed

    def _show(self, built: BuiltObjective, view: tuple[tuple[float, float], ...] | None) -> None:
        self.spec = built.spec
        self.window.function_panel.show_spec(built.spec)
        self.window.function_panel.editor.show_derivatives(built.derivatives)
        self.window.race.set_scene(built.objective, view)
        self.objectiveShown.emit(built)

    # -- scenarios -------------------------------------------------------------------------------
    def apply_scenario(self, scenario: Scenario, path: Path | None = None) -> None:
        """Show a validated scenario; the current scene stays until its objective is built."""

        def shown(built: BuiltObjective) -> None:
            self._show(built, scenario.view)
            self.path = path
            self.title, self.explanation = scenario.title, scenario.explanation
            self.look_at, self.lesson = scenario.look_at, scenario.lesson
            used: set[str] = set()
            racers = []
            for i, spec in enumerate(scenario.racers):
                racer = racer_from_spec(spec, i, used)
                used.add(racer.color)
                racers.append(racer)
            w = self.window
            w.transport.max_steps.blockSignals(True)
            w.transport.max_steps.setValue(scenario.max_steps)
            w.transport.max_steps.blockSignals(False)
            w.race.max_steps = scenario.max_steps
            w.transport.set_speed(scenario.speed)
            w.set_overlays(scenario.overlays)
            w.racers_panel.set_racers(racers)
            start = scenario.start or _centre(w.race.view)
            w.race.start_at(start, play=False)
            w.set_scene_name(scenario.title)
            if path is not None:  # a file, not a lesson from the navigator
                w.lesson_panel.clear_selection()
                w.statusBar().showMessage(f"Opened {path.name}", 5000)
            self.sceneApplied.emit(scenario)

        def failed(message: str) -> None:
            where = path.name if path else scenario.title
            self.error.emit("Could not open the scene", f"{where}: objective: {message}")

        self._build_then(scenario.objective, shown, failed)

    def capture(self) -> Scenario:
        """The current window state as a Scenario (for Save and for the next start)."""
        w = self.window
        race = w.race
        spec = self.spec or ObjectiveSpec("builtin", "himmelblau")
        return Scenario(
            objective=spec,
            title=(self.title or (race.objective.title if race.objective else "Scene"))[:120],
            explanation=self.explanation,
            view=tuple(tuple(r) for r in race.view) if race.view else None,
            start=tuple(race.start) if race.start else None,
            racers=tuple(racer_to_spec(r) for r in w.racers_panel.racers)[:16],
            overlays=tuple(w.enabled_overlays()),
            speed=w.transport.speed_value(),
            max_steps=int(w.transport.max_steps.value()),
            look_at=self.look_at,
            lesson=self.lesson,
        )

    # -- files -----------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> None:
        """Load and validate in the job thread; report problems in a dialog; keep the scene."""
        path = Path(path)

        def done(scenario: Scenario) -> None:
            self.apply_scenario(scenario, path)

        def failed(message: str) -> None:
            self.error.emit("Could not open the scene", message)

        job = self.jobs.submit(lambda progress, cancelled: load_scenario(path))
        self._pending[job] = done
        self._pending_errors[job] = failed

    def save_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            save_scenario(self.capture(), path)
        except ScenarioError as exc:  # its text already starts with the file name
            self.error.emit("Could not save the scene", str(exc))
            return False
        except (OSError, ValueError) as exc:
            self.error.emit("Could not save the scene", f"{path.name}: {exc}")
            return False
        self.path = path
        self.window.statusBar().showMessage(f"Saved {path.name}", 5000)
        return True

    def remember(self) -> None:
        """Keep the current scene for the next start (QSettings)."""
        try:
            QSettings().setValue(SETTINGS_KEY, scenario_to_json(self.capture()))
        except (ScenarioError, ValueError) as exc:
            log.warning("could not remember the scene: %s", exc)

    def restore(self) -> bool:
        """Reopen the last session's scene; a broken one is reported and the default stays."""
        text = QSettings().value(SETTINGS_KEY)
        if not text:
            return False
        try:
            scenario = parse_scenario_text(str(text), source="last session's scene")
        except ScenarioError as exc:
            self.window.statusBar().showMessage(f"Could not restore the last scene: {exc}", 15000)
            return False
        self.apply_scenario(scenario)
        return True

    # -- job plumbing ----------------------------------------------------------------------------
    def _job_finished(self, job: int, result: Any) -> None:
        done = self._pending.pop(job, None)
        self._pending_errors.pop(job, None)
        if done is not None:
            self.window.statusBar().clearMessage()
            done(result)

    def _job_failed(self, job: int, message: str) -> None:
        failed = self._pending_errors.pop(job, None)
        self._pending.pop(job, None)
        if failed is not None:
            self.window.statusBar().clearMessage()
            failed(_strip_type(message))

    def _cancel_pending(self) -> None:
        for job in list(self._pending):
            self.jobs.cancel(job)
            self._pending.pop(job, None)
            self._pending_errors.pop(job, None)


def _strip_type(message: str) -> str:
    """'ExpressionError: unknown name …' -> 'unknown name …' for the user."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.isidentifier() and head[0].isupper() else message


def _centre(view: tuple[tuple[float, float], ...]) -> tuple[float, ...]:
    return tuple(0.5 * (lo + hi) for lo, hi in view)

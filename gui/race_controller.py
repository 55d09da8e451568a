"""The race controller: the GUI-side state of a race (scene, racers, start, histories, rewind
cursor), the worker thread's commands, and drawing at most once per frame.

It holds no optimizer math: the worker computes, this object stores what arrives and draws it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from engine.objective import Objective
from engine.run import StepRecord
from gui.canvas import SurfaceCanvas
from gui.history import RacerHistory
from gui.loss_plot import LossPlot
from gui.racers import RacerConfig
from gui.racers_panel import RacersPanel
from gui.worker import RaceBatch, RaceSetup, RaceThread, SurfaceRequest

log = logging.getLogger(__name__)
FRAME_MS = 16
READOUT_PERIOD_S = 0.1


def badge_for(record: StepRecord) -> tuple[str, str]:
    """(text, colour key) of a racer's status badge."""
    name, kind = record.status_name(0), record.kind[0] if record.kind else ""
    if name == "converged":
        if kind in ("saddle", "maximum"):
            return f"{kind} reached", kind
        if kind == "degenerate":
            return "stationary (degenerate)", "saddle"
        return "converged", "converged"
    return {
        "running": ("running", "running"),
        "diverged": ("diverged", "diverged"),
        "max_steps": ("max steps", "max_steps"),
        "failed": ("failed", "failed"),
    }[name]


def readout_for(record: StepRecord) -> str:
    text = f"k = {record.iteration}   E = {record.f[0]:.5g}   ‖∇E‖ = {record.grad_norm[0]:.3g}"
    message = record.messages.get(0)
    return f"{text}\n{message}" if message else text


class RaceController(QObject):
    playingChanged = Signal(bool)
    statusMessage = Signal(str)
    frameDrawn = Signal()
    raceStarted = Signal(object)  # the start point

    def __init__(
        self,
        canvas: SurfaceCanvas,
        loss_plot: LossPlot,
        racers: RacersPanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas, self.loss_plot, self.racers_panel = canvas, loss_plot, racers
        self.thread = RaceThread(self)
        worker = self.thread.worker
        worker.batchReady.connect(self.on_batch)
        worker.surfaceReady.connect(self.on_surface)
        worker.racerError.connect(self.on_racer_error)
        worker.playingChanged.connect(self.on_playing_changed)
        self.objective: Objective | None = None
        self.view: tuple[tuple[float, float], ...] = ()
        self.racers: tuple[RacerConfig, ...] = ()
        self.start: tuple[float, ...] | None = None
        self.histories: dict[int, RacerHistory] = {}
        self.cursor: int | None = None  # rewound to this iteration; None = live
        self.generation = 0
        self.surface_generation = 0
        self.max_steps = 500
        self.playing = False
        self._dirty = False
        self._readouts_at = 0.0
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.draw_frame)
        self.frame_timer.start()

    # -- scene -------------------------------------------------------------------------------------
    def set_scene(
        self, objective: Objective, view: tuple[tuple[float, float], ...] | None = None
    ) -> None:
        """Show a new objective: racers reset, the surface is computed in the worker."""
        self.objective = objective
        self.view = tuple(view) if view else objective.domain
        self._invalidate()
        self.start = None
        self.canvas.set_objective(objective, self.view)
        self.request_surface()

    def request_surface(self, resolution: int = 512) -> None:
        if self.objective is None:
            return
        self.surface_generation += 1
        y_range = self.view[1] if self.objective.dim == 2 else None
        self.thread.surfaceRequested.emit(
            SurfaceRequest(
                self.surface_generation, self.objective, self.view[0], y_range, resolution
            )
        )

    @Slot(object)
    def on_surface(self, surface) -> None:
        if surface.generation == self.surface_generation:
            self.canvas.show_surface(surface)
            self.frameDrawn.emit()

    def set_racers(self, racers: tuple[RacerConfig, ...]) -> None:
        """The racer list changed (added, removed, toggled, recoloured): restart from the start."""
        self.racers = tuple(racers)
        shown = {r.racer_id: (r.color, r.title) for r in racers if r.enabled}
        self.canvas.set_racers(shown)
        self.loss_plot.set_racers(shown)
        if self.start is not None:
            self.start_at(self.start, play=self.playing)
        else:
            self._invalidate()

    # -- race --------------------------------------------------------------------------------------
    def start_at(self, point: tuple[float, ...], play: bool = True) -> None:
        """Every enabled racer starts from ``point`` at once."""
        if self.objective is None:
            return
        point = tuple(float(v) for v in point)
        self._invalidate()
        self.start = point
        self.canvas.set_start(point)
        enabled = tuple(r for r in self.racers if r.enabled)
        self.histories = {r.racer_id: RacerHistory(self.objective.dim) for r in enabled}
        self.thread.setupRequested.emit(
            RaceSetup(self.generation, self.objective, enabled, point, self.max_steps)
        )
        self.raceStarted.emit(point)
        if play:
            self._set_playing(True)
            self.thread.playRequested.emit()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.start is None:
            self.statusMessage.emit("Click on the surface to choose a start point.")
            return
        self._resume_from_cursor()
        self._set_playing(True)  # at once: the worker confirms (or corrects) it
        self.thread.playRequested.emit()

    def pause(self) -> None:
        self._set_playing(False)  # at once, so that Space right after Left plays again
        self.thread.pauseRequested.emit()

    def step(self) -> None:
        """One iteration forward: replay stored history when rewound, else compute one step."""
        if self.start is None:
            return
        if self.cursor is not None:
            self.cursor += 1
            if self.cursor >= self._latest():
                self.cursor = None
            self._dirty = True
            return
        self.thread.stepRequested.emit()

    def step_back(self) -> None:
        """Rewind one iteration through the stored trajectory."""
        if self.start is None or not self.histories:
            return
        self.pause()
        shown = self._latest() if self.cursor is None else self.cursor
        self.cursor = max(0, shown - 1)
        self._dirty = True

    def reset(self) -> None:
        """Clear trails; the start point stays so Space starts the same race again."""
        start = self.start
        self._invalidate()
        self.start = start
        if start is not None:
            self.start_at(start, play=False)

    def set_speed(self, steps_per_second: float) -> None:
        self.thread.speedRequested.emit(float(steps_per_second))

    def set_max_steps(self, steps: int) -> None:
        self.max_steps = int(steps)
        if self.start is not None:
            self.start_at(self.start, play=self.playing)

    def edit_params(self, racer_id: int, changes: dict[str, Any]) -> None:
        """Apply a racer's parameter change from the next step on."""
        self.racers = tuple(self.racers_panel.racers)
        if self.start is None:
            return
        self._resume_from_cursor()
        self.thread.paramsRequested.emit(racer_id, dict(changes))
        title = {r.racer_id: (r.color, r.title) for r in self.racers if r.enabled}
        self.canvas.set_racers(title)
        self.loss_plot.set_racers(title)
        self._dirty = True

    def shutdown(self) -> None:
        self.frame_timer.stop()
        self.generation += 1
        self.thread.stop()

    # -- worker results ----------------------------------------------------------------------------
    @Slot(object)
    def on_batch(self, batch: RaceBatch) -> None:
        if batch.generation != self.generation:
            return  # computed for a scene that has since been reset
        first_step = False
        for update in batch.updates:
            history = self.histories.get(update.racer_id)
            if history is not None:
                first_step |= history.count <= 1
                history.extend(update.records)
        self._dirty = True
        if first_step:  # the start and the first step of a race are drawn at once, not next frame
            self.draw_frame()

    @Slot(int, str)
    def on_racer_error(self, racer_id: int, message: str) -> None:
        self.racers_panel.set_status(racer_id, "error", "failed", message)
        self.statusMessage.emit(message)

    @Slot(bool)
    def on_playing_changed(self, playing: bool) -> None:
        self._set_playing(playing)

    def _set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = playing
            if not playing:
                self._dirty = True  # the next frame shows the exact readouts
            self.playingChanged.emit(playing)

    # -- drawing -----------------------------------------------------------------------------------
    @Slot()
    def draw_frame(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        now = time.perf_counter()
        readouts = not self.playing or now - self._readouts_at >= READOUT_PERIOD_S
        if readouts:
            self._readouts_at = now
        pixel = self.canvas.pixel_size() if self.objective and self.objective.dim == 2 else None
        for rid, history in self.histories.items():
            if history.count == 0:
                continue
            upto = self.cursor
            settled = history.settled_until(upto)
            self.canvas.set_trail(
                rid,
                (settled, pixel, history.epoch),
                lambda h=history, s=settled: h.trail(s, pixel=pixel),
                history.trail(upto, pixel=pixel, start=settled),
            )
            self.loss_plot.set_losses(rid, history.losses(upto), (settled, history.epoch))
            record = history.record_at(
                history.shown_iteration if upto is None else min(upto, history.latest_iteration)
            )
            if record is not None:
                text, key = badge_for(record)
                # numbers that change 60 times a second cannot be read: while racing, the
                # readouts follow at 10 Hz (badges at once); paused, every frame is exact
                if readouts or key != "running":
                    self.racers_panel.set_status(rid, text, key, readout_for(record))
                self.canvas.set_racer_status(rid, "" if key == "running" else text)
        self.canvas.draw_heads()
        self.frameDrawn.emit()

    def shown_record(self, racer_id: int) -> StepRecord | None:
        shown = self._shown(racer_id)
        return None if shown is None else shown[0].record_at(shown[1])

    def shown_point(self, racer_id: int) -> np.ndarray | None:
        shown = self._shown(racer_id)
        return None if shown is None else shown[0].point(shown[1])

    # -- internals ---------------------------------------------------------------------------------
    def _shown(self, racer_id: int) -> tuple[RacerHistory, int] | None:
        """A racer's history and the iteration of it on screen (the cursor, clipped to the
        racer's end; its latest without a cursor), or None if it has no point yet."""
        history = self.histories.get(racer_id)
        if history is None or history.count == 0:
            return None
        k = (
            history.latest_iteration
            if self.cursor is None
            else min(self.cursor, history.latest_iteration)
        )
        return history, k

    def _latest(self) -> int:
        return max((h.latest_iteration for h in self.histories.values()), default=0)

    def _resume_from_cursor(self) -> None:
        """Continuing from a rewound point: forget the future and rebuild the runs there."""
        if self.cursor is None:
            return
        k, self.cursor = self.cursor, None
        self.generation += 1  # batches sent before the rewind belong to the dropped future
        for history in self.histories.values():
            history.truncate(k)
        self.thread.rewindRequested.emit(k, self.generation)
        self._dirty = True

    def _invalidate(self) -> None:
        """Drop the current race: anything still in flight from the worker is ignored."""
        self.generation += 1
        self.thread.clearRequested.emit()
        self.histories = {}
        self.cursor = None
        self.canvas.clear_trails()
        self.loss_plot.clear_losses()
        self.racers_panel.reset_statuses()
        self._dirty = True

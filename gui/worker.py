"""The race worker: owns the engine runs and steps them on its own QThread.

The GUI talks to it only through queued signals (start, play, pause, step, edit, rewind) and
receives plain immutable batches (frozen dataclasses of copied numpy arrays) tagged with a
generation number, so anything computed for a scene that has since been reset is dropped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from engine.objective import Objective
from engine.optimizers import make_optimizer
from engine.run import Run, StepRecord
from gui.jobs import _stop_at_exit
from gui.racers import RacerConfig
from gui.surface import compute_surface

log = logging.getLogger(__name__)

FAST_BUDGET_S = 0.012  # "as fast as possible": step for this long, then let events through
TICK_MS = 16
CHECKPOINT_EVERY = 256  # a rewind replays at most this many steps per racer


@dataclass(frozen=True)
class RacerUpdate:
    racer_id: int
    records: tuple[StepRecord, ...]


@dataclass(frozen=True)
class RaceBatch:
    generation: int
    updates: tuple[RacerUpdate, ...]
    all_done: bool


@dataclass(frozen=True)
class RaceSetup:
    """Everything needed to (re)start a race: sent once per click / reset."""

    generation: int
    objective: Objective
    racers: tuple[RacerConfig, ...]
    start: tuple[float, ...]
    max_steps: int


@dataclass(frozen=True)
class SurfaceRequest:
    generation: int
    objective: Objective
    x_range: tuple[float, float]
    y_range: tuple[float, float] | None
    resolution: int = 512


@dataclass
class _Lane:
    """One racer's live run plus the parameter log needed to rebuild it at an earlier step."""

    config: RacerConfig
    run: Run
    param_log: list[tuple[int, dict[str, Any]]]
    checkpoints: list[Run] = field(default_factory=list)  # clones every CHECKPOINT_EVERY steps


class RaceWorker(QObject):
    """Steps all racers; lives in a worker thread (see RaceThread)."""

    batchReady = Signal(object)  # RaceBatch
    surfaceReady = Signal(object)  # SurfaceData
    racerError = Signal(int, str)  # racer_id, message
    playingChanged = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._lanes: dict[int, _Lane] = {}
        self._setup: RaceSetup | None = None
        self._speed = 30.0  # steps per second; 0 = as fast as possible
        self._credit = 0.0
        self._last_tick = 0.0
        self._playing = False

    # -- commands (queued from the GUI thread) -----------------------------------------------------
    @Slot(object)
    def setup_race(self, setup: RaceSetup) -> None:
        """Create one run per enabled racer from the start point; emits the start records."""
        self._setup = setup
        self._lanes = {}
        first: list[RacerUpdate] = []
        for cfg in setup.racers:
            if not cfg.enabled:
                continue
            try:
                run = Run(
                    setup.objective,
                    make_optimizer(cfg.optimizer, **cfg.params),
                    setup.start,
                    max_steps=setup.max_steps,
                    record_hessian=True,
                )
            except Exception as exc:
                log.exception("racer %s could not start", cfg.racer_id)
                self.racerError.emit(cfg.racer_id, f"{type(exc).__name__}: {exc}")
                continue
            self._lanes[cfg.racer_id] = _Lane(cfg, run, [])
            first.append(RacerUpdate(cfg.racer_id, (run.first,)))
        self.batchReady.emit(RaceBatch(setup.generation, tuple(first), self._all_done()))

    @Slot()
    def clear(self) -> None:
        self.pause()
        self._lanes = {}
        self._setup = None

    @Slot()
    def play(self) -> None:
        if not self._lanes or self._all_done():
            self._timer.stop()
            self._playing = False
            self.playingChanged.emit(False)  # even if unchanged: the GUI already shows "playing"
            return
        self._credit = 0.0
        self._last_tick = time.perf_counter()
        self._timer.start()
        self._set_playing(True)
        # the first step right away: a click shows movement within one frame, not one step period
        self._emit_steps(1 if self._speed > 0 else None)

    @Slot()
    def pause(self) -> None:
        self._timer.stop()
        self._set_playing(False)

    @Slot()
    def step_once(self) -> None:
        self.pause()
        self._emit_steps(1)

    @Slot(float)
    def set_speed(self, steps_per_second: float) -> None:
        self._speed = max(0.0, float(steps_per_second))

    @Slot(int, object)
    def set_params(self, racer_id: int, params: dict[str, Any]) -> None:
        """Apply parameter edits from the next step on."""
        lane = self._lanes.get(racer_id)
        if lane is None:
            return
        try:
            lane.run.set_params(**params)
        except ValueError as exc:
            self.racerError.emit(racer_id, str(exc))
            return
        lane.param_log.append((lane.run.iteration, dict(params)))

    @Slot(int, int)
    def rewind_to(self, iteration: int, generation: int) -> None:
        """Rebuild every run at ``iteration`` (replaying its parameter log): a true rewind.
        Replays from the last checkpoint at or before it, so at most CHECKPOINT_EVERY steps."""
        if self._setup is None:
            return
        self.pause()
        for lane in self._lanes.values():
            target = min(iteration, lane.run.iteration)
            log_kept = [(k, p) for k, p in lane.param_log if k <= target]
            lane.checkpoints = [c for c in lane.checkpoints if c.iteration <= target]
            if lane.checkpoints:
                run = lane.checkpoints[-1].clone()
                # a checkpoint is taken right after its step, before any edit logged at it
                pending = [(k, p) for k, p in log_kept if k >= run.iteration]
            else:
                run = Run(
                    self._setup.objective,
                    make_optimizer(lane.config.optimizer, **lane.config.params),
                    self._setup.start,
                    max_steps=self._setup.max_steps,
                    record_hessian=True,
                )
                pending = list(log_kept)
            while run.iteration < target and not run.done:
                while pending and pending[0][0] <= run.iteration:
                    run.set_params(**pending.pop(0)[1])
                run.step()
            for _, params in pending:
                run.set_params(**params)
            lane.run, lane.param_log = run, log_kept
        self._setup = replace(self._setup, generation=generation)

    @Slot(object)
    def compute_surface(self, request: SurfaceRequest) -> None:
        try:
            data = compute_surface(
                request.objective,
                request.x_range,
                request.y_range,
                request.resolution,
                request.generation,
            )
        except Exception:
            log.exception("surface computation failed")
            return
        self.surfaceReady.emit(data)

    @Slot()
    def shutdown(self) -> None:
        self._timer.stop()
        self._lanes = {}

    # -- stepping --------------------------------------------------------------------------------
    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        elapsed, self._last_tick = now - self._last_tick, now
        if self._speed <= 0:
            self._emit_steps(None)
        else:
            self._credit = min(self._credit + elapsed * self._speed, max(1.0, self._speed / 10))
            count = math.floor(self._credit)
            if count:
                self._credit -= count
                self._emit_steps(count)
        if self._all_done():
            self.pause()

    def _emit_steps(self, count: int | None) -> None:
        """Advance every running lane ``count`` steps (None: as many as fit the time budget)."""
        if self._setup is None:
            return
        collected: dict[int, list[StepRecord]] = {rid: [] for rid in self._lanes}
        deadline = time.perf_counter() + FAST_BUDGET_S
        done = 0
        while (count is None or done < count) and not self._all_done():
            for rid, lane in self._lanes.items():
                if not lane.run.done:
                    record = lane.run.step()
                    collected[rid].append(record)
                    if record.iteration % CHECKPOINT_EVERY == 0:
                        lane.checkpoints.append(lane.run.clone())  # before any edit at this step
                    if record.status_name(0) == "failed":
                        _log_failure(lane, record)
            done += 1
            if count is None and time.perf_counter() >= deadline:
                break
        updates = tuple(RacerUpdate(rid, tuple(recs)) for rid, recs in collected.items() if recs)
        if updates:
            self.batchReady.emit(RaceBatch(self._setup.generation, updates, self._all_done()))

    def _all_done(self) -> bool:
        return all(lane.run.done for lane in self._lanes.values())

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playingChanged.emit(playing)


def _log_failure(lane: _Lane, record: StepRecord) -> None:
    """A racer stopped because a step failed (the objective or the optimizer raised, a refused
    step): the badge shows it, the log keeps it."""
    log.warning(
        "racer %s (%s) failed at step %d: %s",
        lane.config.racer_id,
        lane.config.title,
        record.iteration,
        record.messages.get(0, "unknown error"),
    )


class RaceThread(QObject):
    """Owns the QThread and the worker; forwards commands as queued signals; stops cleanly."""

    setupRequested = Signal(object)
    clearRequested = Signal()
    playRequested = Signal()
    pauseRequested = Signal()
    stepRequested = Signal()
    speedRequested = Signal(float)
    paramsRequested = Signal(int, object)
    rewindRequested = Signal(int, int)  # iteration, new generation
    surfaceRequested = Signal(object)
    shutdownRequested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("DescentLab race worker")
        self.worker = RaceWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        w = self.worker
        self.setupRequested.connect(w.setup_race)
        self.clearRequested.connect(w.clear)
        self.playRequested.connect(w.play)
        self.pauseRequested.connect(w.pause)
        self.stepRequested.connect(w.step_once)
        self.speedRequested.connect(w.set_speed)
        self.paramsRequested.connect(w.set_params)
        self.rewindRequested.connect(w.rewind_to)
        self.surfaceRequested.connect(w.compute_surface)
        # blocking: the timer must be stopped in its own thread before the thread ends
        self.shutdownRequested.connect(w.shutdown, Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.start()
        self._stopped = False
        _stop_at_exit(self, "stop")

    def stop(self) -> None:
        """Stop the worker's timer in its own thread, then end the thread and wait for it."""
        if self._stopped:
            return
        self._stopped = True
        self.shutdownRequested.emit()
        self.thread.quit()
        self.thread.wait()

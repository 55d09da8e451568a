"""Per-racer trajectory history: compact growing arrays, a rewind cursor, decimated trails.

Only the latest full StepRecords are kept (for overlays and readouts); positions and losses are
stored as plain arrays so a 100,000-step run costs a few megabytes, not a million objects.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from engine.run import StepRecord

FULL_RECORDS_KEPT = 2000
TRAIL_POINTS = 3000  # most points drawn per trail; older parts are thinned
SETTLE_BLOCK = 256  # trails and loss curves are drawn as a cached settled part + a live tail


def thin_trail(
    points: np.ndarray, pixel: tuple[float, ...] | None, budget: int = TRAIL_POINTS
) -> np.ndarray:
    """A path's points to draw, so that drawing cost stays flat however long the run:
    consecutive points within one screen pixel of each other are merged (``pixel`` = data units
    per pixel), and a path still longer than ``budget`` keeps its recent half in full and thins
    the older part. The first and last points are always kept."""
    pts = points
    if pixel is not None and len(pts) > 2:
        # column by column: np.any(..., axis=1) over a short last axis is ~10x slower, and
        # this runs over the whole settled path every SETTLE_BLOCK steps
        scale = np.asarray(pixel, float)
        keep = np.zeros(len(pts), bool)
        for j in range(pts.shape[1]):
            cells = np.floor(pts[:, j] / scale[j])
            keep[1:] |= cells[1:] != cells[:-1]
        keep[0] = keep[-1] = True
        pts = pts[keep]
    if len(pts) <= budget:
        return pts
    recent = budget // 2
    old = pts[: len(pts) - recent]
    stride = int(np.ceil(len(old) / (budget - recent)))
    return np.concatenate([old[::stride], pts[len(pts) - recent :]])


class RacerHistory:
    """Everything one racer has done so far in this race."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._x = np.empty((1024, dim))
        self._f = np.empty(1024)
        self._g = np.empty(1024)
        self.count = 0  # number of stored points (iterations 0..count-1)
        self.cursor: int | None = None  # None: follow the latest; else the shown iteration
        self.epoch = 0  # bumped when the stored past changes (truncation), to invalidate caches
        self._records: deque[StepRecord] = deque(maxlen=FULL_RECORDS_KEPT)

    # -- writing ---------------------------------------------------------------------------------
    def extend(self, records: tuple[StepRecord, ...]) -> None:
        for rec in records:
            if rec.iteration < self.count:  # a record we already hold (e.g. a stopped run)
                continue
            if self.count == self._x.shape[0]:
                self._grow()
            self._x[self.count] = rec.x[0]
            self._f[self.count] = rec.f[0]
            self._g[self.count] = rec.grad_norm[0]
            self.count += 1
            self._records.append(rec)

    def truncate(self, iteration: int) -> None:
        """Forget everything after ``iteration`` (a rewind that the user then continues from)."""
        self.count = min(self.count, iteration + 1)
        self.epoch += 1
        while self._records and self._records[-1].iteration > iteration:
            self._records.pop()
        self.cursor = None

    def _grow(self) -> None:
        size = self._x.shape[0] * 2
        self._x = np.resize(self._x, (size, self.dim))
        self._f = np.resize(self._f, size)
        self._g = np.resize(self._g, size)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def latest_iteration(self) -> int:
        return self.count - 1

    @property
    def shown_iteration(self) -> int:
        return (
            self.latest_iteration
            if self.cursor is None
            else min(self.cursor, self.latest_iteration)
        )

    def record_at(self, iteration: int) -> StepRecord | None:
        """The full record of an iteration, if still kept."""
        if not self._records:
            return None
        first = self._records[0].iteration
        index = iteration - first
        if 0 <= index < len(self._records) and self._records[index].iteration == iteration:
            return self._records[index]
        for rec in self._records:
            if rec.iteration == iteration:
                return rec
        return None

    def shown_record(self) -> StepRecord | None:
        return self.record_at(self.shown_iteration)

    def latest_record(self) -> StepRecord | None:
        return self._records[-1] if self._records else None

    def point(self, iteration: int) -> np.ndarray:
        return self._x[iteration].copy()

    def positions(self, upto: int | None = None) -> np.ndarray:
        end = self.count if upto is None else min(upto + 1, self.count)
        return self._x[:end]

    def losses(self, upto: int | None = None) -> np.ndarray:
        end = self.count if upto is None else min(upto + 1, self.count)
        return self._f[:end]

    def finished(self) -> bool:
        """The run has stopped (converged, diverged, failed, out of steps): nothing will follow."""
        record = self.latest_record()
        return record is not None and record.status_name() != "running"

    def settled_until(self, upto: int | None = None) -> int:
        """The iteration up to which the drawing is settled (changes every SETTLE_BLOCK steps):
        everything before it is drawn once and cached, only the tail after it is redrawn. A
        finished run shown at its end is settled whole (nothing of it changes any more)."""
        latest = self.latest_iteration
        last = latest if upto is None else min(upto, latest)
        if last == latest and self.finished():
            return max(0, last)
        return max(0, (last // SETTLE_BLOCK) * SETTLE_BLOCK)

    def trail(
        self,
        upto: int | None = None,
        budget: int = TRAIL_POINTS,
        pixel: tuple[float, ...] | None = None,
        start: int = 0,
    ) -> np.ndarray:
        """Positions to draw (from iteration ``start`` up to ``upto``), thinned by
        :func:`thin_trail` so that drawing cost stays flat however long the run."""
        return thin_trail(self.positions(upto)[start:], pixel, budget)

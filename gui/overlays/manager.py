"""OverlayManager: draws the enabled overlays for every shown racer after each frame.

It listens to the race controller's ``frameDrawn`` (and to view changes, since arrow lengths are
a fraction of the visible plot), builds one Frame from the controller's state, and hands it to
each enabled overlay. Racers that disappear, and whole scenes that are reset (histories emptied),
take their overlay items with them.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from gui import theme
from gui.overlays.base import (
    LABEL_WEIGHT,
    NO_OBSTACLES,
    Frame,
    Obstacles,
    Overlay,
    RacerFrame,
    TextPace,
    finite,
    layout_labels,
)
from gui.overlays.gradient import GradientOverlay
from gui.overlays.hessian import HessianOverlay
from gui.overlays.newton_model import NewtonModelOverlay
from gui.overlays.regime import RegimeOverlay
from gui.overlays.rprop_box import RpropBoxOverlay
from gui.overlays.step import StepOverlay

OVERLAY_CLASSES: dict[str, type[Overlay]] = {
    cls.name: cls
    for cls in (
        GradientOverlay,
        StepOverlay,
        NewtonModelOverlay,
        HessianOverlay,
        RpropBoxOverlay,
        RegimeOverlay,
    )
}
DUPLICATE_PX = 3.0  # heads closer than this on screen count as the same spot


class OverlayManager(QObject):
    """Owns one instance of each overlay; ``set_enabled`` switches them on and off."""

    enabledChanged = Signal(str, bool)

    def __init__(self, canvas, controller, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else controller)
        self.canvas = canvas
        self.controller = controller
        self.sizes: theme.Sizes = getattr(canvas, "sizes", theme.NORMAL)
        self.overlays: dict[str, Overlay] = {
            name: cls(canvas.plot, self.sizes) for name, cls in OVERLAY_CLASSES.items()
        }
        self.pace = TextPace()  # while racing, label texts change at 10 Hz (see TextPace)
        for overlay in self.overlays.values():
            overlay.pace = self.pace
        self._enabled: dict[str, bool] = dict.fromkeys(self.overlays, False)
        self._layout_key: tuple = ()
        self._layout_rects: np.ndarray | None = None  # obstacles and label spots (pixels)
        self._layout_spots: np.ndarray | None = None  # at the last layout
        controller.frameDrawn.connect(self.refresh)
        controller.raceStarted.connect(self._race_started)
        canvas.pathShown.connect(self._path_shown)
        canvas.plot.getViewBox().sigRangeChanged.connect(self._view_changed)
        canvas.plot.getViewBox().sigResized.connect(self._view_changed)

    # -- public API -------------------------------------------------------------------------------
    def set_enabled(self, name: str, on: bool) -> None:
        if name not in self.overlays:
            raise KeyError(f"unknown overlay {name!r}; choose one of: {', '.join(self.overlays)}")
        on = bool(on)
        if self._enabled[name] == on:
            return
        self._enabled[name] = on
        if on:
            self.refresh()
        else:
            self.overlays[name].clear()
        self.enabledChanged.emit(name, on)

    def is_enabled(self, name: str) -> bool:
        return self._enabled[name]

    def enabled(self) -> tuple[str, ...]:
        return tuple(name for name, on in self._enabled.items() if on)

    def apply_sizes(self, sizes: theme.Sizes) -> None:
        """Normal / presentation sizes: items are rebuilt at the new sizes."""
        self.sizes = sizes
        for overlay in self.overlays.values():
            overlay.clear()
            overlay.sizes = sizes
        self._layout_key = ()
        self.refresh()

    def clear(self) -> None:
        """Remove every overlay item from the plot (the enabled set is kept)."""
        for overlay in self.overlays.values():
            overlay.clear()

    def items(self) -> list:
        """All overlay graphics items currently in the scene (for tests and tools)."""
        return [item for overlay in self.overlays.values() for item in overlay.items()]

    # -- drawing ----------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        """Redraw the enabled overlays from the controller's shown records."""
        active = [self.overlays[name] for name in self.enabled()]
        if not active:
            return
        demand = sum(len(overlay.labels()) + overlay.text_cost for overlay in active)
        self.pace.advance(bool(getattr(self.controller, "playing", False)), demand)
        frame = self.build_frame()
        if frame is None or not frame.racers:
            for overlay in active:
                overlay.clear()
            return
        for overlay in active:
            overlay.update(frame)
        labels = [label for overlay in active for label in overlay.labels()]
        for label in labels:  # texts held back on an earlier frame, not drawn again this one
            label.catch_up()
        parts = [overlay.obstacle_arrays(frame) for overlay in active]
        parts.append(head_obstacles(frame))
        rects = np.concatenate([r for r, _ in parts])
        weights = np.concatenate([w for _, w in parts])
        # the layout is a function of these: when none changed, or the labels and obstacles
        # moved less than half a pixel since the last layout (racers creeping along), the
        # labels stay where they are
        key = (frame.geometry, weights.tobytes(), tuple(label.layout_key() for label in labels))
        spots = np.array([label.layout_spot(frame) for label in labels], float).reshape(-1, 2)
        if key != self._layout_key or not (
            _close_px(rects, self._layout_rects) and _close_px(spots, self._layout_spots)
        ):
            layout_labels(labels, frame, (rects, weights))
            self._layout_key, self._layout_rects, self._layout_spots = key, rects, spots
        for label in labels:
            label.settle()

    @Slot(object)
    def _race_started(self, _start: object) -> None:
        self.pace.exact_next_frame()  # nothing of the last race's numbers stays on screen

    @Slot(int, bool)
    def _path_shown(self, _racer_id: int, _shown: bool) -> None:
        self.refresh()

    def _view_changed(self, *_: object) -> None:
        if self.enabled():
            self.refresh()

    def build_frame(self) -> Frame | None:
        ctl = self.controller
        objective = ctl.objective
        if objective is None:
            return None
        view_box = self.canvas.plot.getViewBox()
        (x0, x1), (y0, y1) = view_box.viewRange()
        plot_w, plot_h = float(view_box.width()), float(view_box.height())
        if not finite(x0, x1, y0, y1) or x1 <= x0 or y1 <= y0:
            return None
        px, py = (x1 - x0) / max(plot_w, 1.0), (y1 - y0) / max(plot_h, 1.0)
        configs = {r.racer_id: r for r in ctl.racers}
        racers: list[RacerFrame] = []
        heads_px: list[tuple[float, float]] = []
        for rid, history in list(ctl.histories.items()):
            config = configs.get(rid)
            if config is None or not config.enabled or history.count == 0:
                continue
            if not self.canvas.path_shown(rid):  # hidden from the legend: its overlays too
                continue
            record = ctl.shown_record(rid)
            if record is None:
                continue
            head = record.x[0]
            x = float(head[0])
            y = float(record.f[0]) if objective.dim == 1 else float(head[1])
            if not (math.isfinite(x) and math.isfinite(y)) or not finite(head):
                continue
            head_xy = (x, y)
            here = (x / px, y / py)
            duplicate = any(
                math.hypot(here[0] - a, here[1] - b) < DUPLICATE_PX for a, b in heads_px
            )
            heads_px.append(here)
            racers.append(
                RacerFrame(
                    racer_id=rid,
                    config=config,
                    record=record,
                    history=history,
                    k=int(record.iteration),
                    head=np.asarray(head, float),
                    head_xy=head_xy,
                    duplicate=duplicate,
                )
            )
        return Frame(
            dim=objective.dim,
            objective=objective,
            racers=tuple(racers),
            view=(x0, x1, y0, y1),
            pixel=(px, py),
            plot_px=(plot_w, plot_h),
            sizes=self.sizes,
        )


LAYOUT_STILL_PX = 0.5  # labels and obstacles that moved less than this keep the last layout


def _close_px(now: np.ndarray, then: np.ndarray | None) -> bool:
    """Same shape and no entry moved LAYOUT_STILL_PX or more (NaN only where it was NaN)."""
    if then is None or now.shape != then.shape:
        return False
    if not np.array_equal(np.isnan(now), np.isnan(then)):
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.nan_to_num(np.abs(now - then)) < LAYOUT_STILL_PX))


def head_obstacles(frame: Frame) -> Obstacles:
    """The racers' head markers: labels must not hide where the racers are."""
    if not frame.racers:
        return NO_OBSTACLES
    x0, _, _, y1 = frame.view
    half = 0.5 * frame.sizes.head_size + 3.0
    xy = np.array([r.head_xy for r in frame.racers], float)
    cx = (xy[:, 0] - x0) / frame.pixel[0]
    cy = (y1 - xy[:, 1]) / frame.pixel[1]
    rects = np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)
    return rects, np.full(len(rects), LABEL_WEIGHT)

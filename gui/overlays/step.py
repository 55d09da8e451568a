"""The update just taken: an arrow from the previous point to the head (the record's ``step``)."""

from __future__ import annotations

import math

from gui.overlays.base import Frame, Group, Overlay, RacerFrame, finite


class StepOverlay(Overlay):
    name = "step"
    title = "Step Δw (last update)"

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:
        step = racer.record.step[0]
        if racer.k == 0 or not finite(step) or not step.any():
            return False
        head = racer.head
        prev = head - step  # the point this update started from (== the previous iterate)
        if frame.dim == 1:  # on the curve: E(w_{k-1}) is the previous iterate's loss
            before = racer.point_xy(racer.k - 1)
            if before is None:
                return False
            tail = (float(prev[0]), before[1])
        else:
            tail = (float(prev[0]), float(prev[1]))
        if not finite(tail):
            return False
        grp = self.group(racer.racer_id, lambda g: self._build(g, racer.color))
        tip = _short_of(tail, racer.head_xy, 0.5 * self.sizes.head_size + 1.0, frame)
        grp.segment = (tail, racer.head_xy)  # the update drawn: w_{k−1} → w_k (display coords)
        if tip is None:
            grp.arrow.hide()
        if tip is None or not grp.arrow.set(tail, tip, frame):
            grp.label.hide()
            return True
        mid = (0.5 * (tail[0] + racer.head_xy[0]), 0.5 * (tail[1] + racer.head_xy[1]))
        vx, vy = frame.to_px((racer.head_xy[0] - tail[0], racer.head_xy[1] - tail[1]))
        n = math.hypot(vx, vy) or 1.0
        nx, ny = -vy / n, vx / n  # the screen normal: the label sits beside the arrow
        grp.label.set(
            "Δw",
            frame.offset(mid, 14.0 * nx, 14.0 * ny),
            (0.5 - 0.5 * nx, 0.5 + 0.5 * ny),
        )
        return True

    def _build(self, grp: Group, color: str) -> None:
        grp.arrow = grp.make_arrow(self.sizes, color)
        grp.label = grp.make_label(self.sizes, color, priority=3)


def _short_of(
    tail: tuple[float, float], head: tuple[float, float], pixels: float, frame: Frame
) -> tuple[float, float] | None:
    """The head moved back towards the tail by ``pixels`` so the tip touches the head marker's
    rim instead of hiding under it."""
    vx, vy = frame.to_px((head[0] - tail[0], head[1] - tail[1]))
    n = math.hypot(vx, vy)
    if not math.isfinite(n) or n <= pixels + 3.0:
        return None
    t = 1.0 - pixels / n
    return (tail[0] + t * (head[0] - tail[0]), tail[1] + t * (head[1] - tail[1]))

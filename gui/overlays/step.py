"""The update just taken: an arrow from the previous point to the head (the record's ``step``)."""

from __future__ import annotations

import math

from gui.overlays.base import Frame, Group, Overlay, RacerFrame, finite, fmt, safe_norm


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
        if not grp.arrow.set(tail, racer.head_xy, frame):
            grp.label.hide()
            return True
        mid = (0.5 * (tail[0] + racer.head_xy[0]), 0.5 * (tail[1] + racer.head_xy[1]))
        vx, vy = frame.to_px((racer.head_xy[0] - tail[0], racer.head_xy[1] - tail[1]))
        n = math.hypot(vx, vy) or 1.0
        nx, ny = -vy / n, vx / n  # the screen normal: the label sits beside the arrow
        grp.label.set(
            f"Δw   ‖Δw‖ = {fmt(safe_norm(step))}",
            frame.offset(mid, 14.0 * nx, 14.0 * ny),
            (0.5 - 0.5 * nx, 0.5 + 0.5 * ny),
        )
        return True

    def _build(self, grp: Group, color: str) -> None:
        grp.arrow = grp.make_arrow(self.sizes, color)
        grp.label = grp.make_label(self.sizes, color)


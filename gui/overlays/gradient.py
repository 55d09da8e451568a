"""−∇E at each racer's head: the steepest-descent direction, drawn at a fixed screen length.

The arrow shows the direction only (its length is a fixed fraction of the plot, the label gives
‖∇E‖). In 1-D the tangent line of E at the head is drawn as well: its slope is E′(w).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt

from gui.overlays import style
from gui.overlays.base import (
    Frame,
    Group,
    Overlay,
    RacerFrame,
    anchor_away,
    clip_segment,
    fmt,
    outline_pen,
    pen,
    unit,
)

ARROW_FRACTION = 0.12  # arrow length as a fraction of the plot's shorter side (pixels)
TANGENT_FRACTION = 0.22  # tangent half-length as a fraction of the plot's shorter side


class GradientOverlay(Overlay):
    name = "gradient"
    title = "Gradient −∇E"

    def draw_racer(self, frame: Frame, racer: RacerFrame) -> bool:
        if racer.duplicate:  # same spot as an earlier racer: the same −∇E, drawn once
            return False
        g = racer.record.grad[0]
        u = unit(g)
        if u is None:
            return False
        grp = self.group(racer.racer_id, lambda g_: self._build(g_, racer.color))
        tail = racer.head_xy
        direction = (-u[0], -u[1]) if frame.dim == 2 else (-u[0], 0.0)
        length_px = ARROW_FRACTION * frame.short_side_px
        vec = frame.along(direction, length_px)
        if vec is None:
            return False
        tip = (tail[0] + vec[0], tail[1] + vec[1])
        grp.arrow.set(tail, tip, frame)
        if frame.dim == 1:
            text = f"−∇E (direction; E′ = {fmt(g[0])})"
            self._tangent(frame, grp, racer, float(g[0]))
        else:
            text = "−∇E (direction)"
        d_px = frame.to_px(vec)
        grp.label.set(text, frame.offset(tip, *_nudge(d_px, 10.0)), anchor_away(d_px))
        return True

    def _build(self, grp: Group, color: str) -> None:
        grp.arrow = grp.make_arrow(self.sizes, color, dashed=True)
        grp.label = grp.make_label(self.sizes, color, priority=2)
        grp.tangent = None

    def _tangent(self, frame: Frame, grp: Group, racer: RacerFrame, slope: float) -> None:
        """The tangent of E at the head, a fixed screen length of the line w ↦ E + E′·(w − w₀)."""
        if grp.tangent is None:
            width = style.line_width(self.sizes)
            grp.tangent = grp.make_curve(
                style.Z_ARROW - 0.5,
                pen=pen(racer.color, width, Qt.PenStyle.DotLine),
                shadowPen=outline_pen(width),
            )
        w0, f0 = racer.head_xy
        half = frame.along((1.0, slope), TANGENT_FRACTION * frame.short_side_px)
        seg = None
        if half is not None:
            seg = clip_segment(
                (w0 - half[0], f0 - half[1]), (w0 + half[0], f0 + half[1]), frame.far_box()
            )
        if seg is None:
            grp.tangent.hide()
            return
        grp.tangent.set_segment(*seg)
        grp.blockers = [seg]
        grp.tangent.show()


def _nudge(d_px: tuple[float, float], pixels: float) -> tuple[float, float]:
    n = math.hypot(*d_px) or 1.0
    return (pixels * d_px[0] / n, pixels * d_px[1] / n)

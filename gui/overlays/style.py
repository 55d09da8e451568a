"""Overlay colours and size rules.

Colours are looked up in gui.theme first (the one place for colours), so moving them there is a
data change only; the values below are the fallbacks until theme.py carries them.
"""

from __future__ import annotations

from gui import theme


def _theme(name: str, default):
    return getattr(theme, name, default)


CURVATURE_POSITIVE = _theme("CURVATURE_POSITIVE", "#3ddc84")  # λ > 0: curving up
CURVATURE_NEGATIVE = _theme("CURVATURE_NEGATIVE", "#ff4d4d")  # λ < 0: curving down
CURVATURE_ZERO = _theme("CURVATURE_ZERO", "#c8c8c8")  # λ ≈ 0: flat
RPROP_FLIP_COLOR = _theme("RPROP_FLIP_COLOR", "#ff3b30")  # a derivative changed sign here
RPROP_RETURN_COLOR = _theme("RPROP_RETURN_COLOR", "#ffd60a")  # a return move landed here
# halos are opaque: a translucent wide stroke rasterizes several times slower, and under a
# thin line the difference cannot be seen (with all overlays on, 8 racers redraw ~50 per frame)
OVERLAY_OUTLINE = _theme("OVERLAY_OUTLINE", (0, 0, 0, 255))  # dark halo under overlay lines
# curvature axes get a light halo: they describe the surface, not a racer (whose colours may
# be close to the curvature colours)
CURVATURE_OUTLINE = _theme("CURVATURE_OUTLINE", (255, 255, 255, 255))
LABEL_TEXT = _theme("OVERLAY_LABEL_TEXT", "#f4f4f4")
LABEL_FILL = _theme("OVERLAY_LABEL_FILL", (16, 16, 22, 242))
LABEL_BORDER = _theme("OVERLAY_LABEL_BORDER", (255, 255, 255, 60))

# the canvas draws trails at z = 20–21 and trail heads at z = 22: heads stay on top of arrows
Z_MODEL = 16  # context: under the trails
Z_CURVATURE = 18
Z_BOX = 19
Z_ARROW = 21.5
Z_EVENTS = 21.8  # filled event markers on the trail: under the head marker
Z_MARKER = 25  # hollow markers (the model's stationary point) ring the trail points
Z_LABEL = 40


def line_width(sizes: theme.Sizes) -> float:
    """Overlay line width: a little thinner than a trail, never hair-thin on a projector."""
    return max(2.0, 0.9 * sizes.trail_width)


def head_length(sizes: theme.Sizes) -> float:
    """Arrow-head length in pixels."""
    return 1.45 * sizes.head_size


def font_pt(sizes: theme.Sizes) -> int:
    return sizes.font_pt


def box_font_pt(sizes: theme.Sizes) -> int:
    """The regime box holds several lines: in presentation sizes a little smaller than the
    labels (it would cover half the plot), never below the normal label size."""
    return sizes.font_pt if sizes.font_pt <= 12 else max(12, round(0.8 * sizes.font_pt))


def event_marker_size(sizes: theme.Sizes) -> float:
    return sizes.marker_size

"""The one place for colours, fonts and sizes (normal and presentation mode)."""

from __future__ import annotations

from dataclasses import dataclass

# Racer colours: bright, distinct on the dark-to-light heatmap; each trail also gets a dark outline.
RACER_COLORS = (
    "#ff5a5f",  # coral red
    "#ffffff",  # white
    "#00e5ff",  # cyan
    "#ff9f1c",  # orange
    "#ff66ff",  # magenta
    "#b8ff5c",  # lime
    "#ffe66d",  # yellow
    "#9d7bff",  # violet
)
OPTIMIZER_COLORS = {
    "gd": "#ff5a5f",
    "newton": "#ffffff",
    "rprop": "#00e5ff",
    "adam": "#ff9f1c",
    "momentum": "#ff66ff",
    "nesterov": "#b8ff5c",
    "bfgs": "#ffe66d",
    "lbfgs": "#9d7bff",
    "adagrad": "#ffb3c1",
    "rmsprop": "#7bdff2",
}
SURFACE_COLORMAP = "viridis"
CONTOUR_COLOR = (255, 255, 255, 70)
TRAIL_OUTLINE = (0, 0, 0, 200)
START_COLOR = "#ffffff"
MINIMUM_COLOR = "#ffffff"

STATUS_COLORS = {
    "idle": "#6c757d",
    "running": "#0d6efd",
    "converged": "#198754",
    "saddle": "#d63384",
    "maximum": "#d63384",
    "diverged": "#dc3545",
    "max_steps": "#6c757d",
    "failed": "#fd7e14",
}


@dataclass(frozen=True)
class Sizes:
    """Line widths, marker sizes and font points; presentation mode scales them up."""

    font_pt: int = 10
    title_pt: int = 13
    trail_width: float = 2.5
    head_size: float = 11.0
    marker_size: float = 14.0
    axis_pt: int = 10
    legend_pt: int = 9


NORMAL = Sizes()
PRESENTATION = Sizes(
    font_pt=20,
    title_pt=28,
    trail_width=5.0,
    head_size=22.0,
    marker_size=26.0,
    axis_pt=18,
    legend_pt=18,
)


def color_for(optimizer: str, index: int) -> str:
    """A default colour for a new racer: by optimizer, else by position."""
    return OPTIMIZER_COLORS.get(optimizer, RACER_COLORS[index % len(RACER_COLORS)])

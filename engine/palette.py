"""Colours the engine itself draws with (basin-of-attraction images); the GUI's are in gui/theme.py.

The attractor palette is Okabe & Ito's colour-blind-safe qualitative set without its black
(black means "diverged" here), followed by four tab10 colours for maps with many attractors.
Colours are "#rrggbb" strings, converted with :func:`hex_to_rgb`.
"""

from __future__ import annotations

import re

ATTRACTOR_COLORS = (
    "#0072b2",  # blue (Okabe–Ito)
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#cc79a7",  # reddish purple
    "#56b4e9",  # sky blue
    "#d55e00",  # vermillion
    "#f0e442",  # yellow
    "#9467bd",  # purple (tab10)
    "#8c564b",  # brown
    "#17becf",  # cyan
    "#bcbd22",  # olive
)
NOT_CONVERGED_COLOR = "#8c8c8c"  # grey: stopped at max_steps, or the step failed
DIVERGED_COLOR = "#000000"  # black: |w| or E(w) blew up
UNRESOLVED_COLOR = "#d9d9d9"  # light grey: converged, but to one of too many distinct points

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def is_hex_color(text: object) -> bool:
    """True for a "#rrggbb" string."""
    return isinstance(text, str) and _HEX.fullmatch(text) is not None


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """ "#rrggbb" -> (r, g, b) in 0..255."""
    if not is_hex_color(color):
        raise ValueError(f"a colour must look like #rrggbb (got {color!r})")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def attractor_color(index: int) -> str:
    """The colour of attractor number ``index`` (the palette repeats after 11 attractors)."""
    return ATTRACTOR_COLORS[index % len(ATTRACTOR_COLORS)]

"""Teaching overlays drawn on the loss-surface canvas from the engine's step records.

One overlay per module; ``OverlayManager(canvas, controller)`` draws the enabled ones after every
frame the race controller draws.
"""

from __future__ import annotations

from gui.overlays.manager import OVERLAY_CLASSES, OverlayManager

OVERLAYS: tuple[str, ...] = ("gradient", "step", "newton_model", "hessian", "rprop_box", "regime")
OVERLAY_TITLES: dict[str, str] = {
    "gradient": "Gradient direction −∇E",
    "step": "Last step Δw",
    "newton_model": "Newton's quadratic model",
    "hessian": "Hessian eigen-directions",
    "rprop_box": "Rprop step sizes and sign flips",
    "regime": "Step-size regime (η vs η_opt, κ)",
}
OVERLAY_SHORTCUTS: dict[str, str] = {
    "gradient": "G",
    "step": "S",
    "newton_model": "N",
    "hessian": "H",
    "rprop_box": "B",
    "regime": "E",
}

assert set(OVERLAYS) == set(OVERLAY_CLASSES)

__all__ = ["OVERLAYS", "OVERLAY_SHORTCUTS", "OVERLAY_TITLES", "OverlayManager"]

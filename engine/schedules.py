"""Learning-rate schedules for gradient descent; k = 0 is the first update."""

from __future__ import annotations

import numpy as np

SCHEDULES = ("constant", "step", "exp", "inv_time")


def scheduled_lr(
    schedule: str,
    lr: float | np.ndarray,
    k: int,
    step_size: float | np.ndarray = 10,
    gamma: float | np.ndarray = 0.5,
    decay: float | np.ndarray = 0.1,
) -> float | np.ndarray:
    """η_k for update number k (0-based), as in the design file's table."""
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * np.power(gamma, np.floor(k / np.asarray(step_size, float)))
    if schedule == "exp":
        return lr * np.power(gamma, k)
    if schedule == "inv_time":
        return lr / (1.0 + np.asarray(decay, float) * k)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)} (got {schedule!r})")

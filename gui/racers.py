"""Racer configuration: which optimizer, with which parameters and colour (plain data, no Qt)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from engine.optimizers import make_optimizer, optimizer_spec

_ids = itertools.count(1)


@dataclass(frozen=True)
class RacerConfig:
    """One racer in the race: an optimizer instance with its own settings."""

    optimizer: str
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    color: str = "#ffffff"
    label: str = ""
    enabled: bool = True
    racer_id: int = field(default_factory=lambda: next(_ids))

    @property
    def title(self) -> str:
        if self.label:
            return self.label
        spec = optimizer_spec(self.optimizer)
        shown = [
            f"{k}={_short(v)}"
            for k, v in self.params.items()
            if k in ("lr", "variant", "hessian_fix")
        ]
        return spec.title + (f" ({', '.join(shown)})" if shown else "")

    def with_params(self, **changes: Any) -> RacerConfig:
        """A copy with validated parameter changes (raises ValueError naming the parameter)."""
        merged = {**self.params, **changes}
        make_optimizer(self.optimizer, **merged)
        return replace(self, params=MappingProxyType(merged))

    def full_params(self) -> dict[str, Any]:
        return dict(make_optimizer(self.optimizer, **self.params).params)


def make_racer(
    optimizer: str, color: str, label: str = "", enabled: bool = True, **params: Any
) -> RacerConfig:
    make_optimizer(optimizer, **params)
    return RacerConfig(optimizer, MappingProxyType(dict(params)), color, label, enabled)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

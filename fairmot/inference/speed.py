"""Frames per second of the tracking loop, as the evaluate stage and the demo report them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SpeedMeter:
    """Frames per second after `warmup` frames (all frames if there are no more than that).

    `total` times image-to-device + forward + decode + tracker for one frame; `model` the forward
    alone. Callers synchronise the device before reading the clock.
    """

    warmup: int = 5
    _total: list[float] = field(default_factory=list)
    _model: list[float] = field(default_factory=list)

    def add(self, total_s: float, model_s: float) -> None:
        self._total.append(total_s)
        self._model.append(model_s)

    @property
    def frames(self) -> int:
        return len(self._total)

    def _timed(self, values: list[float]) -> list[float]:
        return values[self.warmup:] if len(values) > self.warmup else values

    @staticmethod
    def _fps(values: list[float]) -> float:
        total = sum(values)
        return len(values) / total if total > 0 else 0.0

    @property
    def fps(self) -> float:
        return self._fps(self._timed(self._total))

    @property
    def fps_model(self) -> float:
        return self._fps(self._timed(self._model))

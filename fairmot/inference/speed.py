"""Frames per second of the tracking loop, as the evaluate stage and the demo report them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SpeedMeter:
    """Frames per second after `warmup` frames (all frames if there are no more than that).

    `total` times image-to-device + forward + decode + tracker for one frame; `model` the forward
    alone. Callers synchronise the device before reading the clock. Only running sums are kept
    (summed in frame order, as `sum` over the full list would), so memory stays flat on endless streams.
    """

    warmup: int = 5
    _count: int = 0
    _all: list[float] = field(default_factory=lambda: [0.0, 0.0])  # total, model: every frame
    _after: list[float] = field(default_factory=lambda: [0.0, 0.0])  # total, model: frames after the warm-up

    def add(self, total_s: float, model_s: float) -> None:
        sums = (self._all,) if self._count < self.warmup else (self._all, self._after)
        for values in sums:
            values[0] += total_s
            values[1] += model_s
        self._count += 1

    @property
    def frames(self) -> int:
        return self._count

    def _fps(self, which: int) -> float:
        timed, total = (self._count - self.warmup, self._after[which]) if self._count > self.warmup else \
            (self._count, self._all[which])
        return timed / total if total > 0 else 0.0

    @property
    def fps(self) -> float:
        return self._fps(0)

    @property
    def fps_model(self) -> float:
        return self._fps(1)

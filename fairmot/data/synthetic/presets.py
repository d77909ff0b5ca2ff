"""What the presets change, and the crowd preset's own pieces: shared outfits and a shaking camera.

The crowd-only randomness comes from a second generator, so the default's stream and files stay
unchanged; the zero values of Preset reproduce the default set exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fairmot.data.synthetic.appearance import HAIR, SKIN
from fairmot.data.synthetic.figures import BGR, Look


@dataclass(frozen=True)
class Preset:
    """What a preset changes; the zero values reproduce the default set exactly."""

    min_density: float = 0.0  # the sequence's target density is at least this
    shared_palette: bool = False  # outfits from CROWD_OUTFITS instead of one look per identity
    depth_drift: float = 0.1  # max |drift| in pixels per frame along the depth axis
    jitter: float = 0.0  # camera shake: standard deviation of the per-frame offset, pixels
    traffic: bool = False  # cars and cyclists among the walkers (street.py), from their own generator


PRESETS = {
    "default": Preset(),
    "crowd": Preset(min_density=40.0, shared_palette=True, depth_drift=0.45, jitter=1.2),
    "street": Preset(traffic=True),
}
# The crowd's outfits: shirt, trousers (BGR). Six for every identity of a sequence.
CROWD_OUTFITS: tuple[tuple[BGR, BGR], ...] = (
    ((60, 60, 170), (50, 40, 35)),
    ((150, 90, 40), (50, 40, 35)),
    ((60, 140, 60), (70, 70, 70)),
    ((170, 170, 170), (50, 40, 35)),
    ((40, 40, 40), (90, 80, 60)),
    ((60, 160, 190), (70, 70, 70)),
)


def _palette_look(rng: np.random.Generator) -> Look:
    """A crowd outfit: one of six shirt/trouser pairs, plain, the same skin and hair for all."""
    shirt, trousers = CROWD_OUTFITS[int(rng.integers(len(CROWD_OUTFITS)))]
    return Look(shirt=shirt, sleeve=shirt, trousers=trousers, skin=SKIN[0], hair=HAIR[0], accent=shirt,
                pattern="plain")


def _camera_shift(rng: np.random.Generator, shift: tuple[int, int], jitter: float) -> tuple[int, int]:
    """Camera shake: the scene offset is pulled back to 0 and nudged each frame, within 3 jitters."""
    bound = int(math.ceil(3 * jitter))
    step = rng.normal(0.0, jitter, size=2)
    return tuple(int(np.clip(round(0.6 * s + d), -bound, bound)) for s, d in zip(shift, step))


def _shifted(background: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """The background seen by a camera moved by -shift: scene point (X, Y) lands on (X+dx, Y+dy)."""
    dx, dy = shift
    if dx == 0 and dy == 0:
        return background.copy()
    pad = max(abs(dx), abs(dy))
    padded = np.pad(background, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    h, w = background.shape[:2]
    return padded[pad - dy: pad - dy + h, pad - dx: pad - dx + w].copy()

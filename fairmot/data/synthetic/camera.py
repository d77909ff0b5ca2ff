"""The camera that films the synthetic world: still, shaking, or panning and zooming.

The world (background and figures, in world pixels) is what the generator has always simulated;
a View maps it into the image: world point (X, Y) lands on image point (s X + tx, s Y + ty).
- static: the identity (the default preset's camera);
- shake: an integer offset of a pixel or two each frame (the crowd preset's camera, `_camera_shift`);
- pan: a window of the world (zoom s between 1.19 and 1.31, so it always lies inside the world)
  that pans, tilts and zooms smoothly, a few percent of the view per second, plus the shake.
Figures are drawn at their transformed boxes (so a gt box is exactly the drawn silhouette's extent,
as before) and the background is the world resampled by the same map, so the world stays
consistent: ground truth is exact and the frame-to-frame warp is known (View.matrix).
The shake draws come from the preset's second generator and the pan's path from a third, so the
people of a sequence are the same whatever the camera does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fairmot.data.synthetic.presets import _camera_shift, _shifted

CAMERAS = ("preset", "static", "shake", "pan")
SHAKE_JITTER = 1.2  # pixels: the crowd preset's shake, also used by `shake` / `pan` on any preset
ZOOM_MEAN, ZOOM_SWING = 1.25, 0.06  # zoom s = 1.25 +- 0.06
PERIOD_S = (6.0, 12.0)  # periods of the pan, tilt and zoom oscillations, seconds


class Camera:
    """The views of one sequence, frame after frame; `mode` is one of CAMERAS.

    The shake is drawn from `shake_rng` whenever the preset shakes or the mode needs it (so the
    crowd's second stream, which also gives its outfits, is the same for every mode); the pan's
    periods and phases come from `path_rng` at construction.
    """

    def __init__(self, mode: str, *, width: int, height: int, frame_rate: float, preset_jitter: float,
                 shake_rng: np.random.Generator | None, path_rng: np.random.Generator | None) -> None:
        if mode not in CAMERAS:
            raise ValueError(f"unknown synthetic camera {mode!r}; choose one of {', '.join(CAMERAS)}")
        self.mode = mode if mode != "preset" else ("shake" if preset_jitter else "static")
        self.width, self.height, self.frame_rate = width, height, float(frame_rate)
        self.jitter = preset_jitter or SHAKE_JITTER
        self.shakes = bool(preset_jitter) or self.mode != "static"
        self.shake_rng, self.shift = shake_rng, (0, 0)
        if self.mode == "pan":  # (period, phase) of the zoom, the pan and the tilt
            self.waves = [(path_rng.uniform(*PERIOD_S), path_rng.uniform(0, 2 * math.pi)) for _ in range(3)]

    def next_view(self, frame: int) -> View:
        """Frame `frame`'s view (call once per frame, in order: the shake is a random walk)."""
        if self.shakes:
            self.shift = _camera_shift(self.shake_rng, self.shift, self.jitter)
        if self.mode == "static":
            return View()
        if self.mode == "shake":
            return View(1.0, *self.shift)
        t = (frame - 1) / self.frame_rate
        zoom, pan, tilt = (math.sin(2 * math.pi * t / period + phase) for period, phase in self.waves)
        scale = ZOOM_MEAN + ZOOM_SWING * zoom
        # the window's top-left in the world, within [0, size - size / scale] (the window stays inside)
        left = 0.5 * (1 + pan) * self.width * (1 - 1 / scale)
        top = 0.5 * (1 + 0.5 * tilt) * self.height * (1 - 1 / scale)
        return View(scale, self.shift[0] - scale * left, self.shift[1] - scale * top)


@dataclass(frozen=True)
class View:
    """One frame's camera: world (X, Y) -> image (scale X + tx, scale Y + ty), in pixel-edge coordinates."""

    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0

    @property
    def matrix(self) -> np.ndarray:
        """The 2x3 world-to-image affine."""
        return np.array([[self.scale, 0.0, self.tx], [0.0, self.scale, self.ty]])

    @property
    def _integer_shift(self) -> tuple[int, int] | None:
        if self.scale == 1.0 and float(self.tx).is_integer() and float(self.ty).is_integer():
            return int(self.tx), int(self.ty)
        return None

    def box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A world box in the image: corners mapped and rounded (a pure shift adds it exactly)."""
        x, y, w, h = box
        shift = self._integer_shift
        if shift is not None:
            return x + shift[0], y + shift[1], w, h
        s = self.scale
        x0, y0 = round(s * x + self.tx), round(s * y + self.ty)
        x1, y1 = round(s * (x + w) + self.tx), round(s * (y + h) + self.ty)
        return x0, y0, max(1, x1 - x0), max(1, y1 - y0)

    def render(self, background: np.ndarray) -> np.ndarray:
        """The world background seen through this view (a new array, the image's size)."""
        shift = self._integer_shift
        if shift is not None:
            return _shifted(background, shift)
        height, width = background.shape[:2]
        ys, y0, fy = _sample_axis(height, self.scale, self.ty)
        xs, x0, fx = _sample_axis(width, self.scale, self.tx)
        fy, fx = fy[:, None, None], fx[:, None]
        rows = background[y0].astype(np.float32) * (1 - fy) + background[ys].astype(np.float32) * fy
        out = rows[:, x0] * (1 - fx) + rows[:, xs] * fx
        return np.ascontiguousarray(np.clip(out + np.float32(0.5), 0, 255).astype(np.uint8))


def _sample_axis(size: int, scale: float, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps along one axis: image pixel centre u + 0.5 comes from world (u + 0.5 - offset) / scale.

    Plain numpy (exactly rounded), not cv2.warpAffine, so the images are the same on every CPU.
    """
    src = (np.arange(size, dtype=np.float64) + 0.5 - offset) / scale - 0.5
    src = np.clip(src, 0.0, size - 1.0)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    return hi, lo, (src - lo).astype(np.float32)

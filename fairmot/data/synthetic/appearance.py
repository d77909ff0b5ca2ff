"""Colours, the street background and each identity's look: everything drawn that is not a person's shape.

Float maths is elementwise numpy (exactly rounded on every CPU) rather than OpenCV's SIMD filters,
whose last bits may differ between instruction sets: the dataset must be byte-identical on any
machine so that DVC sees the same hashes.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from fairmot.data.synthetic.figures import BGR, Look, Scene


def _hsv(h: float, s: float, v: float) -> BGR:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(round(b * 255)), int(round(g * 255)), int(round(r * 255))


def _background(rng: np.random.Generator, scene: Scene) -> np.ndarray:
    """A muted, low-saturation street: facade blocks above the horizon, paving below, smooth noise."""
    W, H, horizon = scene.width, scene.height, scene.horizon
    hue = rng.random()
    sat = rng.uniform(0.04, 0.16)
    img = np.zeros((H, W, 3), dtype=np.float32)
    img[:horizon] = _hsv(hue, sat, rng.uniform(0.55, 0.72))
    img[horizon:] = _hsv(hue + rng.uniform(-0.15, 0.15), sat, rng.uniform(0.48, 0.64))
    # facade: shop fronts, doors and windows
    x = -int(rng.integers(0, 30))
    while x < W:
        block = int(rng.integers(W // 8, W // 3))
        top = int(rng.integers(0, max(1, horizon // 3)))
        shade = _hsv(hue + rng.uniform(-0.2, 0.2), sat * rng.uniform(0.5, 1.5), rng.uniform(0.5, 0.78))
        cv2.rectangle(img, (x, top), (x + block - 2, horizon), shade, -1)
        for _ in range(int(rng.integers(1, 4))):
            wx = x + int(rng.integers(2, max(3, block - 12)))
            wy = top + int(rng.integers(2, max(3, horizon - top - 10)))
            pane = _hsv(hue + 0.5, sat, rng.uniform(0.42, 0.6))
            cv2.rectangle(img, (wx, wy), (wx + int(rng.integers(6, 16)), wy + int(rng.integers(6, 14))), pane, -1)
        x += block
    # paving: rows that widen towards the camera, joints converging to a vanishing point
    joint = np.array(_hsv(hue, sat, 0.42), dtype=np.float32)
    y, step = float(horizon), 3.0
    while y < H:
        cv2.line(img, (0, int(y)), (W, int(y)), joint.tolist(), 1)
        step *= 1.35
        y += step
    vanish_x = rng.uniform(0.3, 0.7) * W
    for gx in np.linspace(-W, 2 * W, int(rng.integers(10, 18))):
        cv2.line(img, (int(vanish_x), horizon), (int(gx), H), joint.tolist(), 1)
    grid = rng.standard_normal((H // 12 + 3, W // 12 + 3)).astype(np.float32)
    smooth = _upsample(grid, W, H) * np.float32(rng.uniform(6, 12))
    fine = _blur3(rng.standard_normal((H, W)).astype(np.float32)) * np.float32(5)
    img += (smooth + fine)[..., None]
    return np.clip(img, 65, 205)



def _upsample(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear upsampling of a coarse noise grid to (height, width)."""
    gy, gx = grid.shape
    ys = (np.arange(height, dtype=np.float32) + 0.5) * np.float32((gy - 1) / height)
    xs = (np.arange(width, dtype=np.float32) + 0.5) * np.float32((gx - 1) / width)
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _blur3(noise: np.ndarray) -> np.ndarray:
    """A [1 2 1]/4 blur along both axes (edges replicated): fine grain instead of pixel noise."""
    padded = np.pad(noise, 1, mode="edge")
    rows = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) * np.float32(0.25)
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) * np.float32(0.25)


SKIN = ((90, 130, 190), (120, 160, 215), (60, 90, 140), (150, 185, 230), (45, 65, 100))
HAIR = ((25, 25, 30), (30, 55, 95), (90, 170, 215), (160, 160, 160), (35, 60, 150), (20, 35, 60))


def _random_look(rng: np.random.Generator, hue: float) -> Look:
    """Saturated clothes (so figures stand out from the muted scene); hue spaced by the golden ratio."""
    shirt = _hsv(hue, rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.98))
    sleeve_dark = rng.random() < 0.5
    skin = SKIN[int(rng.integers(len(SKIN)))]
    return Look(
        shirt=shirt,
        sleeve=tuple(int(c * 0.75) for c in shirt) if sleeve_dark else skin,
        trousers=_hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.15, 0.5)),
        skin=skin,
        hair=HAIR[int(rng.integers(len(HAIR)))],
        accent=_hsv(hue + 0.5, rng.uniform(0.3, 1.0), rng.uniform(0.75, 1.0)),
        pattern=("plain", "stripes", "two_tone", "belt")[int(rng.integers(4))],
    )


def _grey_look(rng: np.random.Generator) -> Look:
    grey = int(rng.integers(150, 200))
    g = (grey, grey, grey)
    d = (grey - 40,) * 3
    return Look(shirt=g, sleeve=g, trousers=d, skin=g, hair=d, accent=g, pattern="plain")

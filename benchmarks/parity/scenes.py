"""Deterministic detection scenes: rows (frame, x1, y1, x2, y2, score, object, embedding...).

Every scene is rebuilt from its parameters (the fixtures store those and a fingerprint, not the
detections). Centres are kept apart by one 3x3 heatmap cell so heatmap NMS never merges two
detections; object -1 is a false positive.
"""

from __future__ import annotations

import hashlib

import numpy as np

WIDTH, HEIGHT, STRIDE = 1088, 608, 4
DIM = 128


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _cell(cx: float, cy: float) -> tuple[int, int]:
    return int(cx / STRIDE) // 3, int(cy / STRIDE) // 3


def walking(objects: int, frames: int, seed: int, tie_score: float | None = None) -> np.ndarray:
    """Objects walking and bouncing off the borders, 5% missed detections, occasional false positives.

    `tie_score` gives every true detection that exact score (ties in the heatmap's top-K).
    """
    g = np.random.default_rng(seed)
    feats = _unit(g.normal(size=(objects, DIM)))
    pos = g.uniform([60, 120], [WIDTH - 60, HEIGHT - 120], size=(objects, 2))
    vel = g.uniform(-3, 3, size=(objects, 2))
    size = np.stack([g.uniform(20, 50, objects), g.uniform(60, 140, objects)], 1)
    rows = []
    for f in range(1, frames + 1):
        pos += vel
        vel[(pos[:, 0] < 40) | (pos[:, 0] > WIDTH - 40), 0] *= -1
        vel[(pos[:, 1] < 90) | (pos[:, 1] > HEIGHT - 90), 1] *= -1
        pos = np.clip(pos, [30, 80], [WIDTH - 30, HEIGHT - 80])
        used: set[tuple[int, int]] = set()
        for i in range(objects):
            if g.random() < 0.05:
                continue
            cx, cy = pos[i] + g.normal(0, 1.0, 2)
            if _cell(cx, cy) in used:
                continue
            used.add(_cell(cx, cy))
            w, h = size[i] * g.uniform(0.97, 1.03, 2)
            feat = _unit(feats[i] + g.normal(0, 0.03, DIM))
            score = g.uniform(0.5, 0.95) if tie_score is None else tie_score
            rows.append([f, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, i, *feat])
        if g.random() < 0.3:
            cx, cy = g.uniform([60, 100], [WIDTH - 60, HEIGHT - 100])
            if _cell(cx, cy) not in used:
                rows.append([f, cx - 15, cy - 40, cx + 15, cy + 40, 0.45, -1, *_unit(g.normal(size=DIM))])
    return np.array(rows, dtype=np.float64)


def expiry(gap: int, frames: int = 60, seed: int = 5) -> np.ndarray:
    """Three static objects; object 0 is absent for `gap` frames after frame 10, then returns.

    At 30 fps and track_buffer 30, gap 31 brings it back exactly on the frame after its track
    expired (the reference's late expiry keeps its id).
    """
    g = np.random.default_rng(seed)
    feats = _unit(g.normal(size=(3, DIM)))
    rows = []
    for f in range(1, frames + 1):
        for i, (cx, cy) in enumerate([(200, 300), (500, 300), (800, 300)]):
            if i == 0 and 10 < f <= 10 + gap:
                continue
            feat = _unit(feats[i] + g.normal(0, 0.03, DIM))
            rows.append([f, cx - 20, cy - 50, cx + 20, cy + 50, 0.8 - 0.05 * i, i, *feat])
    return np.array(rows, dtype=np.float64)


def twins(frames: int = 30, seed: int = 7) -> np.ndarray:
    """Exact score ties that decide an id: static objects that, from frame 12 on, each come as two
    detections with the same score and embedding, mirrored about the track's box.

    Both twins cost the same to the track, so the assignment keeps the one that comes first in
    the detection order, i.e. the one the heatmap's top-K lists first among equal scores.
    """
    g = np.random.default_rng(seed)
    centres = [(120.0 + 110 * k, 200.0 + 160 * (k % 2)) for k in range(9)]
    feats = _unit(g.normal(size=(len(centres), DIM)))
    rows = []
    for f in range(1, frames + 1):
        for i, (cx, cy) in enumerate(centres):
            offsets = (0.0,) if f < 12 else (-6.0, 6.0)  # inside the motion gate, 3 map cells apart
            for dx in offsets:
                x = cx + dx
                rows.append([f, x - 20, cy - 50, x + 20, cy + 50, 0.75, i, *feats[i]])
    return np.array(rows, dtype=np.float64)


BUILDERS = {"walking": walking, "expiry": expiry, "twins": twins}


def build(kind: str, **params) -> np.ndarray:
    return BUILDERS[kind](**params)


def fingerprint(dets: np.ndarray) -> str:
    """sha256 of the scene's float64 bytes: a fixture replays only the scene it was made from."""
    return hashlib.sha256(np.ascontiguousarray(dets, dtype=np.float64).tobytes()).hexdigest()


def frames_of(dets: np.ndarray) -> list[int]:
    """Every frame number from 1 to the last one with a detection (empty frames are stepped too)."""
    return list(range(1, int(dets[:, 0].max()) + 1))

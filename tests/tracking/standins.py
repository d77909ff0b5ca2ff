"""Hand-made detections for the tracker tests: pedestrian-shaped boxes and orthogonal embeddings."""

import numpy as np

W, H = 40.0, 100.0  # pedestrian-shaped boxes


def box(cx: float, cy: float) -> list[float]:
    return [cx - W / 2, cy - H / 2, cx + W / 2, cy + H / 2]


def unit(i: int, dim: int = 8) -> np.ndarray:
    e = np.zeros(dim)
    e[i] = 1.0
    return e

"""Drawing tracks on frames: shared by the report's annotated frames and `fairmot track` videos."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def id_color(track_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per identity (golden-ratio hue steps)."""
    hue = int((track_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def draw_tracks(
    image: np.ndarray,
    tlwhs: Sequence[Sequence[float]],
    track_ids: Sequence[int],
    *,
    trails: dict[int, Sequence[tuple[float, float]]] | None = None,
    caption: str | None = None,
) -> np.ndarray:
    """Return a copy of `image` (BGR) with one box and id label per track, optional trails and caption."""
    canvas = image.copy()
    scale = max(0.35, min(canvas.shape[:2]) / 900)
    thickness = max(1, round(scale * 2))
    for tid, points in (trails or {}).items():
        if len(points) > 1:
            pts = np.round(np.asarray(points)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], False, id_color(tid), thickness, cv2.LINE_AA)
    for (x, y, w, h), tid in zip(tlwhs, track_ids):
        color = id_color(int(tid))
        p1, p2 = (round(float(x)), round(float(y))), (round(float(x + w)), round(float(y + h)))
        cv2.rectangle(canvas, p1, p2, color, thickness)
        cv2.putText(canvas, str(int(tid)), (p1[0], max(p1[1] - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, color, thickness, cv2.LINE_AA)
    if caption:
        cv2.putText(canvas, caption, (5, int(20 * scale / 0.5)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 255), thickness, cv2.LINE_AA)
    return canvas

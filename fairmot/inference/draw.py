"""Drawing tracks on frames: shared by the report's annotated frames and `fairmot track` videos.

With one class every identity has a hue of its own (`id_color`) and a box is labelled with its id;
with several a class has a fixed hue (`class_color`, identities of one class in shades of it) and a
box is labelled "<class> <id>".
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# OpenCV hues (0-179) of the classes in order, far apart: red, blue, green, yellow, magenta, cyan, orange, violet
CLASS_HUES = (0, 120, 60, 28, 150, 90, 14, 135)
# (saturation, value) shades an identity of a class takes by its id
SHADES = ((255, 255), (150, 255), (255, 170), (190, 215), (120, 190), (255, 120))


def _hsv_to_bgr(hue: int, saturation: int, value: int) -> tuple[int, int, int]:
    b, g, r = cv2.cvtColor(np.uint8([[[hue, saturation, value]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def id_color(track_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per identity (golden-ratio hue steps)."""
    return _hsv_to_bgr(int((track_id * 0.618033988749895 % 1.0) * 179), 220, 255)


def class_color(cls: int, track_id: int) -> tuple[int, int, int]:
    """The BGR colour of an identity of class `cls`: the class's hue, in a shade its id picks."""
    saturation, value = SHADES[track_id % len(SHADES)]
    return _hsv_to_bgr(CLASS_HUES[cls % len(CLASS_HUES)], saturation, value)


def draw_tracks(
    image: np.ndarray,
    tlwhs: Sequence[Sequence[float]],
    track_ids: Sequence[int],
    *,
    trails: dict[int, Sequence[tuple[float, float]]] | None = None,
    caption: str | None = None,
    classes: Sequence[int] | None = None,
    names: Sequence[str] = (),
) -> np.ndarray:
    """Return a copy of `image` (BGR) with one box and label per track, optional trails and caption.

    `classes` (one per track) and `names` (the run's class names): with more than one name, boxes
    are coloured by class and labelled "<class> <id>"; otherwise by id, labelled with the id.
    """
    canvas = image.copy()
    scale = max(0.35, min(canvas.shape[:2]) / 900)
    thickness = max(1, round(scale * 2))
    by_class = len(names) > 1 and classes is not None
    class_of = {int(t): int(c) for t, c in zip(track_ids, classes)} if by_class else {}

    def color(tid: int) -> tuple[int, int, int]:
        return class_color(class_of.get(tid, 0), tid) if by_class else id_color(tid)

    for tid, points in (trails or {}).items():
        if len(points) > 1:
            pts = np.round(np.asarray(points)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], False, color(tid), thickness, cv2.LINE_AA)
    for (x, y, w, h), tid in zip(tlwhs, track_ids):
        tid = int(tid)
        label = f"{names[class_of[tid]]} {tid}" if by_class else str(tid)
        p1, p2 = (round(float(x)), round(float(y))), (round(float(x + w)), round(float(y + h)))
        cv2.rectangle(canvas, p1, p2, color(tid), thickness)
        cv2.putText(canvas, label, (p1[0], max(p1[1] - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, color(tid), thickness, cv2.LINE_AA)
    if caption:
        cv2.putText(canvas, caption, (5, int(20 * scale / 0.5)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 255), thickness, cv2.LINE_AA)
    return canvas

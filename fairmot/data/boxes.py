"""Label lines and clipping shared by every dataset kind (FAIRMOT_SPEC section 1 line format)."""

from __future__ import annotations


def clip_xywh(x: float, y: float, w: float, h: float, width: float, height: float
              ) -> tuple[float, float, float, float] | None:
    """The part of the box inside the image, or None when nothing of it is inside.

    Not clipping boxes that leave the image costs about 5 MOTA (ifzhang/FairMOT issue #303).
    """
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    if x2 <= x1 or y2 <= y1:
        return None
    return (x1, y1, x2 - x1, y2 - y1)


def label_line(gid: int, x: float, y: float, w: float, h: float, width: float, height: float) -> str:
    """`0 gid cx cy w h`, normalised by the image size, 6 decimals."""
    cx, cy = x + w / 2.0, y + h / 2.0
    return f"0 {gid} {cx / width:.6f} {cy / height:.6f} {w / width:.6f} {h / height:.6f}"

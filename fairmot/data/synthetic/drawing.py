"""Drawing people, cyclists and cars onto a frame, and the owner map from which each box's visibility is measured."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fairmot.data.synthetic.figures import BGR, CarLook, Figure, Look


def _visibility(owner: np.ndarray, rank: int, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """(fraction of the box inside the image, fraction inside and not covered by a nearer figure).

    `owner` holds, per pixel, the draw rank of the nearest silhouette there (0 = background);
    a figure drawn later (higher rank) is nearer, so pixels it owns are hidden from `rank`.
    """
    x, y, w, h = box
    height, width = owner.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    area = float(w * h)
    if x1 <= x0 or y1 <= y0:
        return 0.0, 0.0
    region = owner[y0:y1, x0:x1]
    inside = region.size
    hidden = int(np.count_nonzero(region > rank))
    return inside / area, (inside - hidden) / area


class _Painter:
    """Draws each shape twice: in colour on the image, and as `rank` on the owner map."""

    def __init__(self, image: np.ndarray, owner: np.ndarray | None, rank: int) -> None:
        self.image, self.owner, self.rank = image, owner, rank

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: BGR) -> None:
        cv2.rectangle(self.image, (x0, y0), (x1, y1), colour, -1)
        if self.owner is not None:
            cv2.rectangle(self.owner, (x0, y0), (x1, y1), self.rank, -1)

    def poly(self, points: list[tuple[int, int]], colour: BGR) -> None:
        pts = np.asarray(points, dtype=np.int32)
        cv2.fillConvexPoly(self.image, pts, colour, cv2.LINE_AA)
        if self.owner is not None:
            cv2.fillConvexPoly(self.owner, pts, self.rank)

    def ellipse(self, centre: tuple[int, int], axes: tuple[int, int], colour: BGR, start: int = 0, end: int = 360) -> None:
        cv2.ellipse(self.image, centre, axes, 0, start, end, colour, -1, cv2.LINE_AA)
        if self.owner is not None:
            cv2.ellipse(self.owner, centre, axes, 0, start, end, self.rank, -1)

    def ring(self, centre: tuple[int, int], radius: int, colour: BGR, thickness: int) -> None:
        cv2.circle(self.image, centre, radius, colour, thickness, cv2.LINE_AA)
        if self.owner is not None:
            cv2.circle(self.owner, centre, radius, self.rank, thickness)


def _draw_figure(image: np.ndarray, owner: np.ndarray | None, rank: int, box: tuple[int, int, int, int],
                 fig: Figure) -> None:
    if fig.kind == "car":
        _draw_car(_Painter(image, owner, rank), box, fig.look, 1 if fig.speed >= 0 else -1)
        return
    if fig.look.translucent:
        layer = image.copy()
        _draw_person(_Painter(layer, None, rank), box, fig.look, fig.phase, rider=False)
        image[:] = (layer.astype(np.int16) * 2 + image.astype(np.int16) * 3 + 2) // 5  # 40% opaque
        return
    _draw_person(_Painter(image, owner, rank), box, fig.look, fig.phase, rider=fig.kind in ("rider", "cyclist"),
                 fit=fig.kind == "cyclist")


def _draw_person(p: _Painter, box: tuple[int, int, int, int], look: Look, phase: float, *, rider: bool,
                 fit: bool = False) -> None:
    """Head, hair, torso with arms, and two swinging legs (or a bicycle), filling the box edge to edge."""
    x, y, w, h = box
    body_w = int(round(0.4 * h)) if rider else w  # a rider's box also holds the bicycle
    bx = x + (w - body_w) // 2 if rider else x
    cx = bx + body_w / 2.0
    hip = _draw_upper_body(p, bx, y, body_w, h, cx, look, phase)
    if rider:
        _draw_bicycle(p, box, body_w, cx, hip, look, fit)
    else:
        _draw_legs(p, bx, body_w, h, hip, y + h - 1, look, phase)


def _draw_upper_body(p: _Painter, bx: int, y: int, body_w: int, h: int, cx: float, look: Look, phase: float) -> int:
    """Head with hair, then the torso (patterned) with swinging arms; returns the hip row."""
    ay = max(2, int(round(0.085 * h)))
    ax = max(2, int(round(0.21 * body_w)))
    head_c = (int(round(cx)), y + ay)
    p.ellipse(head_c, (ax, ay), look.skin)
    p.ellipse(head_c, (ax, ay), look.hair, 180, 360)
    # torso and arms (arms are the left/right extent of the figure)
    neck = y + 2 * ay - 1
    hip = y + int(round(0.55 * h))
    arm = max(1, int(round(0.14 * body_w)))
    swing = 0.035 * h * math.sin(phase)
    p.rect(bx + arm, neck, bx + body_w - 1 - arm, hip, look.shirt)
    p.rect(bx, neck + 1, bx + arm - 1, int(round(y + 0.5 * h + swing)), look.sleeve)
    p.rect(bx + body_w - arm, neck + 1, bx + body_w - 1, int(round(y + 0.5 * h - swing)), look.sleeve)
    torso_h = hip - neck
    if look.pattern == "stripes":
        band = max(1, torso_h // 7)
        for top in range(neck + band, hip - band + 1, 2 * band):
            p.rect(bx + arm, top, bx + body_w - 1 - arm, top + band - 1, look.accent)
    elif look.pattern == "two_tone":
        p.rect(bx + arm, neck + torso_h // 2, bx + body_w - 1 - arm, hip, look.accent)
    elif look.pattern == "belt":
        p.rect(bx + arm, hip - max(1, torso_h // 8), bx + body_w - 1 - arm, hip, look.accent)
    return hip


def _draw_bicycle(p: _Painter, box: tuple[int, int, int, int], body_w: int, cx: float, hip: int, look: Look,
                  fit: bool = False) -> None:
    """A rider's lower half: two wheels filling the box's width, the frame, one leg down to the hub.

    `fit` (the street's cyclists) keeps a thin ring's outer pixel inside the box too; the ignore-class
    riders keep the drawing they always had (under 60 px high their wheels overhang by a pixel).
    """
    x, y, w, h = box
    bottom = y + h - 1
    wheel = max(3, int(round(0.17 * h)))
    thick = max(2, h // 30) if fit else max(1, h // 30)
    hub_y = bottom - wheel - thick // 2
    left_c, right_c = (x + wheel + thick // 2, hub_y), (x + w - 1 - wheel - thick // 2, hub_y)
    p.ring(left_c, wheel, (40, 40, 40), max(2, thick))
    p.ring(right_c, wheel, (40, 40, 40), max(2, thick))
    p.poly([left_c, (int(cx) - 1, hip), (int(cx) + 1, hip), right_c], look.frame)
    leg = max(2, int(round(0.28 * body_w)))
    p.poly([(int(cx) - leg // 2, hip), (int(cx) + leg // 2, hip), (int(cx) + leg // 2, hub_y),
            (int(cx) - leg // 2, hub_y)], look.trousers)


def _draw_legs(p: _Painter, bx: int, body_w: int, h: int, hip: int, bottom: int, look: Look, phase: float) -> None:
    """Hips at 35% / 65% of the width, feet swinging +-17% in opposite phase, a shoe on each."""
    leg = max(2, int(round(0.3 * body_w)))
    stride = 0.17 * body_w * math.sin(phase)
    shoe_h = max(1, int(round(0.035 * h)))
    for hip_frac, sign in ((0.35, 1.0), (0.65, -1.0)):
        hip_x = bx + hip_frac * body_w
        foot_x = hip_x + sign * stride
        half = leg / 2.0
        pts = [(int(round(hip_x - half)), hip), (int(round(hip_x + half)) - 1, hip),
               (int(round(foot_x + half)) - 1, bottom), (int(round(foot_x - half)), bottom)]
        pts = [(min(max(px, bx), bx + body_w - 1), py) for px, py in pts]
        p.poly(pts, look.trousers)
        p.rect(pts[3][0], bottom - shoe_h + 1, pts[2][0], bottom, (35, 35, 40))


# A car's side view in unit coordinates, u from the back (0) to the front (1), v from the roof (0)
# to the ground (1): the cabin's roof and beltline spans and the body's top and bottom rows.
_CAR_SHAPES = {  # shape: (roof u0, u1, beltline u0, u1, body top v, body bottom v)
    "sedan": (0.30, 0.62, 0.15, 0.80, 0.44, 0.82),
    "hatch": (0.10, 0.56, 0.04, 0.76, 0.44, 0.82),
    "van": (0.04, 0.74, 0.02, 0.88, 0.40, 0.84),
}


def _draw_car(p: _Painter, box: tuple[int, int, int, int], look: CarLook, direction: int) -> None:
    """Cabin with windows, body with lights and an optional stripe, two wheels: the box edge to edge."""
    x, y, w, h = box

    def pt(u: float, v: float) -> tuple[int, int]:
        u = u if direction > 0 else 1.0 - u
        return int(round(x + u * (w - 1))), int(round(y + v * (h - 1)))

    def quad(u0: float, u1: float, v0: float, v1: float, colour: BGR, top0: float | None = None,
             top1: float | None = None) -> None:
        top0, top1 = u0 if top0 is None else top0, u1 if top1 is None else top1
        p.poly([pt(top0, v0), pt(top1, v0), pt(u1, v1), pt(u0, v1)], colour)

    r0, r1, b0, b1, top, bottom = _CAR_SHAPES[look.shape]
    quad(b0, b1, 0.0, top + 0.02, look.body, r0, r1)  # cabin
    quad(b0 + 0.05, b1 - 0.04, 0.09, top - 0.03, look.window, r0 + 0.03, r1 - 0.02)
    pillar = r0 + 0.55 * (r1 - r0)
    quad(pillar - 0.02, pillar + 0.02, 0.06, top, look.body)
    quad(0.0, 1.0, top, bottom, look.body)
    quad(0.95, 1.0, top + 0.06, top + 0.14, (200, 240, 255))  # headlight
    quad(0.0, 0.04, top + 0.06, top + 0.14, (40, 40, 210))  # tail light
    if look.stripe:
        quad(0.03, 0.97, top + 0.2, top + 0.26, look.trim)
    radius = max(3, int(round(0.19 * h)))
    for u in (0.2, 0.8):
        centre = (pt(u, 1.0)[0], y + h - 1 - radius)
        p.ellipse(centre, (radius, radius), (30, 30, 32))
        p.ellipse(centre, (max(1, radius // 2), max(1, radius // 2)), look.trim)

"""The synthetic scene's geometry and its people: Scene (depth model), Look (appearance), Figure (box and motion state)."""

from __future__ import annotations

from dataclasses import dataclass

BGR = tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """Image size and the depth model: feet lower in the image belong to nearer, taller figures."""

    width: int
    height: int

    @property
    def foot_min(self) -> float:
        return 0.42 * self.height

    @property
    def foot_max(self) -> float:
        return 1.0 * self.height

    @property
    def horizon(self) -> int:
        return int(0.36 * self.height)

    def height_at(self, foot: float) -> float:
        """Figure height in pixels for feet at `foot` (0.19 H far away, 0.45 H nearest)."""
        t = (foot - self.foot_min) / (self.foot_max - self.foot_min)
        return self.height * (0.19 + 0.26 * min(max(t, 0.0), 1.0))


@dataclass(frozen=True)
class Look:
    """One identity's appearance; stable for the whole track so re-ID is learnable."""

    shirt: BGR
    sleeve: BGR
    trousers: BGR
    skin: BGR
    hair: BGR
    accent: BGR
    pattern: str  # plain | stripes | two_tone | belt
    translucent: bool = False
    frame: BGR = (60, 60, 160)  # a rider's bicycle frame (the street's cyclists each have their own)


@dataclass(frozen=True)
class CarLook:
    """One car's appearance, stable for its track: body, windows, trim (stripe and hubs) and shape."""

    body: BGR
    window: BGR
    trim: BGR
    shape: str  # sedan | hatch | van
    stripe: bool
    translucent: bool = False


@dataclass
class Figure:
    kind: str  # walker | static | rider | mannequin | reflection | cyclist | car
    cls: int
    mark: int
    look: Look | CarLook
    x: float  # left edge of the box, pixels
    foot: float  # bottom edge of the box, pixels (the depth cue)
    speed: float  # signed, in figure heights per frame
    vy: float
    drift: float
    stature: float  # personal height factor around the scene's height at this depth
    aspect: float  # box width / height
    first: int = 1
    last: int = 1 << 30
    phase: float = 0.0
    tid: int = 0  # assigned when the figure is first annotated
    lane: int = -1  # the street's vehicles: index of the lane they ride in

    def box(self, scene: Scene) -> tuple[int, int, int, int]:
        """Integer (x, y, w, h): the exact gt box, also the extent of the drawn silhouette."""
        h = max(8, int(round(scene.height_at(self.foot) * self.stature)))
        w = max(4, int(round(self.aspect * h)))
        return int(round(self.x)), int(round(self.foot)) - h, w, h

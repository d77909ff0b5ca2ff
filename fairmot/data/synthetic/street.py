"""The street preset's traffic: cars in two lanes and cyclists in a bike lane, among the walkers.

A street seen side on: a car lane each way across the middle distance, a bike lane nearer the
camera and one beyond the far car lane (both directions), walkers everywhere as in the default set. Vehicles enter at the image
edges, keep their lane (so they move horizontally; depth order follows their feet as for people)
and a car closing on the one ahead in its lane slows to its speed. Each vehicle is one identity
with its own look: cars a body colour, windows, trim and shape; cyclists a rider's outfit, helmet
and bicycle frame. Every draw here comes from the traffic's own generator (`rng`), so the walkers'
stream is the one the default set would use and no other preset is touched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from fairmot.data.synthetic.appearance import _hsv, _random_look
from fairmot.data.synthetic.figures import CarLook, Figure, Look, Scene

# gt class numbers (MOT17: 3 car, 4 bicycle)
CAR_CLASS, CYCLIST_CLASS = 3, 4
# car shape -> (height range as a fraction of a person's at the same depth, width / height range)
CAR_SIZES = {"sedan": ((0.74, 0.82), (2.1, 2.4)), "hatch": ((0.78, 0.86), (1.8, 2.1)), "van": ((0.9, 1.0), (1.6, 1.8))}
CYCLIST_ASPECT = (0.72, 0.86)  # width / height: the rider over a bicycle
CAR_SPEED = (0.13, 0.18)  # own heights per frame (about 4-8 pixels at 320x192)
CYCLIST_SPEED = (0.045, 0.065)
HELMETS = ((40, 40, 220), (240, 240, 240), (30, 200, 240), (200, 120, 30), (30, 30, 30), (60, 180, 60))


@dataclass(frozen=True)
class Lane:
    kind: str  # car | cyclist
    foot: float  # pixels: the row of its vehicles' feet (cyclists spread +- 2% of the height around it)
    direction: int  # +1 rightwards, -1 leftwards, 0 either


class Traffic:
    """The vehicles of one sequence: their lanes, the first ones, arrivals and steps."""

    def __init__(self, rng: np.random.Generator, scene: Scene) -> None:
        self.rng, self.scene = rng, scene
        H = scene.height
        way = 1 if rng.random() < 0.5 else -1
        self.lanes = (
            Lane("car", H * rng.uniform(0.49, 0.52), way),
            Lane("car", H * rng.uniform(0.61, 0.64), -way),
            Lane("cyclist", H * rng.uniform(0.44, 0.46), 0),
            Lane("cyclist", H * rng.uniform(0.72, 0.76), 0),
        )
        self.target = {"car": rng.uniform(3.2, 4.2), "cyclist": rng.uniform(3.0, 4.0)}
        self.hue0 = rng.random()
        self.count = itertools.count(1)

    def initial(self) -> list[Figure]:
        """Vehicles already in view at the first frame, never starting on top of each other."""
        figures: list[Figure] = []
        for kind in ("car", "cyclist"):
            for _ in range(int(round(self.target[kind]))):
                for _attempt in range(20):
                    fig = self._new(kind, at_edge=False)
                    if not any(_overlap(self.scene, fig, other) for other in figures if other.lane == fig.lane):
                        figures.append(fig)
                        break
        return figures

    def arrivals(self, figures: list[Figure]) -> list[Figure]:
        """New vehicles at the edges: a steady inflow plus a pull towards each kind's target count."""
        arrivals = []
        for kind, speed, size, gap in (("car", CAR_SPEED, 0.2, 1.2), ("cyclist", CYCLIST_SPEED, 0.33, 0.8)):
            ours = [f for f in figures if f.kind == kind]
            in_view = sum(1 for f in ours if _in_view(self.scene, f))
            crossing = (self.scene.width * 1.2) / (np.mean(speed) * size * self.scene.height)  # frames in view
            rate = self.target[kind] / crossing + 0.08 * max(0.0, self.target[kind] - in_view)
            if self.rng.random() < rate:
                fig = self._new(kind, at_edge=True)
                if not any(_overlap(self.scene, fig, other, gap) for other in ours if other.lane == fig.lane):
                    arrivals.append(fig)
        return arrivals

    def step(self, fig: Figure, figures: list[Figure]) -> None:
        """Constant speed along the lane (2% noise); a car slows to the speed of a car close ahead."""
        h = fig.box(self.scene)[3]
        if fig.kind == "car":
            ahead = [o for o in figures if o.lane == fig.lane and o is not fig and (o.x - fig.x) * fig.speed > 0]
            if ahead:
                leader = min(ahead, key=lambda o: abs(o.x - fig.x))
                gap = abs(leader.x - fig.x) - (fig.box(self.scene)[2] if fig.speed > 0 else leader.box(self.scene)[2])
                leader_speed = abs(leader.speed) * leader.box(self.scene)[3] / h
                if gap < 0.6 * h and leader_speed < abs(fig.speed):
                    fig.speed = float(np.sign(fig.speed)) * leader_speed
        fig.x += fig.speed * h * (1.0 + 0.02 * self.rng.standard_normal())

    def _new(self, kind: str, *, at_edge: bool) -> Figure:
        rng, scene = self.rng, self.scene
        lanes = [i for i, lane in enumerate(self.lanes) if lane.kind == kind]
        index = lanes[int(rng.integers(len(lanes)))]
        lane = self.lanes[index]
        direction = lane.direction or (1 if rng.random() < 0.5 else -1)
        if kind == "car":
            look = self._car_look()
            (s0, s1), (a0, a1) = CAR_SIZES[look.shape]
            foot = lane.foot + scene.height * rng.uniform(-0.01, 0.01)
            stature, aspect, speed = rng.uniform(s0, s1), rng.uniform(a0, a1), rng.uniform(*CAR_SPEED)
        else:
            look = self._rider_look()
            foot = lane.foot + scene.height * rng.uniform(-0.02, 0.02)
            stature, aspect, speed = rng.uniform(0.95, 1.05), rng.uniform(*CYCLIST_ASPECT), rng.uniform(*CYCLIST_SPEED)
        fig = Figure(kind=kind, cls=CAR_CLASS if kind == "car" else CYCLIST_CLASS, mark=1, look=look, x=0.0, foot=foot,
                     speed=direction * speed, vy=0.0, drift=0.0, stature=stature, aspect=aspect,
                     phase=rng.uniform(0.5, 2.5), lane=index)
        w = fig.box(scene)[2]
        if at_edge:
            fig.x = -w + 1.0 if direction > 0 else scene.width - 1.0
        else:
            fig.x = rng.uniform(-0.3 * w, scene.width - 0.7 * w)
        return fig

    def _car_look(self) -> CarLook:
        """Saturated body colours a golden-ratio hue step apart, one car in six black or white."""
        rng = self.rng
        hue = self.hue0 + next(self.count) * 0.618034
        if rng.random() < 1 / 6:
            body = (28, 28, 32) if rng.random() < 0.5 else (235, 235, 232)
        else:
            body = _hsv(hue, rng.uniform(0.6, 0.95), rng.uniform(0.55, 0.95))
        window = _hsv(rng.uniform(0.5, 0.65), rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.45))
        trim = _hsv(hue + 0.5, rng.uniform(0.0, 0.6), rng.uniform(0.7, 1.0))
        shape = ("sedan", "hatch", "van")[int(rng.integers(3))]
        return CarLook(body=body, window=window, trim=trim, shape=shape, stripe=bool(rng.random() < 0.5))

    def _rider_look(self) -> Look:
        """A walker's kind of outfit, a helmet for hair and a bicycle frame of its own colour."""
        rng = self.rng
        look = _random_look(rng, self.hue0 + 0.3 + next(self.count) * 0.618034)
        helmet = HELMETS[int(rng.integers(len(HELMETS)))]
        frame = _hsv(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.5, 0.9))
        return Look(**{**look.__dict__, "hair": helmet, "frame": frame})


def _in_view(scene: Scene, fig: Figure) -> bool:
    x, _, w, _ = fig.box(scene)
    return x + w > 0 and x < scene.width


def _overlap(scene: Scene, a: Figure, b: Figure, gap: float = 0.3) -> bool:
    """Do a and b (same lane) overlap, or come within `gap` times a's height of each other?"""
    ax, _, aw, ah = a.box(scene)
    bx, _, bw, _ = b.box(scene)
    margin = gap * ah
    return ax - margin < bx + bw and bx < ax + aw + margin

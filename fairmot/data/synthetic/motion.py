"""Who is in the scene and how they move: walkers entering and leaving, ignore-class figures, steps."""

from __future__ import annotations

import math

import numpy as np

from fairmot.data.synthetic.appearance import _grey_look
from fairmot.data.synthetic.figures import Figure, Look, Scene

# Ignore-class figures: kind -> MOT class (all zero-marked, as in MOT17's gt)
IGNORE_KINDS = {"static": 7, "rider": 2, "mannequin": 8, "reflection": 12}


def _new_walker(rng: np.random.Generator, scene: Scene, look: Look, *, x: float | None, direction: int,
                foot: float, depth_drift: float = 0.1) -> Figure:
    fig = Figure(
        kind="walker", cls=1, mark=1, look=look, x=0.0, foot=foot,
        speed=direction * rng.uniform(0.014, 0.034), vy=0.0, drift=rng.uniform(-depth_drift, depth_drift),
        stature=rng.uniform(0.92, 1.08), aspect=rng.uniform(0.36, 0.44), phase=rng.uniform(0, 2 * math.pi),
    )
    _, _, w, _ = fig.box(scene)
    fig.x = x if x is not None else (-w + 1.0 if direction > 0 else scene.width - 1.0)
    return fig


def _initial_walkers(rng, scene: Scene, density: float, next_look, depth_drift: float = 0.1) -> list[Figure]:
    figures: list[Figure] = []
    for _ in range(int(round(density))):
        for _attempt in range(20):
            foot = rng.uniform(scene.foot_min, scene.foot_max)
            h = scene.height_at(foot)
            x = rng.uniform(-0.3 * 0.4 * h, scene.width - 0.7 * 0.4 * h)
            if not any(_too_close(scene, other, x, foot) for other in figures):
                break
        figures.append(_new_walker(rng, scene, next_look(), x=x, direction=1 if rng.random() < 0.5 else -1, foot=foot,
                                   depth_drift=depth_drift))
    return figures


def _too_close(scene: Scene, other: Figure, x: float, foot: float) -> bool:
    """Would a figure at (x, foot) start mostly hidden behind or in front of `other`?"""
    h = scene.height_at(foot)
    return abs(other.foot - foot) < 0.3 * h and abs(other.x - x) < 0.6 * h


def _arrivals(rng, scene: Scene, figures: list[Figure], density: float, next_look,
              depth_drift: float = 0.1) -> list[Figure]:
    """New walkers at the left/right edges: a steady inflow plus a pull towards the target density."""
    walkers = [f for f in figures if f.kind == "walker"]
    in_view = sum(1 for f in walkers if _in_image_fraction(scene, f.box(scene)) > 0)
    rate = density * 1.6 / (scene.width + 25) + 0.05 * max(0.0, density - in_view)
    arrivals = []
    for _ in range(min(2, int(rng.poisson(rate)))):
        direction = 1 if rng.random() < 0.5 else -1
        edge_x = 0.0 if direction > 0 else float(scene.width)
        for _attempt in range(5):
            foot = rng.uniform(scene.foot_min, scene.foot_max)
            blocked = any(
                abs(o.foot - foot) < 0.35 * scene.height_at(foot)
                and abs(o.x + 0.2 * scene.height_at(o.foot) - edge_x) < 0.9 * scene.height_at(foot)
                for o in walkers + arrivals
            )
            if not blocked:
                arrivals.append(_new_walker(rng, scene, next_look(), x=None, direction=direction, foot=foot,
                                            depth_drift=depth_drift))
                break
    return arrivals


def _ignore_figures(rng, scene: Scene, frames: int, budget: int, next_look,
                    kinds: tuple[str, ...] = tuple(IGNORE_KINDS)) -> list[Figure]:
    """Zero-marked figures of `kinds` (MOT17 ignore classes), about `budget` annotated rows in all."""
    figures: list[Figure] = []
    kinds = list(kinds)
    offset = int(rng.integers(len(kinds)))
    while budget >= 8:
        kind = kinds[(offset + len(figures)) % len(kinds)]
        life = int(min(budget, frames, rng.integers(15, 45)))
        budget -= life
        first = int(rng.integers(1, max(2, frames - life + 2)))
        foot = rng.uniform(scene.foot_min, scene.foot_max)
        h = scene.height_at(foot)
        look = _grey_look(rng) if kind == "mannequin" else next_look()
        aspect = rng.uniform(0.7, 0.8) if kind == "rider" else rng.uniform(0.36, 0.44)
        x = rng.uniform(0.05 * scene.width, 0.95 * scene.width - aspect * h)
        speed, direction = 0.0, 1 if rng.random() < 0.5 else -1
        if kind == "rider":  # crosses the whole frame during its life
            speed = direction * min(0.15, max(0.04, (scene.width + aspect * h) / (life * h)))
            x = -aspect * h + 1 if direction > 0 else scene.width - 1.0
        elif kind == "reflection":
            speed = direction * rng.uniform(0.01, 0.02)
            look = Look(**{**look.__dict__, "translucent": True})
        figures.append(Figure(
            kind=kind, cls=IGNORE_KINDS[kind], mark=0, look=look, x=x, foot=foot, speed=speed, vy=0.0,
            drift=0.0, stature=rng.uniform(0.92, 1.08), aspect=aspect, first=first, last=first + life - 1,
        ))
    return figures


def _step(rng: np.random.Generator, scene: Scene, fig: Figure) -> None:
    """Constant velocity with small noise: mostly horizontal, slow drift in depth (hence scale)."""
    if fig.speed == 0.0:
        return
    h = scene.height_at(fig.foot) * fig.stature
    vx = fig.speed * h * (1.0 + 0.05 * rng.standard_normal())
    fig.x += vx
    if fig.kind == "walker":
        fig.vy = 0.9 * fig.vy + 0.1 * fig.drift + 0.03 * rng.standard_normal()
        fig.foot += fig.vy
        if not scene.foot_min <= fig.foot <= scene.foot_max:
            fig.foot = min(max(fig.foot, scene.foot_min), scene.foot_max)
            fig.drift, fig.vy = -fig.drift, -fig.vy
    fig.phase += 2 * math.pi * abs(vx) / (0.8 * h)


def _gone(fig: Figure, scene: Scene, frame: int) -> bool:
    if frame >= fig.last:
        return True
    x, _, w, _ = fig.box(scene)
    return (fig.speed > 0 and x >= scene.width) or (fig.speed < 0 and x + w <= 0)



def _in_image_fraction(scene: Scene, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    iw = max(0, min(scene.width, x + w) - max(0, x))
    ih = max(0, min(scene.height, y + h) - max(0, y))
    return iw * ih / float(w * h)

"""The embedded dataset: pedestrian-like figures walking over a textured scene, with exact ground truth.

Why synthetic: the default pipeline must run anywhere (no download, no GPU) and still exercise what
MOT17 exercises: people entering and leaving the frame, occluding each other, changing scale with
depth, boxes past the image edge, and the ignore classes and zero-marked rows that the MOT17
evaluation filters. Each identity keeps one distinctive look (shirt, trousers, pattern, hair) so
the re-ID head has something to learn.

Geometry: a ground plane seen from above eye level. A figure's feet (box bottom) set its depth:
the lower in the image, the nearer and the taller. Figures are drawn far to near, and the
visibility column is the fraction of the box that is inside the image and not covered by the
silhouette of a nearer figure. Everything comes from one seeded numpy Generator per sequence and
OpenCV's deterministic drawing and JPEG encoder, so a rerun is byte-identical.

Presets: `default` is the quick set above (about 8 people in view, each in its own colours).
`crowd` is a set on which trackers differ: about 35 people in view, most boxes partly hidden,
walkers drifting in depth so their paths cross, clothes from a palette of six shared outfits (so
appearance alone cannot tell identities apart) and a slightly shaking camera. The crowd-only
randomness comes from a second generator, so the default's stream and files stay unchanged.
"""

from __future__ import annotations

import colorsys
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fairmot.data.mot import SeqInfo, write_gt, write_seqinfo

JPEG_QUALITY = 92
# A box is annotated once half of it lies inside the image. Boxes still extend past the edge, as in
# MOT17, but a detector that (like FairMOT's targets) predicts the in-image part can still reach
# IoU >= 0.5 with every annotated box; slivers at the border would be unmatchable misses.
MIN_IN_IMAGE = 0.5
# Ignore-class figures: kind -> MOT class (all zero-marked, as in MOT17's gt)
IGNORE_KINDS = {"static": 7, "rider": 2, "mannequin": 8, "reflection": 12}

BGR = tuple[int, int, int]


@dataclass(frozen=True)
class Preset:
    """What a preset changes; the zero values reproduce the default set exactly."""

    min_density: float = 0.0  # the sequence's target density is at least this
    shared_palette: bool = False  # outfits from CROWD_OUTFITS instead of one look per identity
    depth_drift: float = 0.1  # max |drift| in pixels per frame along the depth axis
    jitter: float = 0.0  # camera shake: standard deviation of the per-frame offset, pixels


PRESETS = {
    "default": Preset(),
    "crowd": Preset(min_density=40.0, shared_palette=True, depth_drift=0.45, jitter=1.2),
}
# The crowd's outfits: shirt, trousers (BGR). Six for every identity of a sequence.
CROWD_OUTFITS: tuple[tuple[BGR, BGR], ...] = (
    ((60, 60, 170), (50, 40, 35)),
    ((150, 90, 40), (50, 40, 35)),
    ((60, 140, 60), (70, 70, 70)),
    ((170, 170, 170), (50, 40, 35)),
    ((40, 40, 40), (90, 80, 60)),
    ((60, 160, 190), (70, 70, 70)),
)


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


@dataclass
class Figure:
    kind: str  # walker | static | rider | mannequin | reflection
    cls: int
    mark: int
    look: Look
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

    def box(self, scene: Scene) -> tuple[int, int, int, int]:
        """Integer (x, y, w, h): the exact gt box, also the extent of the drawn silhouette."""
        h = max(8, int(round(scene.height_at(self.foot) * self.stature)))
        w = max(4, int(round(self.aspect * h)))
        return int(round(self.x)), int(round(self.foot)) - h, w, h


def generate_synthetic(
    out_dir: Path,
    *,
    seed: int,
    train_sequences: int,
    val_sequences: int,
    frames: int,
    width: int,
    height: int,
    frame_rate: int,
    density: float,
    ignore_fraction: float,
    preset: str = "default",
) -> None:
    """Write SYN-01.. under out_dir/images/train and the held-out ones (numbered on) under images/test.

    Every sequence gets seqinfo.ini, img1/%06d.jpg and gt/gt.txt (9 MOT columns). `density` is the
    mean number of walking figures in view; `ignore_fraction` of the rows (about) belong to
    zero-marked ignore-class figures (static persons, riders, mannequins, reflections). `preset`
    names an entry of PRESETS (see the module docstring).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if frames < 1 or width < 32 or height < 32:
        raise ValueError("synthetic dataset needs frames >= 1 and an image of at least 32x32")
    out_dir = Path(out_dir)
    total = train_sequences + val_sequences
    for index in range(total):
        split = "train" if index < train_sequences else "test"
        name = f"SYN-{index + 1:02d}"
        rng = np.random.default_rng([seed, index])
        _render_sequence(
            out_dir / "images" / split / name, name, rng, Scene(width, height),
            frames=frames, frame_rate=frame_rate, density=density, ignore_fraction=ignore_fraction,
            preset=PRESETS[preset], extra_rng=np.random.default_rng([seed, index, 1]),
        )


def _render_sequence(
    seq_dir: Path, name: str, rng: np.random.Generator, scene: Scene, *,
    frames: int, frame_rate: int, density: float, ignore_fraction: float,
    preset: Preset = PRESETS["default"], extra_rng: np.random.Generator | None = None,
) -> None:
    info = SeqInfo(name=name, frame_rate=frame_rate, seq_length=frames, width=scene.width, height=scene.height)
    (seq_dir / "img1").mkdir(parents=True, exist_ok=True)
    (seq_dir / "gt").mkdir(parents=True, exist_ok=True)
    write_seqinfo(seq_dir / "seqinfo.ini", info)

    background = _background(rng, scene).astype(np.uint8)  # values already within [65, 205]
    noise_sigma = rng.uniform(1.5, 3.5)
    flicker_phase = rng.uniform(0, 2 * math.pi)
    hue0 = rng.random()
    look_index = itertools.count(1)

    def next_look() -> Look:  # shirt hues a golden-ratio step apart: neighbours in time look different
        if preset.shared_palette:
            return _palette_look(extra_rng)
        return _random_look(rng, hue0 + next(look_index) * 0.618034)

    seq_density = max(density, preset.min_density) * rng.uniform(0.85, 1.15)
    figures = _initial_walkers(rng, scene, seq_density, next_look, preset.depth_drift)
    figures += _ignore_figures(rng, scene, frames, round(ignore_fraction * density * frames), next_look)
    rows: list[tuple[int, int, int, int, int, int, int, int, float]] = []
    next_tid = 1
    shift = (0, 0)
    for frame in tqdm(range(1, frames + 1), desc=name, unit="frame", leave=False, disable=None):
        if frame > 1:
            figures += _arrivals(rng, scene, figures, seq_density, next_look, preset.depth_drift)
        present = [f for f in figures if f.first <= frame <= f.last]
        # far to near; reflections are seen "through glass", behind everyone
        present.sort(key=lambda f: (f.kind != "reflection", f.foot, f.x))
        shift = _camera_shift(extra_rng, shift, preset.jitter) if preset.jitter else (0, 0)
        canvas = _shifted(background, shift)
        owner = np.zeros((scene.height, scene.width), dtype=np.int16)
        boxes = []
        for rank, fig in enumerate(present, start=1):
            x, y, w, h = fig.box(scene)
            box = (x + shift[0], y + shift[1], w, h)
            boxes.append(box)
            _draw_figure(canvas, None if fig.look.translucent else owner, rank, box, fig)
        for rank, (fig, box) in enumerate(zip(present, boxes), start=1):
            inside, visible = _visibility(owner, rank, box)
            if inside < MIN_IN_IMAGE:
                continue
            if fig.tid == 0:
                fig.tid, next_tid = next_tid, next_tid + 1
            x, y, w, h = box
            rows.append((frame, fig.tid, x, y, w, h, fig.mark, fig.cls, round(visible, 2)))
        gain = 1.0 + 0.03 * math.sin(2 * math.pi * frame / 90.0 + flicker_phase)
        noisy = canvas.astype(np.float32) * gain + rng.standard_normal(canvas.shape, dtype=np.float32) * noise_sigma
        jpeg = _encode(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
        info.frame_path(seq_dir, frame).write_bytes(jpeg)
        for fig in present:
            _step(rng, scene, fig)
        figures = [f for f in figures if not _gone(f, scene, frame)]
    rows.sort(key=lambda r: (r[1], r[0]))
    write_gt(seq_dir / "gt" / "gt.txt", np.asarray(rows, dtype=np.float64).reshape(-1, 9))


def _camera_shift(rng: np.random.Generator, shift: tuple[int, int], jitter: float) -> tuple[int, int]:
    """Camera shake: the scene offset is pulled back to 0 and nudged each frame, within 3 jitters."""
    bound = int(math.ceil(3 * jitter))
    step = rng.normal(0.0, jitter, size=2)
    return tuple(int(np.clip(round(0.6 * s + d), -bound, bound)) for s, d in zip(shift, step))


def _shifted(background: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """The background seen by a camera moved by -shift: scene point (X, Y) lands on (X+dx, Y+dy)."""
    dx, dy = shift
    if dx == 0 and dy == 0:
        return background.copy()
    pad = max(abs(dx), abs(dy))
    padded = np.pad(background, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    h, w = background.shape[:2]
    return padded[pad - dy: pad - dy + h, pad - dx: pad - dx + w].copy()


def _encode(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


# ---------------------------------------------------------------------------------------------
# Scene and appearance


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


# Float maths below is elementwise numpy (exactly rounded on every CPU) rather than OpenCV's SIMD
# filters, whose last bits may differ between instruction sets: the dataset must be byte-identical
# on any machine so that DVC sees the same hashes.


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


def _palette_look(rng: np.random.Generator) -> Look:
    """A crowd outfit: one of six shirt/trouser pairs, plain, the same skin and hair for all."""
    shirt, trousers = CROWD_OUTFITS[int(rng.integers(len(CROWD_OUTFITS)))]
    return Look(shirt=shirt, sleeve=shirt, trousers=trousers, skin=SKIN[0], hair=HAIR[0], accent=shirt,
                pattern="plain")


def _grey_look(rng: np.random.Generator) -> Look:
    grey = int(rng.integers(150, 200))
    g = (grey, grey, grey)
    d = (grey - 40,) * 3
    return Look(shirt=g, sleeve=g, trousers=d, skin=g, hair=d, accent=g, pattern="plain")


# ---------------------------------------------------------------------------------------------
# Population and motion


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


def _ignore_figures(rng, scene: Scene, frames: int, budget: int, next_look) -> list[Figure]:
    """Zero-marked figures of the MOT17 ignore classes, about `budget` annotated rows in all."""
    figures: list[Figure] = []
    kinds = list(IGNORE_KINDS)
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


# ---------------------------------------------------------------------------------------------
# Drawing and visibility


def _in_image_fraction(scene: Scene, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    iw = max(0, min(scene.width, x + w) - max(0, x))
    ih = max(0, min(scene.height, y + h) - max(0, y))
    return iw * ih / float(w * h)


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
    if fig.look.translucent:
        layer = image.copy()
        _draw_person(_Painter(layer, None, rank), box, fig.look, fig.phase, rider=False)
        image[:] = (layer.astype(np.int16) * 2 + image.astype(np.int16) * 3 + 2) // 5  # 40% opaque
        return
    _draw_person(_Painter(image, owner, rank), box, fig.look, fig.phase, rider=fig.kind == "rider")


def _draw_person(p: _Painter, box: tuple[int, int, int, int], look: Look, phase: float, *, rider: bool) -> None:
    """Head, hair, torso with arms, and two swinging legs, filling the box edge to edge."""
    x, y, w, h = box
    body_w = int(round(0.4 * h)) if rider else w  # a rider's box also holds the bicycle
    bx = x + (w - body_w) // 2 if rider else x
    cx = bx + body_w / 2.0
    bottom = y + h - 1
    # head
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
    if rider:
        wheel = max(3, int(round(0.17 * h)))
        thick = max(1, h // 30)
        hub_y = bottom - wheel - thick // 2
        left_c, right_c = (x + wheel + thick // 2, hub_y), (x + w - 1 - wheel - thick // 2, hub_y)
        p.ring(left_c, wheel, (40, 40, 40), max(2, thick))
        p.ring(right_c, wheel, (40, 40, 40), max(2, thick))
        p.poly([left_c, (int(cx) - 1, hip), (int(cx) + 1, hip), right_c], (60, 60, 160))
        leg = max(2, int(round(0.28 * body_w)))
        p.poly([(int(cx) - leg // 2, hip), (int(cx) + leg // 2, hip), (int(cx) + leg // 2, hub_y),
                (int(cx) - leg // 2, hub_y)], look.trousers)
        return
    # legs: hips at 35% / 65% of the width, feet swinging +-17% in opposite phase
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

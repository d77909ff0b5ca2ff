"""Writing the sequences: seqinfo.ini, one JPEG per frame and gt/gt.txt, from one seeded stream each.

Every random draw keeps its place in the per-sequence stream (the order below is the data's
definition): regrouping these steps would change every generated file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fairmot.data.formats.mot import SeqInfo, write_gt, write_seqinfo
from fairmot.data.synthetic.appearance import _background, _random_look
from fairmot.data.synthetic.camera import CAMERAS, Camera, View
from fairmot.data.synthetic.drawing import _draw_figure, _visibility
from fairmot.data.synthetic.figures import Figure, Look, Scene
from fairmot.data.synthetic.motion import IGNORE_KINDS, _arrivals, _gone, _ignore_figures, _initial_walkers, _step
from fairmot.data.synthetic.presets import PRESETS, Preset, _palette_look
from fairmot.data.synthetic.street import Traffic

JPEG_QUALITY = 92
# A box is annotated once half of it lies inside the image. Boxes still extend past the edge, as in
# MOT17, but a detector that (like FairMOT's targets) predicts the in-image part can still reach
# IoU >= 0.5 with every annotated box; slivers at the border would be unmatchable misses.
MIN_IN_IMAGE = 0.5

GtRow = tuple[int, int, int, int, int, int, int, int, float]
Box = tuple[int, int, int, int]


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
    camera: str = "preset",
) -> None:
    """Write SYN-01.. under out_dir/images/train and the held-out ones (numbered on) under images/test.

    Every sequence gets seqinfo.ini, img1/%06d.jpg and gt/gt.txt (9 MOT columns). `density` is the
    mean number of walking figures in view; `ignore_fraction` of the rows (about) belong to
    zero-marked ignore-class figures (static persons, riders, mannequins, reflections). `preset`
    names an entry of PRESETS (see the package docstring); `camera` one of CAMERAS (camera.py):
    `preset` is the preset's own (default: static, crowd: shake).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if camera not in CAMERAS:
        raise ValueError(f"unknown synthetic camera {camera!r}; choose one of {', '.join(CAMERAS)}")
    if frames < 1 or width < 32 or height < 32:
        raise ValueError("synthetic dataset needs frames >= 1 and an image of at least 32x32")
    out_dir = Path(out_dir)
    total = train_sequences + val_sequences
    for index in range(total):
        split = "train" if index < train_sequences else "test"
        name = f"SYN-{index + 1:02d}"
        rng = np.random.default_rng([seed, index])
        traffic = Traffic(np.random.default_rng([seed, index, 3]), Scene(width, height)) if PRESETS[preset].traffic else None
        _render_sequence(
            out_dir / "images" / split / name, name, rng, Scene(width, height),
            frames=frames, frame_rate=frame_rate, density=density, ignore_fraction=ignore_fraction,
            preset=PRESETS[preset], extra_rng=np.random.default_rng([seed, index, 1]),
            camera=camera, path_rng=np.random.default_rng([seed, index, 2]),
            traffic=traffic,
        )


def _render_sequence(
    seq_dir: Path, name: str, rng: np.random.Generator, scene: Scene, *,
    frames: int, frame_rate: int, density: float, ignore_fraction: float,
    preset: Preset = PRESETS["default"], extra_rng: np.random.Generator | None = None,
    camera: str = "preset", path_rng: np.random.Generator | None = None, traffic: Traffic | None = None,
) -> None:
    info = SeqInfo(name=name, frame_rate=frame_rate, seq_length=frames, width=scene.width, height=scene.height)
    (seq_dir / "img1").mkdir(parents=True, exist_ok=True)
    (seq_dir / "gt").mkdir(parents=True, exist_ok=True)
    write_seqinfo(seq_dir / "seqinfo.ini", info)

    background = _background(rng, scene).astype(np.uint8)  # values already within [65, 205]
    noise_sigma = rng.uniform(1.5, 3.5)
    flicker_phase = rng.uniform(0, 2 * math.pi)
    next_look = _look_source(rng, extra_rng, preset)
    seq_density = max(density, preset.min_density) * rng.uniform(0.85, 1.15)
    figures = _initial_walkers(rng, scene, seq_density, next_look, preset.depth_drift)
    # on the street a zero-marked rider (class 2) would look like a cyclist: none there
    kinds = tuple(k for k in IGNORE_KINDS if traffic is None or k != "rider")
    figures += _ignore_figures(rng, scene, frames, round(ignore_fraction * density * frames), next_look, kinds)
    figures += traffic.initial() if traffic else []
    rows: list[GtRow] = []
    next_tid = 1
    cam = Camera(camera, width=scene.width, height=scene.height, frame_rate=frame_rate, preset_jitter=preset.jitter,
                 shake_rng=extra_rng, path_rng=path_rng)
    for frame in tqdm(range(1, frames + 1), desc=name, unit="frame", leave=False, disable=None):
        if frame > 1:
            figures += _arrivals(rng, scene, figures, seq_density, next_look, preset.depth_drift)
            figures += traffic.arrivals(figures) if traffic else []
        present = [f for f in figures if f.first <= frame <= f.last]
        # far to near; reflections are seen "through glass", behind everyone
        present.sort(key=lambda f: (f.kind != "reflection", f.foot, f.x))
        view = cam.next_view(frame)
        canvas, owner, boxes = _draw_frame(view.render(background), scene, present, view)
        next_tid = _annotate(rows, frame, present, boxes, owner, next_tid)
        info.frame_path(seq_dir, frame).write_bytes(_exposed(canvas, rng, frame, flicker_phase, noise_sigma))
        for fig in present:
            if fig.kind in ("car", "cyclist"):
                traffic.step(fig, figures)
            else:
                _step(rng, scene, fig)
        figures = [f for f in figures if not _gone(f, scene, frame)]
    rows.sort(key=lambda r: (r[1], r[0]))
    write_gt(seq_dir / "gt" / "gt.txt", np.asarray(rows, dtype=np.float64).reshape(-1, 9))


def _look_source(rng: np.random.Generator, extra_rng: np.random.Generator | None, preset: Preset) -> Callable[[], Look]:
    """Each new identity's look. Draws its base hue from `rng` now, so call it at this point of the stream."""
    hue0 = rng.random()
    look_index = itertools.count(1)

    def next_look() -> Look:  # shirt hues a golden-ratio step apart: neighbours in time look different
        if preset.shared_palette:
            return _palette_look(extra_rng)
        return _random_look(rng, hue0 + next(look_index) * 0.618034)

    return next_look


def _draw_frame(canvas: np.ndarray, scene: Scene, present: list[Figure], view: View
                ) -> tuple[np.ndarray, np.ndarray, list[Box]]:
    """Draw `present` (far to near) onto `canvas` at their boxes seen through `view`; return it, the owner
    map and each figure's box in the image."""
    owner = np.zeros((scene.height, scene.width), dtype=np.int16)
    boxes = []
    for rank, fig in enumerate(present, start=1):
        box = view.box(fig.box(scene))
        boxes.append(box)
        _draw_figure(canvas, None if fig.look.translucent else owner, rank, box, fig)
    return canvas, owner, boxes


def _annotate(rows: list[GtRow], frame: int, present: list[Figure], boxes: list[Box], owner: np.ndarray,
              next_tid: int) -> int:
    """Append this frame's gt rows (ids given on first annotation); return the next free id."""
    for rank, (fig, box) in enumerate(zip(present, boxes), start=1):
        inside, visible = _visibility(owner, rank, box)
        if inside < MIN_IN_IMAGE:
            continue
        if fig.tid == 0:
            fig.tid, next_tid = next_tid, next_tid + 1
        x, y, w, h = box
        rows.append((frame, fig.tid, x, y, w, h, fig.mark, fig.cls, round(visible, 2)))
    return next_tid


def _exposed(canvas: np.ndarray, rng: np.random.Generator, frame: int, flicker_phase: float, noise_sigma: float) -> bytes:
    """The JPEG the camera records: a slow brightness flicker and sensor noise over the drawn frame."""
    gain = 1.0 + 0.03 * math.sin(2 * math.pi * frame / 90.0 + flicker_phase)
    noisy = canvas.astype(np.float32) * gain + rng.standard_normal(canvas.shape, dtype=np.float32) * noise_sigma
    return _encode(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))


def _encode(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()

"""The synthetic camera modes: the default and crowd sets unchanged, a panning view whose ground truth stays exact."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from fairmot.data.formats.mot import read_gt
from fairmot.data.synthetic import generate_synthetic
from fairmot.data.synthetic.camera import Camera, View

SMALL = dict(seed=0, train_sequences=1, val_sequences=1, frames=10, width=320, height=192, frame_rate=30, density=8.0,
             ignore_fraction=0.03)
# Taken with the generator as it was before the camera modes existed (git show HEAD: of that commit);
# every file (images and gt) of SMALL enters the hash. An OpenCV with another JPEG encoder moves it too.
PINNED_TREES = {
    "default": "5fcc8d00bbe56acdc3448d9456518125e66a0b465c8709e40fde0bbb1cd4f822",
    "crowd": "4561bd97853f4cffa1967722334c1ab4a0f387c3247e6dfe8603a9caaf7045cd",
}


def tree_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            digest.update(p.relative_to(root).as_posix().encode())
            digest.update(hashlib.sha256(p.read_bytes()).digest())
    return digest.hexdigest()


@pytest.mark.parametrize("preset", ["default", "crowd"])
def test_the_presets_own_camera_gives_the_files_of_before_byte_for_byte(tmp_path, preset):
    generate_synthetic(tmp_path / "a", preset=preset, **SMALL)
    assert tree_sha256(tmp_path / "a") == PINNED_TREES[preset]
    own = "static" if preset == "default" else "shake"
    generate_synthetic(tmp_path / "b", preset=preset, camera=own, **SMALL)
    assert tree_sha256(tmp_path / "b") == PINNED_TREES[preset]


def pan_camera(seed: int = 0, index: int = 0) -> Camera:
    """The camera generate_synthetic builds for sequence `index` of the default preset with camera pan."""
    return Camera("pan", width=320, height=192, frame_rate=30, preset_jitter=0.0,
                  shake_rng=np.random.default_rng([seed, index, 1]), path_rng=np.random.default_rng([seed, index, 2]))


def test_pan_zooms_into_a_window_inside_the_world_and_moves_a_few_percent_per_second():
    camera = pan_camera()
    shaken = [camera.next_view(f) for f in range(1, 151)]
    camera = pan_camera()
    camera.shakes = False
    views = [camera.next_view(f) for f in range(1, 151)]
    assert max(max(abs(a.tx - b.tx), abs(a.ty - b.ty)) for a, b in zip(views, shaken)) <= 4  # the shake on top
    scale = np.array([v.scale for v in views])
    assert scale.min() >= 1.19 - 1e-9 and scale.max() <= 1.31 + 1e-9
    for v in views:  # the image's corners come from inside the world, give or take the shake (<= 4 px)
        corners = (np.array([[0, 0], [320, 192]]) - [v.tx, v.ty]) / v.scale
        assert corners.min() >= -4 / v.scale and (corners[1] <= np.array([320, 192]) + 4 / v.scale).all()
    tx = np.array([v.tx for v in views])
    per_second = np.abs(np.diff(tx)) * 30 / 320
    assert 0.02 < np.median(per_second) < 0.15 and per_second.max() < 0.2
    assert np.abs(np.diff(tx, 2)).max() < 0.05  # smooth: no jerks
    assert 0.01 < np.abs(np.diff(scale) / scale[1:]).max() * 30 <= 0.06


def test_a_view_draws_a_world_box_where_it_maps_the_background():
    world = np.full((192, 320, 3), 100, np.uint8)
    world[50:80, 120:140] = 250  # a bright patch: world box (120, 50, 20, 30)
    view = View(1.25, -37.0, -12.2)
    image = view.render(world)
    x, y, w, h = view.box((120, 50, 20, 30))
    assert (x, y, w, h) == (113, 50, 25, 38)  # corners 1.25 * (120, 50) + t and 1.25 * (140, 80) + t, rounded
    bright = np.argwhere(image[..., 0] > 175)
    assert (bright.min(axis=0) == [y, x]).all() and (bright.max(axis=0) == [y + h - 1, x + w - 1]).all()


def test_a_panned_sequence_is_one_world_seen_through_the_known_views(tmp_path):
    """Frame 20 is frame 1 warped by the known affine between their views (background pixels; people move)."""
    empty = {**SMALL, "frames": 20, "val_sequences": 0, "density": 0.01, "ignore_fraction": 0.0}  # the street alone
    generate_synthetic(tmp_path, camera="pan", **empty)
    seq = tmp_path / "images/train/SYN-01"
    first, second = (cv2.imread(str(seq / f"img1/{f:06d}.jpg")).astype(np.float32) for f in (1, 20))
    camera = pan_camera()
    views = [camera.next_view(f) for f in range(1, 21)]
    a, b = (np.vstack([views[f - 1].matrix, [0, 0, 1]]) for f in (1, 20))
    step = (b @ np.linalg.inv(a))[:2]
    assert np.abs(step - np.eye(3)[:2]).max() > 0.5  # the camera did move (by more than half a pixel)
    centre = step.copy()
    centre[:, 2] += step[:, :2] @ [0.5, 0.5] - 0.5  # pixel-edge to pixel-centre coordinates
    warped = cv2.warpAffine(first, centre, (320, 192), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    background = np.ones((192, 320), bool)
    gt = read_gt(seq / "gt/gt.txt")
    for _, _, x, y, w, h, *_ in gt[np.isin(gt[:, 0], [1, 20])]:
        background[max(0, int(y) - 2): int(y + h) + 2, max(0, int(x) - 2): int(x + w) + 2] = False
    background[:8], background[-8:], background[:, :8], background[:, -8:] = False, False, False, False
    assert background.mean() > 0.8
    registered = np.abs(warped - second)[background].mean()
    unregistered = np.abs(first - second)[background].mean()
    assert registered < 3.5 and unregistered > 3 * registered  # what is left is sensor noise, flicker and JPEG


def test_pan_keeps_the_people_and_annotates_only_those_in_view(tmp_path):
    generate_synthetic(tmp_path / "shake", preset="crowd", camera="shake", **{**SMALL, "val_sequences": 0})
    generate_synthetic(tmp_path / "pan", preset="crowd", camera="pan", **{**SMALL, "val_sequences": 0})
    shake, pan = (read_gt(tmp_path / m / "images/train/SYN-01/gt/gt.txt") for m in ("shake", "pan"))
    assert 0.4 * len(shake) < len(pan) < len(shake)  # the zoomed view holds fewer of the same people
    boxes = pan[:, 2:6]
    inside_w = np.minimum(boxes[:, 0] + boxes[:, 2], 320) - np.maximum(boxes[:, 0], 0)
    inside_h = np.minimum(boxes[:, 1] + boxes[:, 3], 192) - np.maximum(boxes[:, 1], 0)
    assert (inside_w * inside_h >= 0.5 * boxes[:, 2] * boxes[:, 3] - 1e-9).all()
    assert np.median(pan[:, 5]) > 1.1 * np.median(shake[:, 5])  # zoomed in: taller boxes


def test_unknown_camera_is_refused(tmp_path):
    with pytest.raises(ValueError, match="pan"):
        generate_synthetic(tmp_path, camera="drone", **SMALL)

"""Training samples: letterbox geometry, augmentation bookkeeping and hand-computed stride-4 targets."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fairmot.data.dataset import (
    JointDataset,
    build_targets,
    gaussian_radius,
    letterbox,
    warp_boxes,
)
from fairmot.errors import DataError

W, H = 320, 192  # default input; output map 80 x 48


def write_dataset(
    root: Path, frames: list[tuple[np.ndarray, list[str]]], seq: str = "SYN-01"
) -> tuple[Path, Path, Path]:
    """Write PNG frames (lossless, so pixel values are exact), their label files and a train split
    in the pipeline's layout; returns (dataset_root, labels_root, split_file)."""
    dataset_root, labels_root = root / "dataset", root / "labels_with_ids"
    lines = []
    for i, (image, label_lines) in enumerate(frames, start=1):
        rel = f"images/train/{seq}/img1/{i:06d}.png"
        (dataset_root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dataset_root / rel), image)
        label = labels_root / "train" / seq / "img1" / f"{i:06d}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(line + "\n" for line in label_lines))
        lines.append(rel)
    split = root / "splits" / "train.txt"
    split.parent.mkdir(parents=True, exist_ok=True)
    split.write_text("\n".join(lines) + "\n")
    return dataset_root, labels_root, split


# Hand-made frame at exactly the input size (ratio 1, no padding):
#  A: 32x48 px box centred at (161, 98)  -> map centre (40.25, 24.5), 8x12 cells
#  B: 40x48 px box centred at (-4, 48)   -> centre (-1, 12) clipped to (0, 12), 10x12 cells
#  C: zero width                          -> slot left empty
#  D: 1x1 px box centred at (240, 144)   -> centre (60, 36), radius 0 (a single peak)
HAND_LABELS = [
    "0 7 0.503125 0.510417 0.100000 0.250000",
    "0 8 -0.012500 0.250000 0.125000 0.250000",
    "0 9 0.750000 0.750000 0.000000 0.050000",
    "0 10 0.750000 0.750000 0.003125 0.005208",
]


@pytest.fixture
def hand_sample(tmp_path):
    image = np.full((H, W, 3), 90, np.uint8)
    ds = JointDataset(*write_dataset(tmp_path, [(image, HAND_LABELS)]), width=W, height=H, augment=False)
    return ds, ds[0]


def test_gaussian_radius_is_cornernet_smallest_root():
    # h=12, w=8: third root (-2*0.7*20 + sqrt((1.4*20)^2 + 4*2.8*0.3*96)) / 2 = (-28 + sqrt(1106.56)) / 2
    assert gaussian_radius(12, 8) == pytest.approx((-28 + math.sqrt(1106.56)) / 2)
    assert gaussian_radius(12, 8) == pytest.approx(2.6325, abs=1e-4)
    assert gaussian_radius(1, 1) == pytest.approx(0.27332, abs=1e-5)


def test_targets_of_hand_made_sample_match_hand_computation(hand_sample):
    _, s = hand_sample
    assert s["reg_mask"][:5].tolist() == [1, 1, 0, 1, 0]
    assert s["ind"][:4].tolist() == [24 * 80 + 40, 12 * 80 + 0, 0, 36 * 80 + 60]
    assert s["ids"][:5].tolist() == [7, 8, -1, 10, -1]
    np.testing.assert_allclose(s["reg"][0].numpy(), [0.25, 0.5], atol=1e-4)
    np.testing.assert_allclose(s["reg"][1].numpy(), [0.0, 0.0], atol=1e-6)
    # ltrb from the (clipped) centre to the unclipped edges, in output cells
    np.testing.assert_allclose(s["wh"][0].numpy(), [4, 6, 4, 6], atol=1e-4)
    np.testing.assert_allclose(s["wh"][1].numpy(), [6, 6, 4, 6], atol=1e-4)
    np.testing.assert_allclose(s["wh"][3].numpy(), [0.125, 0.125, 0.125, 0.125], atol=1e-3)
    assert s["wh"][2].abs().sum() == 0 and s["reg_mask"][5:].sum() == 0


def test_heatmap_gaussians_have_hand_computed_values(hand_sample):
    _, s = hand_sample
    hm = s["hm"][0].numpy()
    # A: radius int(2.63) = 2, sigma = 5/6: neighbours exp(-d^2 / (2 * 25/36))
    np.testing.assert_allclose(
        hm[24, 38:44], [math.exp(-4 * 0.72), math.exp(-0.72), 1.0, math.exp(-0.72), math.exp(-4 * 0.72), 0.0], rtol=1e-6
    )
    assert hm[22, 40] == pytest.approx(math.exp(-4 * 0.72)) and hm[21, 40] == 0
    # B: its gaussian is cut by the left border; D: radius 0, one cell
    assert hm[12, 0] == 1.0 and hm[12, 1] == pytest.approx(math.exp(-0.72))
    assert hm[36, 60] == 1.0 and hm[35:38, 59:62].sum() == pytest.approx(1.0)
    assert hm.max() == 1.0 and (hm == 1.0).sum() == 3


def test_sample_tensors_have_contract_shapes_and_types(hand_sample):
    ds, s = hand_sample
    assert s["input"].shape == (3, H, W) and s["input"].dtype == torch.float32
    assert s["hm"].shape == (1, H // 4, W // 4)
    assert (s["reg_mask"].dtype, s["ind"].dtype, s["ids"].dtype) == (torch.uint8, torch.int64, torch.int64)
    assert s["wh"].shape == (500, 4) and s["reg"].shape == (500, 2)
    assert s["input"][0, 0, 0].item() == pytest.approx(90 / 255)
    assert ds.nID == 11  # max gid 10 + 1


def test_input_is_rgb_scaled_to_unit_range(tmp_path):
    blue_bgr = np.zeros((H, W, 3), np.uint8)
    blue_bgr[..., 0] = 255
    ds = JointDataset(*write_dataset(tmp_path, [(blue_bgr, [])]), width=W, height=H, augment=False)
    x = ds[0]["input"]
    assert x[2].min().item() == 1.0 and x[0].max().item() == 0.0
    assert ds[0]["reg_mask"].sum() == 0 and ds[0]["hm"].sum() == 0


def test_letterbox_pads_evenly_and_reports_the_applied_offset():
    img = np.zeros((300, 411, 3), np.uint8)
    out, ratio, pad_w, pad_h = letterbox(img, W, H)
    # ratio = min(192/300, 320/411) = 0.64; 411*0.64 = 263.04 -> 263 wide, 57 px of padding: 28 left, 29 right
    assert out.shape == (H, W, 3) and ratio == pytest.approx(0.64)
    assert (pad_w, pad_h) == (28.0, 0.0)
    assert (out[:, :28] == 128).all() and (out[:, 28:291] == 0).all() and (out[:, 291:] == 128).all()


def test_warp_keeps_only_boxes_wider_and_taller_than_4px_inside_the_image():
    boxes = np.array(
        [
            [10, 10, 13, 30],
            [10, 10, 30, 30],
            [0, 0, 50, 2],
            [400, 10, 420, 30],
            [10, 10, 100, 14.5],
            [10, 10, 14.5, 100],
        ],
        dtype=np.float64,
    )
    out, kept = warp_boxes(boxes, np.eye(3), 0.0, W, H)
    # 3 px wide, 2 px tall, outside (x1 >= 320), aspect 90/4.5 = 20 >= 10 and 4.5/90: dropped
    assert kept.tolist() == [1]
    np.testing.assert_allclose(out, [[10, 10, 30, 30]])


def test_warp_rotation_shrinks_the_enclosing_box():
    angle = 5.0
    rotate = np.eye(3)
    rotate[:2] = cv2.getRotationMatrix2D((160, 96), angle, 1.0)
    out, kept = warp_boxes(np.array([[150.0, 76.0, 170.0, 116.0]]), rotate, angle, W, H)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    # enclosing box of a rotated 20x40 box: (20c + 40s) x (20s + 40c), shrunk by sqrt(max(|s|, |c|))
    width = (20 * c + 40 * s) * math.sqrt(c)
    height = (20 * s + 40 * c) * math.sqrt(c)
    assert kept.tolist() == [0]
    np.testing.assert_allclose(out[0, 2] - out[0, 0], width, rtol=1e-9)
    np.testing.assert_allclose(out[0, 3] - out[0, 1], height, rtol=1e-9)


def test_targets_truncate_at_max_objs_without_index_error():
    xs = np.arange(600, dtype=np.float32) % 30 * 10
    ys = np.arange(600, dtype=np.float32) // 30 * 9
    boxes = np.stack([xs, ys, xs + 8, ys + 8], axis=1)
    t = build_targets(boxes, np.arange(1, 601), W, H, max_objs=500)
    assert t["reg_mask"].sum() == 500 and t["ids"][499] == 500
    assert t["ind"].max() < (W // 4) * (H // 4)


def _object_frame() -> tuple[np.ndarray, list[str]]:
    image = np.zeros((H, W, 3), np.uint8)
    image[40:140, 100:150] = (255, 255, 255)  # a white 50x100 figure on black
    return image, ["0 3 0.390625 0.468750 0.156250 0.520833"]


def test_augmented_targets_stay_on_the_augmented_object(tmp_path):
    ds = JointDataset(*write_dataset(tmp_path, [_object_frame()]), width=W, height=H, augment=True, seed=1)
    flips = 0
    for epoch in range(12):
        ds.set_epoch(epoch)
        s = ds[0]
        assert s["reg_mask"].sum() == 1
        ind = int(s["ind"][0])
        cx = (ind % 80 + s["reg"][0, 0].item()) * 4
        cy = (ind // 80 + s["reg"][0, 1].item()) * 4
        # the target centre sits on the (white, possibly darkened by the V jitter) figure
        assert s["input"][:, int(cy), int(cx)].min().item() > 0.35
        flips += cx > 160
    # the object starts left of the middle; a flip (p = 0.5) moves it right
    assert 0 < flips < 12


def test_augmentation_depends_only_on_seed_epoch_and_index(tmp_path):
    frames = [_object_frame(), _object_frame()]
    ds = JointDataset(*write_dataset(tmp_path, frames), width=W, height=H, augment=True, seed=5)
    ds.set_epoch(3)
    first = ds[1]["input"]
    ds[0]
    assert torch.equal(ds[1]["input"], first)
    ds.set_epoch(4)
    assert not torch.equal(ds[1]["input"], first)
    ds.set_epoch(3)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    batch = next(iter(loader))
    assert torch.equal(batch["input"][1], first)


def test_missing_label_file_is_a_data_error_naming_it(tmp_path):
    dataset_root, labels_root, split = write_dataset(tmp_path, [_object_frame()])
    missing = labels_root / "train" / "SYN-01" / "img1" / "000001.txt"
    missing.unlink()
    with pytest.raises(DataError, match="000001.txt"):
        JointDataset(dataset_root, labels_root, split, W, H)


def test_malformed_label_line_is_a_data_error(tmp_path):
    image, _ = _object_frame()
    with pytest.raises(DataError, match="multiple of 6"):
        JointDataset(*write_dataset(tmp_path, [(image, ["0 3 0.5 0.5 0.1"])]), width=W, height=H)

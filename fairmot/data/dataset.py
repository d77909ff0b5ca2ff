"""FairMOT training samples: letterbox, the JDE augmentations, and the stride-4 targets.

Sample chain (docs/FAIRMOT_SPEC.md §2; ifzhang/FairMOT src/lib/datasets/dataset/jde.py JointDataset):
HSV jitter on S and V -> letterbox to the input size ->
random affine (rotation, scale, translation, shear; boxes re-fitted through their warped corners
and filtered) -> horizontal flip -> RGB in [0, 1]. Targets: a CenterNet gaussian heatmap and, per
object slot k < K, the centre index, sub-cell offset, ltrb box size and global identity.

Augmentation draws come from a generator seeded by (seed, epoch, index), so a sample is the same
whatever worker builds it and however many workers there are; call `set_epoch` every epoch.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from fairmot.data.images import read_bgr
from fairmot.data.index import label_path, read_split
from fairmot.errors import DataError

PAD_VALUE = 127.5
DOWN_RATIO = 4
MIN_OVERLAP = 0.7


def letterbox(img_bgr: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float, float, float]:
    """Resize keeping the aspect ratio (INTER_AREA) and pad to width x height with grey 127.5.

    The padding is split evenly: left/top = round(pad - 0.1), right/bottom = round(pad + 0.1),
    with pad = (target - resized) / 2. Returns (image, ratio, pad_w, pad_h) where pad_w/pad_h are
    the left/top padding actually applied, so a pixel x of the original lands at
    x * ratio + pad_w (the reference returns the unrounded half padding, up to 0.5 px off).
    """
    h, w = img_bgr.shape[:2]
    ratio = min(height / h, width / w)
    new_w, new_h = round(w * ratio), round(h * ratio)
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if (new_w, new_h) != (w, h):
        img_bgr = cv2.resize(img_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)
    if top or bottom or left or right:
        img_bgr = cv2.copyMakeBorder(
            img_bgr, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
        )
    return img_bgr, ratio, float(left), float(top)


def augment_hsv(img_bgr: np.ndarray, rng: np.random.Generator, fraction: float = 0.5) -> np.ndarray:
    """Scale saturation and value each by U(1 - fraction, 1 + fraction), clipped at 255; hue untouched."""
    hsv = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2HSV)
    for channel in (1, 2):
        gain = (rng.random() * 2 - 1) * fraction + 1
        # A lookup table gives the same bytes as scaling every pixel in float32 and truncating
        table = np.clip(np.arange(256, dtype=np.float32) * np.float32(gain), 0, 255).astype(np.uint8)
        hsv[..., channel] = cv2.LUT(hsv[..., channel], table)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def affine_matrix(
    width: int,
    height: int,
    rng: np.random.Generator,
    degrees: tuple[float, float] = (-5, 5),
    translate: tuple[float, float] = (0.10, 0.10),
    scale: tuple[float, float] = (0.50, 1.20),
    shear: tuple[float, float] = (-2, 2),
) -> tuple[np.ndarray, float]:
    """The JDE random affine as a 3x3 matrix M = Shear @ Translate @ RotateScale, and the angle.

    Reference quirk kept: the x translation is scaled by the image height and y by the width.
    """
    angle = rng.random() * (degrees[1] - degrees[0]) + degrees[0]
    s = rng.random() * (scale[1] - scale[0]) + scale[0]
    rotate = np.eye(3)
    rotate[:2] = cv2.getRotationMatrix2D(angle=angle, center=(width / 2, height / 2), scale=s)
    shift = np.eye(3)
    shift[0, 2] = (rng.random() * 2 - 1) * translate[0] * height
    shift[1, 2] = (rng.random() * 2 - 1) * translate[1] * width
    skew = np.eye(3)
    skew[0, 1] = math.tan(math.radians(rng.random() * (shear[1] - shear[0]) + shear[0]))
    skew[1, 0] = math.tan(math.radians(rng.random() * (shear[1] - shear[0]) + shear[0]))
    return skew @ shift @ rotate, angle


def warp_boxes(
    boxes: np.ndarray, matrix: np.ndarray, angle: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Warp xyxy boxes by `matrix`; returns (new boxes, indices of the boxes kept).

    New box = enclosing box of the 4 warped corners, shrunk by sqrt(max(|sin a|, |cos a|)) about
    its centre (rotation inflates it). Kept: w > 4, h > 4, area > 0.1 x the original area, aspect
    ratio < 10, and not entirely outside the image.
    """
    n = len(boxes)
    if n == 0:
        return boxes.reshape(0, 4), np.zeros(0, dtype=np.int64)
    area0 = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    corners = np.ones((n * 4, 3))
    corners[:, :2] = boxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(n * 4, 2)  # x1y1, x2y2, x1y2, x2y1
    warped = (corners @ matrix.T)[:, :2].reshape(n, 8)
    xs, ys = warped[:, [0, 2, 4, 6]], warped[:, [1, 3, 5, 7]]
    x1, y1, x2, y2 = xs.min(1), ys.min(1), xs.max(1), ys.max(1)
    radians = math.radians(angle)
    reduction = max(abs(math.sin(radians)), abs(math.cos(radians))) ** 0.5
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w, h = (x2 - x1) * reduction, (y2 - y1) * reduction
    out = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    aspect = np.maximum(w / (h + 1e-16), h / (w + 1e-16))
    keep = (w > 4) & (h > 4) & (w * h / (area0 + 1e-16) > 0.1) & (aspect < 10)
    keep &= (out[:, 0] < width) & (out[:, 2] > 0) & (out[:, 1] < height) & (out[:, 3] > 0)
    index = np.flatnonzero(keep)
    return out[index], index


def random_affine(
    img: np.ndarray, boxes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp the image (border 127.5) and its boxes; returns (image, kept boxes, their indices)."""
    height, width = img.shape[:2]
    matrix, angle = affine_matrix(width, height, rng)
    # The matrix is affine (last row 0 0 1), so warpAffine gives warpPerspective's result, faster
    warped = cv2.warpAffine(
        img, matrix[:2], dsize=(width, height), flags=cv2.INTER_LINEAR,
        borderValue=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
    )
    new_boxes, index = warp_boxes(boxes, matrix, angle, width, height)
    return warped, new_boxes, index


def gaussian_radius(
    height: np.ndarray | float, width: np.ndarray | float, min_overlap: float = MIN_OVERLAP
) -> np.ndarray:
    """CornerNet's radius: the smallest of its three quadratic roots (as CenterNet computes them,
    including its (b + sqrt(d)) / 2 form for every root)."""
    height, width = np.asarray(height, dtype=np.float64), np.asarray(width, dtype=np.float64)
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + np.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + np.sqrt(b2**2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + np.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return np.minimum(np.minimum(r1, r2), r3)


@functools.lru_cache(maxsize=256)
def gaussian_kernel(radius: int) -> np.ndarray:
    """(2r+1)^2 gaussian with sigma = (2r+1)/6, peak 1, negligible values zeroed (read-only)."""
    diameter = 2 * radius + 1
    sigma = diameter / 6
    grid = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(grid[None, :] ** 2 + grid[:, None] ** 2) / (2 * sigma * sigma))
    kernel[kernel < np.finfo(np.float64).eps * kernel.max()] = 0
    kernel = kernel.astype(np.float32)
    kernel.setflags(write=False)
    return kernel


def draw_gaussian(heatmap: np.ndarray, center_x: int, center_y: int, radius: int) -> None:
    """Combine a gaussian of `radius` centred on the cell (center_x, center_y) into `heatmap` by max."""
    kernel = gaussian_kernel(radius)
    height, width = heatmap.shape
    left, right = min(center_x, radius), min(width - center_x, radius + 1)
    top, bottom = min(center_y, radius), min(height - center_y, radius + 1)
    region = heatmap[center_y - top : center_y + bottom, center_x - left : center_x + right]
    patch = kernel[radius - top : radius + bottom, radius - left : radius + right]
    if region.size and patch.size:
        np.maximum(region, patch, out=region)


def build_targets(
    boxes: np.ndarray,
    ids: np.ndarray,
    width: int,
    height: int,
    down_ratio: int = DOWN_RATIO,
    max_objs: int = 500,
    classes: np.ndarray | None = None,
    num_classes: int = 1,
) -> dict[str, np.ndarray]:
    """Stride-`down_ratio` targets for xyxy `boxes` in input pixels (input size width x height).

    Slot k holds object k (at most `max_objs`, the rest dropped): the centre clipped to the map,
    ind = y_int * W_out + x_int, reg = centre - integer cell, wh = ltrb distances from the clipped
    centre to the unclipped box edges (output pixels), ids = id within its class (-1: none), cls =
    class index (`classes`, None = all 0); the gaussian goes on the heatmap channel of its class.
    Objects with a non-positive width or height leave their slot empty (reg_mask 0).
    """
    out_w, out_h = width // down_ratio, height // down_ratio
    hm = np.zeros((num_classes, out_h, out_w), dtype=np.float32)
    wh = np.zeros((max_objs, 4), dtype=np.float32)
    reg = np.zeros((max_objs, 2), dtype=np.float32)
    ind = np.zeros(max_objs, dtype=np.int64)
    reg_mask = np.zeros(max_objs, dtype=np.uint8)
    target_ids = np.full(max_objs, -1, dtype=np.int64)
    target_cls = np.zeros(max_objs, dtype=np.int64)
    cls = np.zeros(len(boxes), dtype=np.int64) if classes is None else np.asarray(classes, dtype=np.int64)
    n = min(len(boxes), max_objs)
    if n:
        b = np.asarray(boxes[:n], dtype=np.float32)
        cx = (b[:, 0] + b[:, 2]) / 2 / width * out_w
        cy = (b[:, 1] + b[:, 3]) / 2 / height * out_h
        bw = (b[:, 2] - b[:, 0]) / width * out_w
        bh = (b[:, 3] - b[:, 1]) / height * out_h
        x1, y1 = cx - bw / 2, cy - bh / 2
        x2, y2 = x1 + bw, y1 + bh
        ct = np.stack([np.clip(cx, 0, out_w - 1), np.clip(cy, 0, out_h - 1)], axis=1).astype(np.float32)
        ct_int = ct.astype(np.int32)
        valid = np.flatnonzero((bw > 0) & (bh > 0))
        radii = np.maximum(0, gaussian_radius(np.ceil(bh[valid]), np.ceil(bw[valid])).astype(np.int64))
        for k, radius in zip(valid, radii):
            draw_gaussian(hm[cls[k]], int(ct_int[k, 0]), int(ct_int[k, 1]), int(radius))
        ltrb = np.stack([ct[:, 0] - x1, ct[:, 1] - y1, x2 - ct[:, 0], y2 - ct[:, 1]], axis=1)
        wh[valid] = ltrb[valid]
        ind[valid] = ct_int[valid, 1] * out_w + ct_int[valid, 0]
        reg[valid] = ct[valid] - ct_int[valid]
        reg_mask[valid] = 1
        target_ids[valid] = np.where(ids[:n][valid] >= 0, ids[:n][valid], -1)
        target_cls[valid] = cls[:n][valid]
    return {"hm": hm, "reg_mask": reg_mask, "ind": ind, "wh": wh, "reg": reg, "ids": target_ids, "cls": target_cls}


def read_labels(path: Path) -> np.ndarray:
    """A labels_with_ids file as (N, 6) float32 rows `class gid cx cy w h` (normalised to the image)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: label file not found; run the labels stage (`fairmot labels`) first")
    text = path.read_text()
    try:
        values = np.array(text.split(), dtype=np.float32)
    except ValueError:
        raise DataError(f"{path}: non-numeric value; lines must be `0 <gid> cx/W cy/H w/W h/H`") from None
    if values.size % 6:
        raise DataError(f"{path}: {values.size} values is not a multiple of 6; lines must be `0 <gid> cx cy w h`")
    return values.reshape(-1, 6)


def class_identities(labels: list[np.ndarray], num_classes: int, paths: list[Path]) -> list[int]:
    """nID of each class (its largest gid + 1), after checking every class column is an index < num_classes."""
    top = [-1] * num_classes
    for rows, path in zip(labels, paths):
        cls = rows[:, 0]
        bad = (cls < 0) | (cls >= num_classes) | (cls != np.floor(cls))
        if bad.any():
            raise DataError(f"{path}: class {cls[bad][0]:g} is not an index of `classes` (0 to {num_classes - 1}); "
                            "re-run the labels stage with these classes")
        for c in np.unique(cls).astype(int):
            top[c] = max(top[c], int(rows[cls == c, 1].max()))
    return [t + 1 for t in top]


class JointDataset(Dataset):
    """Images of one split index with their labels, as FairMOT training samples (dicts of tensors)."""

    def __init__(
        self,
        dataset_root: Path,
        labels_root: Path,
        split_file: Path,
        width: int,
        height: int,
        augment: bool = True,
        max_objs: int = 500,
        seed: int = 317,
        num_classes: int = 1,
    ) -> None:
        if width % 32 or height % 32:
            raise ValueError(f"input size {width}x{height} must be multiples of 32")
        self.dataset_root = Path(dataset_root)
        self.images = read_split(Path(split_file))
        if not self.images:
            raise DataError(f"{split_file}: the split index lists no image; check data.train_split and the labels")
        # Labels are small: read them once (also to find nID per class) instead of on every sample
        paths = [label_path(Path(labels_root), rel) for rel in self.images]
        self.labels = [read_labels(path) for path in paths]
        self.num_classes = num_classes
        self.class_nID = class_identities(self.labels, num_classes, paths)
        self.nID = sum(self.class_nID)
        self.width, self.height = width, height
        self.augment = augment
        self.max_objs = max_objs
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of `epoch` (samples depend on (seed, epoch, index) only)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images)

    def sample_rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The augmented BGR input image, its xyxy boxes in input pixels, their ids and classes."""
        path = self.dataset_root / self.images[index]
        img = read_bgr(path)
        if img is None:
            raise DataError(f"{path}: image missing or unreadable; re-run the download stage")
        rng = self.sample_rng(index)
        if self.augment:
            img = augment_hsv(img, rng)
        h, w = img.shape[:2]
        img, ratio, pad_w, pad_h = letterbox(img, self.width, self.height)
        rows = self.labels[index]
        cx, cy, bw, bh = rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
        boxes = np.stack(
            [
                ratio * w * (cx - bw / 2) + pad_w,
                ratio * h * (cy - bh / 2) + pad_h,
                ratio * w * (cx + bw / 2) + pad_w,
                ratio * h * (cy + bh / 2) + pad_h,
            ],
            axis=1,
        ).reshape(-1, 4)
        ids, classes = rows[:, 1].astype(np.int64), rows[:, 0].astype(np.int64)
        if self.augment:
            img, boxes, kept = random_affine(img, boxes, rng)
            ids, classes = ids[kept], classes[kept]
            if rng.random() > 0.5:
                img = img[:, ::-1]
                boxes = np.stack([self.width - boxes[:, 2], boxes[:, 1], self.width - boxes[:, 0], boxes[:, 3]], axis=1)
        return img, boxes.astype(np.float32), ids, classes

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        img, boxes, ids, classes = self.load(index)
        targets = build_targets(boxes, ids, self.width, self.height, DOWN_RATIO, self.max_objs, classes, self.num_classes)
        # BGR -> RGB, HWC -> CHW, [0, 1]; in numpy: torch's elementwise ops on a small tensor cost
        # more here (thread-pool start-up) than the whole conversion
        rgb = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
        rgb /= 255.0
        sample = {"input": torch.from_numpy(rgb)}
        sample.update({key: torch.from_numpy(value) for key, value in targets.items()})
        return sample

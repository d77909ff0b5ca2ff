"""Turn the head maps into detections with embeddings, in original-image pixels.

sigmoid(hm) -> 3x3 max-pool keeps local maxima -> top-K -> centre = integer cell + reg offset ->
keep score > conf_thres -> box from ltrb -> undo the letterbox. The box, offset and embedding heads
are read only at the kept centres (the reference gathers them at all K and filters afterwards:
same values), and embeddings are normalised there: normalising the whole (D, H/4, W/4) map, as
the reference does, costs far more and gives the same vectors.

The candidates come in the reference's order, ties included (`topk_like_reference`): detection
order reaches the tracker (it breaks assignment ties and numbers new tracks), so exact score ties
must be ordered as ifzhang/FairMOT src/lib/models/decode.py `_topk` orders them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Detections:
    """One image's detections: boxes (N, 4) xyxy in original pixels, scores (N,), embeddings (N, D),
    classes (N,) int64 (the heatmap channel, an index into params `classes`; all 0 for one class)."""

    boxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray
    classes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.classes is None:
            self.classes = np.zeros(len(self.scores), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.scores)


def gather_feat(feature: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """Values of a (B, C, H, W) map at flat indices `ind` (B, K) (= y * W + x), as (B, K, C).

    Gathers from the flattened map directly, without transposing the whole map first.
    """
    b, c = feature.shape[:2]
    flat = feature.reshape(b, c, -1)
    index = ind.unsqueeze(1).expand(b, c, ind.shape[1])
    return flat.gather(2, index).transpose(1, 2)


def topk_like_reference(heat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k scores and flat indices of (B, HW) scores, in the order of the reference's `_topk`.

    The reference (ifzhang/FairMOT src/lib/models/decode.py) takes `torch.topk` over the
    flattened map and then a second `torch.topk` over those k scores (its per-class merge, a
    no-op for one class). For distinct scores the second call keeps the order; for exact ties
    `torch.topk` may permute them, so both calls are made here as well: the same order on the
    same torch build and device.
    """
    scores, inds = torch.topk(heat, k)
    scores, order = torch.topk(scores, k)
    return scores, inds.gather(1, order)


def topk_per_class(heat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-k over every class of (B, C, HW) scores: scores, flat cell indices and classes, each (B, k).

    The reference's `_topk` in full: the top k of each class, then the top k of those C * k. One
    class is exactly `topk_like_reference` (the same two calls, the same order).
    """
    batch, classes, cells = heat.shape
    if classes == 1:
        scores, inds = topk_like_reference(heat.reshape(batch, cells), k)
        return scores, inds, torch.zeros_like(inds)
    scores, inds = torch.topk(heat, k)  # (B, C, k)
    scores, order = torch.topk(scores.reshape(batch, -1), k)
    return scores, inds.reshape(batch, -1).gather(1, order), torch.div(order, k, rounding_mode="floor")


def heatmap_nms(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """Zero every heatmap value that is not the maximum of its kernel x kernel neighbourhood."""
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=(kernel - 1) // 2)
    return heat * (hmax == heat)


def head_values(outputs: Mapping[str, torch.Tensor], name: str, image: torch.Tensor, ys: torch.Tensor,
                xs: torch.Tensor) -> torch.Tensor:
    """Head `name` at cells (image[i], ys[i], xs[i]) as (N, channels) float32.

    Outputs that can evaluate a head at cells (`fairmot.models.point_heads.HeadsAtCells`) do so;
    plain head maps are indexed.
    """
    at = getattr(outputs, "at", None)
    if at is not None:
        return at(name, image, ys, xs)
    return outputs[name][image, :, ys, xs].float()


@torch.no_grad()
def decode_detections(
    outputs: Mapping[str, torch.Tensor],
    *,
    K: int = 500,
    conf_thres: float = 0.4,
    letterbox: Sequence[tuple[float, float, float]],
    down_ratio: int = 4,
) -> list[Detections]:
    """Decode a batch of head outputs (CPU or CUDA) into one `Detections` (numpy) per image.

    `letterbox[b]` = (ratio, pad_w, pad_h) returned by `fairmot.data.dataset.letterbox` for image b:
    input pixel x maps back to original pixel (x - pad_w) / ratio.
    """
    hm = outputs["hm"].float()
    batch, num_classes, height, width = hm.shape
    if len(letterbox) != batch:
        raise ValueError(f"letterbox has {len(letterbox)} entries for a batch of {batch} images")
    k = min(K, height * width)
    heat = heatmap_nms(torch.sigmoid(hm))
    scores, inds, classes = topk_per_class(heat.reshape(batch, num_classes, -1), k)
    # Only candidates above the threshold are kept, so only their cells are read (in top-K order)
    image, slot = (scores > conf_thres).nonzero(as_tuple=True)
    scores, inds, classes = scores[image, slot], inds[image, slot], classes[image, slot]
    cell_y = torch.div(inds, width, rounding_mode="floor")
    cell_x = inds % width
    reg = head_values(outputs, "reg", image, cell_y, cell_x)
    xs = cell_x.float() + reg[:, 0]
    ys = cell_y.float() + reg[:, 1]
    ltrb = head_values(outputs, "wh", image, cell_y, cell_x)
    boxes = torch.stack([xs - ltrb[:, 0], ys - ltrb[:, 1], xs + ltrb[:, 2], ys + ltrb[:, 3]], dim=1) * down_ratio
    geometry = torch.tensor(letterbox, dtype=torch.float32, device=boxes.device)[image]  # (N, 3)
    boxes = (boxes - geometry[:, [1, 2, 1, 2]]) / geometry[:, :1]
    embeddings = F.normalize(head_values(outputs, "id", image, cell_y, cell_x), dim=1)

    counts = torch.bincount(image, minlength=batch).tolist()
    per_image = zip(*(np.split(t.cpu().numpy(), np.cumsum(counts)[:-1]) for t in (boxes, scores, embeddings, classes)))
    return [
        Detections(
            boxes=np.ascontiguousarray(b, dtype=np.float32),
            scores=np.ascontiguousarray(s, dtype=np.float32),
            embeddings=np.ascontiguousarray(e, dtype=np.float32),
            classes=np.ascontiguousarray(c, dtype=np.int64),
        )
        for b, s, e, c in per_image
    ]

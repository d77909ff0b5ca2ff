"""Head maps that decode to exactly a frame's detections, and a network that hands them over.

For a detection with centre (cx, cy) in input pixels, at map cell (int(cx/4), int(cy/4)): the
heatmap holds logit(score) (everything else -20, i.e. sigmoid ~2e-9), `reg` the sub-cell offset,
`wh` the left/top/right/bottom distances /4 (FairMOT's ltrb head) and `id` the embedding. The
maps are float32, so decoded boxes equal the detections up to float32 rounding (~1e-4 px).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.parity.scenes import HEIGHT, STRIDE, WIDTH


def head_maps(frame_dets: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> dict[str, torch.Tensor]:
    """Rows (frame, x1, y1, x2, y2, score, object, embedding...) of one frame -> {"hm", "wh", "reg", "id"}."""
    h, w = height // STRIDE, width // STRIDE
    dim = frame_dets.shape[1] - 7 if len(frame_dets) else 128
    hm = np.full((1, 1, h, w), -20.0, dtype=np.float32)
    wh = np.zeros((1, 4, h, w), dtype=np.float32)
    reg = np.zeros((1, 2, h, w), dtype=np.float32)
    emb = np.zeros((1, dim, h, w), dtype=np.float32)  # calloc: untouched pages cost nothing
    if len(frame_dets):
        x1, y1, x2, y2 = (frame_dets[:, 1:5] / STRIDE).T
        score = frame_dets[:, 5]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        xi, yi = cx.astype(np.int64), cy.astype(np.int64)  # int() of positive centres
        hm[0, 0, yi, xi] = np.log(score / (1 - score))
        reg[0, :, yi, xi] = np.stack([cx - xi, cy - yi], 1)
        wh[0, :, yi, xi] = np.stack([cx - x1, cy - y1, x2 - cx, y2 - cy], 1)
        emb[0, :, yi, xi] = frame_dets[:, 7:]
    hm, wh, reg, emb = (torch.from_numpy(a) for a in (hm, wh, reg, emb))
    return {"hm": hm, "wh": wh, "reg": reg, "id": emb}


class ReplayNet(torch.nn.Module):
    """Stand-in network: returns the maps queued in `maps` (wrapped in a list for the reference)."""

    def __init__(self, as_list: bool = False) -> None:
        super().__init__()
        self.as_list = as_list
        self.maps: dict[str, torch.Tensor] | None = None
        self.seconds = 0.0  # time spent inside forward, subtracted from the per-frame timings

    def forward(self, x: torch.Tensor):
        start = time.perf_counter()
        out, self.maps = self.maps, None
        if out is None:
            raise RuntimeError("no head maps queued for this frame")
        self.seconds += time.perf_counter() - start
        return [out] if self.as_list else out

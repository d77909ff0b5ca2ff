"""The reference side, imported from a checkout of ifzhang/FairMOT named by the FAIRMOT_REF env var.

Development only: the reference is never a dependency. It needs `yacs` and `cython_bbox` on the
path (e.g. `pip install --target /work/ref-pkgs yacs cython_bbox`, PYTHONPATH=/work/ref-pkgs)
and imports DCNv2 at module level; the tracker runs on a stand-in network, so an import-only
`dcn_v2` module (written to a temporary folder here) is enough.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from benchmarks.parity.maps import ReplayNet, head_maps
from benchmarks.parity.scenes import HEIGHT, WIDTH, frames_of

_DCN_STUB = '''
import torch
class DCN(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("the parity harness never builds the reference's DCN networks")
'''
_MODULES: dict[str, ModuleType] = {}


def available() -> bool:
    return bool(os.environ.get("FAIRMOT_REF")) and (Path(os.environ["FAIRMOT_REF"]) / "src" / "lib").is_dir()


def _import(name: str) -> ModuleType:
    """Import a module of the reference's src/lib (sets up the path, numpy aliases and DCN stub once)."""
    if not _MODULES:
        if not available():
            raise RuntimeError("set FAIRMOT_REF to a checkout of ifzhang/FairMOT (the folder holding src/)")
        stub_dir = tempfile.mkdtemp(prefix="dcn_stub_")
        Path(stub_dir, "dcn_v2.py").write_text(_DCN_STUB)
        sys.path[:0] = [os.path.join(os.environ["FAIRMOT_REF"], "src", "lib"), stub_dir]
        np.int, np.float = int, float  # the reference uses numpy aliases removed in numpy 1.24
        logging.disable(logging.CRITICAL)
        _MODULES["_ready"] = sys
    if name not in _MODULES:
        import importlib

        _MODULES[name] = importlib.import_module(name)
    return _MODULES[name]


def run_reference(dets: np.ndarray, frame_rate: float = 30) -> tuple[list[tuple], np.ndarray]:
    """The reference `JDETracker.update` (opts() defaults) on the scene's maps, its output filtered
    as its track.py does (w*h > min_box_area, w/h <= 1.6). Rows and per-frame seconds."""
    opts = _import("opts").opts
    mt = _import("tracker.multitracker")
    net = ReplayNet(as_list=True)
    mt.create_model = lambda *a, **k: net
    mt.load_model = lambda model, path: model
    mt.BaseTrack._count = 0  # the reference's global id counter
    with contextlib.redirect_stdout(io.StringIO()):
        opt = opts().init(["mot", "--gpus", "-1", "--load_model", ""])
        tracker = mt.JDETracker(opt, frame_rate=frame_rate)
    img0 = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    blob = torch.zeros((1, 3, HEIGHT, WIDTH))
    rows, seconds = [], []
    for f in frames_of(dets):
        net.maps = head_maps(dets[dets[:, 0] == f])
        net.seconds = 0.0
        start = time.perf_counter()
        out = []
        for t in tracker.update(blob, img0):
            x, y, w, h = t.tlwh
            if w * h > opt.min_box_area and w / h <= 1.6:
                out.append((f, int(t.track_id), float(x), float(y), float(w), float(h)))
        seconds.append(time.perf_counter() - start - net.seconds)
        rows += out
    return rows, np.array(seconds)


def letterbox(img: np.ndarray, width: int, height: int):
    """The reference's datasets/dataset/jde.py letterbox: (image, ratio, dw, dh)."""
    return _import("datasets.dataset.jde").letterbox(img, height=height, width=width)


def input_blob(img0: np.ndarray, width: int, height: int) -> np.ndarray:
    """What the reference's LoadImages hands the network for a BGR frame (CHW RGB float32 / 255)."""
    img, *_ = letterbox(img0, width, height)
    img = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
    img /= 255.0
    return img


def boxes_to_original(map_boxes: np.ndarray, scores: np.ndarray, orig_wh: tuple[int, int],
                      input_wh: tuple[int, int], down_ratio: int = 4) -> np.ndarray:
    """Map-space xyxy boxes -> original pixels through the reference's JDETracker.post_process
    (centre/scale meta of multitracker.py's update, then ctdet_post_process)."""
    mt = _import("tracker.multitracker")
    (width, height), (inp_w, inp_h) = orig_wh, input_wh
    c = np.array([width / 2.0, height / 2.0], dtype=np.float32)
    s = max(float(inp_w) / float(inp_h) * height, width) * 1.0
    meta = {"c": c, "s": s, "out_height": inp_h // down_ratio, "out_width": inp_w // down_ratio}
    dets = np.concatenate([map_boxes, scores[:, None], np.zeros((len(scores), 1))], axis=1)[None]
    holder = type("Holder", (), {"opt": type("Opt", (), {"num_classes": 1})()})()
    return mt.JDETracker.post_process(holder, torch.from_numpy(dets.astype(np.float32)), meta)[1][:, :4]


def decode_order(hm_logits: torch.Tensor, K: int) -> np.ndarray:
    """Flat heatmap indices in the order the reference's JDETracker.update decodes them
    (hm.sigmoid_() then mot_decode: 3x3 NMS and its two-step top-K)."""
    decode = _import("models.decode")
    b, _, h, w = hm_logits.shape
    heat = hm_logits.clone().sigmoid_()
    _, inds = decode.mot_decode(heat, torch.zeros((b, 4, h, w)), reg=torch.zeros((b, 2, h, w)), ltrb=True, K=K)
    return inds.numpy()

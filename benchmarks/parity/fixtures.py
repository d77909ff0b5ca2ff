"""The committed parity fixtures (tests/fixtures/): what they hold, how they are made and read.

tracking/<scene>.npz: a scene's parameters and fingerprint plus the reference tracker's output
rows on it (frame, id, tlwh float32). frame_path.npz: for images of odd sizes, the reference's
letterbox (ratio, dw, dh, sha256 of the padded image and of the network input) and its decode +
post_process on head maps with known detections; and the reference's top-K order on heatmap
logits full of exact ties. Images are rebuilt from a seed (`synthetic_image`), never stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.parity import reference, scenes

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"

# name -> (scene builder, parameters). The 60- and 200-object scenes run past the frames where
# the tracker first diverged before the +1 IoU convention (127 and 21).
SCENES: dict[str, tuple[str, dict]] = {
    "walk30": ("walking", {"objects": 30, "frames": 60, "seed": 0}),
    "walk60": ("walking", {"objects": 60, "frames": 135, "seed": 2}),
    "walk200": ("walking", {"objects": 200, "frames": 30, "seed": 3}),
    "expiry": ("expiry", {"gap": 31}),
    "ties": ("walking", {"objects": 40, "frames": 40, "seed": 1, "tie_score": 0.75}),
    "twins": ("twins", {}),
}

# (original width, height, network input width, height): odd sizes, both letterbox directions
FRAME_CASES = [(1920, 1080, 1088, 608), (641, 359, 1088, 608), (333, 777, 320, 192),
               (1279, 719, 320, 192), (500, 500, 576, 320)]


def synthetic_image(width: int, height: int, seed: int) -> np.ndarray:
    """A deterministic BGR uint8 image with gradients and sharp-edged blocks (resampling shows)."""
    g = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)),
                    ((x + y) * 7) % 256], axis=2).astype(np.uint8)
    for _ in range(12):
        x0, y0 = g.integers(0, width), g.integers(0, height)
        img[y0:y0 + g.integers(3, 60), x0:x0 + g.integers(3, 60)] = g.integers(0, 256, 3)
    return img


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def map_detections(map_w: int, map_h: int, seed: int, n: int = 12) -> np.ndarray:
    """n detections in map cells: (cx, cy, l, t, r, b, score), centres 3 cells apart, distinct scores."""
    g = np.random.default_rng(seed)
    cells = g.choice((map_w // 3) * (map_h // 3), size=n, replace=False)
    cx = (cells % (map_w // 3)) * 3 + 1 + g.uniform(0, 1, n)
    cy = (cells // (map_w // 3)) * 3 + 1 + g.uniform(0, 1, n)
    ltrb = g.uniform(1, 12, size=(n, 4))
    return np.column_stack([cx, cy, ltrb, np.linspace(0.9, 0.5, n)])


def maps_from_map_detections(rows: np.ndarray, map_w: int, map_h: int) -> dict[str, torch.Tensor]:
    hm = torch.full((1, 1, map_h, map_w), -20.0)
    wh, reg = torch.zeros((1, 4, map_h, map_w)), torch.zeros((1, 2, map_h, map_w))
    for cx, cy, left, top, right, bottom, score in rows:
        xi, yi = int(cx), int(cy)
        hm[0, 0, yi, xi] = float(np.log(score / (1 - score)))
        reg[0, :, yi, xi] = torch.tensor([cx - xi, cy - yi])
        wh[0, :, yi, xi] = torch.tensor([left, top, right, bottom])
    return {"hm": hm, "wh": wh, "reg": reg, "id": torch.ones((1, 4, map_h, map_w))}


def tie_logits(seed: int = 11, size: tuple[int, int] = (152, 272)) -> torch.Tensor:
    """(1, 1, H, W) heatmap logits: 300 isolated peaks on 3 exact values (many ties), -20 elsewhere."""
    g = np.random.default_rng(seed)
    h, w = size
    cells = g.choice((h // 3) * (w // 3), size=300, replace=False)
    logits = torch.full((1, 1, h, w), -20.0)
    values = torch.logit(torch.tensor([0.75, 0.6, 0.45]))[torch.from_numpy(g.integers(0, 3, 300))]
    logits[0, 0, torch.from_numpy((cells // (w // 3)) * 3 + 1), torch.from_numpy((cells % (w // 3)) * 3 + 1)] = values
    return logits


# -- writing (reference needed) -----------------------------------------------------------------
def write_tracking(name: str, out: Path) -> None:
    kind, params = SCENES[name]
    dets = scenes.build(kind, **params)
    rows, _ = reference.run_reference(dets)
    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    np.savez_compressed(out / "tracking" / f"{name}.npz", scene=json.dumps([kind, params]),
                        fingerprint=scenes.fingerprint(dets), frames=arr[:, 0].astype(np.int32),
                        ids=arr[:, 1].astype(np.int32), tlwh=arr[:, 2:6].astype(np.float32))
    print(f"{name}: {len(arr)} rows, {len(set(arr[:, 1]))} ids")


def write_frame_path(out: Path) -> None:
    fields: dict[str, list] = {k: [] for k in ("case", "ratio_pad", "letterbox_sha", "blob_sha", "map_dets", "boxes")}
    for seed, (w0, h0, inp_w, inp_h) in enumerate(FRAME_CASES):
        img0 = synthetic_image(w0, h0, seed)
        padded, ratio, dw, dh = reference.letterbox(img0, inp_w, inp_h)
        map_w, map_h = inp_w // 4, inp_h // 4
        dets = map_detections(map_w, map_h, seed)
        maps = maps_from_map_detections(dets, map_w, map_h)
        decode = reference._import("models.decode")
        raw, _ = decode.mot_decode(maps["hm"].sigmoid(), maps["wh"], reg=maps["reg"], ltrb=True, K=len(dets))
        boxes = reference.boxes_to_original(raw[0, :, :4].numpy(), raw[0, :, 4].numpy(), (w0, h0), (inp_w, inp_h))
        fields["case"].append([w0, h0, inp_w, inp_h, seed])
        fields["ratio_pad"].append([ratio, dw, dh])
        fields["letterbox_sha"].append(sha256(padded))
        fields["blob_sha"].append(sha256(reference.input_blob(img0, inp_w, inp_h)))
        fields["map_dets"].append(dets)
        fields["boxes"].append(np.column_stack([boxes, raw[0, :, 4].numpy()]))
    order = reference.decode_order(tie_logits(), K=500)
    np.savez_compressed(out / "frame_path.npz", case=np.array(fields["case"]), ratio_pad=np.array(fields["ratio_pad"]),
                        letterbox_sha=np.array(fields["letterbox_sha"]), blob_sha=np.array(fields["blob_sha"]),
                        map_dets=np.stack(fields["map_dets"]), boxes=np.stack(fields["boxes"]).astype(np.float64),
                        tie_order=order.astype(np.int32))
    print(f"frame_path: {len(FRAME_CASES)} image sizes, tie order of {order.shape[1]} candidates")


def write_all(out: str | Path, only: str | None = None) -> None:
    out = Path(out)
    (out / "tracking").mkdir(parents=True, exist_ok=True)
    if only in (None, "tracking"):
        for name in SCENES:
            write_tracking(name, out)
    if only in (None, "frame_path"):
        write_frame_path(out)


# -- reading (no reference needed) --------------------------------------------------------------
def load_tracking(name: str, root: Path = FIXTURES) -> tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(meta: scene kind, params, fingerprint; (frames, ids, tlwh boxes)) of a tracking fixture."""
    with np.load(root / "tracking" / f"{name}.npz") as data:
        kind, params = json.loads(str(data["scene"]))
        meta = {"kind": kind, "params": params, "fingerprint": str(data["fingerprint"])}
        return meta, (data["frames"].astype(np.int64), data["ids"].astype(np.int64), data["tlwh"].astype(np.float64))

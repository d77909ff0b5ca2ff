"""Rows of benchmarks/engines.py beyond PyTorch and ONNX Runtime: OpenVINO in fp32, bf16 and int8, and the
reference FairMOT code (forward + mot_decode) from a copy FAIRMOT_REF points at (never a dependency)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fairmot.export.openvino_ir import convert_ir, quantize_blobs, save_ir
from fairmot.inference.engines.openvino_engine import OpenVinoEngine, cpu_capabilities

REFERENCE_HEADS = {"hm": 1, "wh": 4, "id": 128, "reg": 2}


def openvino_engines(model: torch.nn.Module, width: int, height: int, tmp: Path, *, threads: int, batches: tuple[int, ...],
                     calibration: list[np.ndarray]) -> dict[str, OpenVinoEngine]:
    """The model as the fp32 IR (fp32; bf16 where the CPU has it) and the int8 IR calibrated on `calibration`
    (prepared (3, H, W) frames: speed only, the export stage calibrates on training frames), one engine per
    precision and batch, named openvino-<precision>[ b<batch>]."""
    start = time.perf_counter()
    ir = convert_ir(model.cpu(), input_w=width, input_h=height)
    fp32 = save_ir(ir, tmp / f"ov_{width}x{height}.xml")
    int8 = save_ir(quantize_blobs(ir, [blob[None] for blob in calibration]), tmp / f"ov_{width}x{height}_int8.xml")
    print(f"  OpenVINO conversion + int8 quantization ({len(calibration)} frames) took {time.perf_counter() - start:.0f}s")
    precisions = ["fp32", "bf16", "int8"] if "BF16" in cpu_capabilities() else ["fp32", "int8"]
    if "bf16" not in precisions:
        print("  openvino-bf16 rows left out: this CPU has no BF16")
    return {f"openvino-{p}" + (f" b{b}" if b > 1 else ""): OpenVinoEngine(int8 if p == "int8" else fp32, precision=p,
                                                                           threads=threads, batch=b)
            for b in batches for p in precisions}


def reference_runner(model: torch.nn.Module, x: torch.Tensor, tmp: Path,
                     realistic: Callable[[torch.nn.Module], torch.nn.Module]) -> Callable[[], object] | None:
    """The reference's DLA-34 forward + mot_decode (K=500, as its tracker runs it) on `x`; its weights
    (`realistic` random ones) are loaded into `model` (ours), so build the other rows after this. None, with
    one line, when FAIRMOT_REF is not set or the reference cannot be built (FAIRMOT_SHIM: a stand-in for its
    compiled DCNv2)."""
    root = os.environ.get("FAIRMOT_REF")
    if not root:
        print("  reference row skipped: FAIRMOT_REF is not set (the folder holding the reference's src/)")
        return None
    lib = str(Path(root) / "src" / "lib")
    paths = [p for p in (os.environ.get("FAIRMOT_SHIM"), lib) if p]
    sys.path[:0] = paths
    try:
        for name, kind in (("int", int), ("float", float)):  # the reference predates numpy 1.24
            if name not in np.__dict__:
                setattr(np, name, kind)
        from models.decode import mot_decode
        from models.networks.pose_dla_dcn import DLASeg
        from models.utils import _tranpose_and_gather_feat
    except ImportError as error:
        print(f"  reference row skipped: cannot import the reference from {lib} ({error}); set FAIRMOT_SHIM for DCNv2")
        return None
    finally:
        for path in paths:
            sys.path.remove(path)
    from fairmot.models import load_model

    torch.manual_seed(0)
    ref = realistic(DLASeg("dla34", REFERENCE_HEADS, pretrained=False, down_ratio=4, final_kernel=1, last_level=5,
                           head_conv=256))
    torch.save({"state_dict": ref.state_dict()}, tmp / "ref_dla34.pth")
    load_model(model, tmp / "ref_dla34.pth")  # ours runs the reference's weights

    def run() -> object:
        with torch.inference_mode():
            output = ref(x)[-1]
            hm, ids = output["hm"].sigmoid_(), torch.nn.functional.normalize(output["id"], dim=1)
            dets, inds = mot_decode(hm, output["wh"], reg=output["reg"], ltrb=True, K=500)
            return dets, _tranpose_and_gather_feat(ids, inds)

    return run


"""Benchmark: inference engines side by side, in one run, as time per image and ratio to the baseline.

Part 1, the network alone at one input size (default DLA-34 at 1088x608, batch 1):
- `baseline`: the model as trained, eval mode, no folding, torchvision's deformable conv (the code
  before issue 11);
- `gather-dcn`: the same model with the CPU deformable conv of `fairmot.models.dcn` (attribution);
- `lean-eager` (CPU): `fairmot.inference.engines.TorchEngine` with its dense part in eager PyTorch
  (`onednn=False`, attribution: the lean engine before its oneDNN graph);
- `torch-lean`: `fairmot.inference.engines.TorchEngine` (batch norm folded, channels_last, preallocated input,
  on the CPU the oneDNN graph of `fairmot.models.onednn`);
- `onnx`: ONNX Runtime on the exported graph (fixed size; `--dynamic` adds a dynamic-size export);
- `openvino-fp32`, `-bf16` (CPUs with BF16), `-int8` (CPU): the OpenVINO engine on the IR converted from
  the model, int8 calibrated on 8 random frames (speed only; `fairmot export` calibrates on training frames);
- `reference` (DLA-34 on the CPU, when FAIRMOT_REF points at a copy of the reference FairMOT, the folder
  holding its src/, and FAIRMOT_SHIM at a stand-in for its compiled DCNv2, e.g. shared/parity/dcn_v2_shim):
  the reference's forward + mot_decode (K=500) with the same weights, against ours with decoding
  (`torch-lean+decode`, `openvino-bf16+decode`, `openvino-int8+decode`) in a second table; skipped with one
  line otherwise. The reference is never a dependency of the project.
On CUDA, `torch-lean-amp` is added (AMP in the autocast dtype, CUDA graph replay).
Repeats alternate between the engines, so load on the machine hits all of them alike; the figure
is the median, the ratio is baseline median / engine median.

Part 2, end to end (frame -> head maps -> decode -> tracker) with `OnlineTracker`, the embedded
default network (dla_tiny at 320x192), per engine (`lean-eager` too on the CPU), chunks of frames
alternating between the engines; plus the lean engine with `--batch` frames per network pass, as
`fairmot detect` runs with `eval.batch` (decode and the tracker still frame by frame), and on the CPU
the OpenVINO engine per precision, one frame and `--batch` frames per pass.
Weights: the checkpoint given with --checkpoint (e.g. data/model/model.pt), else random ones.

    python benchmarks/engines.py                       # CPU, all of the above
    python benchmarks/engines.py --repeats 3 --frames 60 --threads 2
    python benchmarks/engines.py --device cuda --repeats 20 --frames 200
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fairmot.devices import benchmark_device, device_name
from fairmot.errors import ConfigError
from fairmot.export.onnx_graph import export_onnx
from fairmot.inference.engines.onnx_engine import OnnxEngine
from fairmot.inference.engines.torch_engine import TorchEngine
from fairmot.inference.runner import OnlineTracker, stack_prepared
from fairmot.models import build_from_checkpoint, create_model
from fairmot.models.dcn import torchvision_kernel
from fairmot.models.decode import decode_detections
from fairmot.tracking import input_threshold

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported: its sibling module
from engine_rows import openvino_engines, reference_runner  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="dla34")
    parser.add_argument("--width", type=int, default=1088)
    parser.add_argument("--height", type=int, default=608)
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per engine (median reported)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch and ONNX Runtime threads (0 = all cores)")
    parser.add_argument("--dynamic", action="store_true", help="also time a dynamic-size ONNX export")
    parser.add_argument("--frames", type=int, default=60, help="timed end-to-end frames per engine")
    parser.add_argument("--warmup", type=int, default=5, help="untimed end-to-end frames first")
    parser.add_argument("--checkpoint", type=Path, help="a `fairmot train` checkpoint for part 2")
    parser.add_argument("--batch", type=int, default=4, help="frames per network pass of the batched row of part 2")
    parser.add_argument("--skip-network", action="store_true", help="only part 2")
    return parser.parse_args()


def realistic(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights with non-trivial batch-norm statistics and deforming offsets, as trained ones have."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
        if hasattr(module, "conv_offset_mask"):
            module.conv_offset_mask.weight.data.normal_(0, 0.02)
    return model.eval()


def onnx_engine(path: Path, device: torch.device, threads: int) -> OnnxEngine | None:
    """ONNX Runtime on `device`, or None where it cannot run there (CUDA without onnxruntime-gpu):
    the ONNX rows are then left out, with the engine's own reason."""
    try:
        return OnnxEngine(path, device=device, threads=threads)
    except ConfigError as error:
        print(f"  onnx rows left out: {error}")
        return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(runners: dict[str, Callable[[], object]], repeats: int, device: torch.device) -> dict[str, float]:
    """Median seconds per call of each runner, one warm-up each, then repeats alternating runners."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for i in range(repeats + 1):
        for name, run in runners.items():
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            if i:
                times[name].append(time.perf_counter() - start)
        print(f"  round {i}/{repeats}: " + ", ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items() if t), flush=True)
    return {name: statistics.median(values) for name, values in times.items()}


def add_onnx_runners(runners: dict[str, Callable[[], object]], model: torch.nn.Module, blob: np.ndarray,
                     args: argparse.Namespace, device: torch.device, tmp: Path) -> None:
    """The `onnx` row (and `onnx-dynamic` with --dynamic): the model exported on the CPU, run on `device`
    (none where ONNX Runtime cannot run there)."""
    start = time.perf_counter()
    fixed = export_onnx(model.cpu(), tmp / "fixed.onnx", input_w=args.width, input_h=args.height)
    print(f"  ONNX export (fixed size) took {time.perf_counter() - start:.0f}s")
    model.to(device)
    onnx = onnx_engine(fixed, device, args.threads)
    if onnx is None:
        return
    runners["onnx"] = lambda: onnx(blob)
    if args.dynamic:
        dynamic = OnnxEngine(export_onnx(model.cpu(), tmp / "dynamic.onnx", input_w=args.width,
                                         input_h=args.height, dynamic=True), device=device, threads=args.threads)
        model.to(device)
        runners["onnx-dynamic"] = lambda: dynamic(blob)


def network_part(args: argparse.Namespace, device: torch.device, tmp: Path) -> None:
    torch.manual_seed(0)
    model = realistic(create_model(args.arch)).to(device)
    x = torch.rand(1, 3, args.height, args.width, device=device)
    blob = x[0].cpu().numpy()
    reference = None
    if args.arch == "dla34" and device.type == "cpu":
        reference = reference_runner(model, x, tmp, realistic)  # loads its weights into ours: before the other rows
    else:
        print("  reference row skipped: it runs DLA-34 on the CPU only")

    def baseline() -> object:
        with torch.inference_mode(), torchvision_kernel():
            return model(x)

    def gather_dcn() -> object:
        with torch.inference_mode():
            return model(x)

    runners: dict[str, Callable[[], object]] = {"baseline": baseline}
    if args.arch == "dla34" and device.type == "cpu":
        runners["gather-dcn"] = gather_dcn
    if device.type == "cpu":
        eager = TorchEngine(model, input_w=args.width, input_h=args.height, device=device, onednn=False)
        runners["lean-eager"] = lambda: eager(blob)
    lean = TorchEngine(model, input_w=args.width, input_h=args.height, device=device)
    runners["torch-lean"] = lambda: lean(blob)
    if device.type == "cuda":
        amp = TorchEngine(model, input_w=args.width, input_h=args.height, device=device, amp="auto")
        runners["torch-lean-amp"] = lambda: amp(blob)
    add_onnx_runners(runners, model, blob, args, device, tmp)
    ov = {}
    if device.type == "cpu":
        calibration = [np.random.default_rng(i).random(blob.shape, dtype=np.float32) for i in range(8)]
        ov = openvino_engines(model, args.width, args.height, tmp, threads=args.threads, batches=(1,), calibration=calibration)
        runners.update({name: (lambda engine=engine: engine(blob)) for name, engine in ov.items()})
    decoded = add_decode_runners(runners, reference, {"torch-lean": lean, **ov}, blob)
    medians = interleaved(runners, args.repeats, device)
    print(f"\n{args.arch} at {args.width}x{args.height}, batch 1, median of {args.repeats} alternating repeats")
    print(f"{'engine':<16} {'s/img':>9} {'vs baseline':>12}")
    for name, seconds in medians.items():
        if name not in decoded:
            print(f"{name:<16} {seconds:>9.3f} {medians['baseline'] / seconds:>11.2f}x")
    if decoded:
        print("\nnetwork + decode (500 candidates) against the reference's forward + mot_decode, same run")
        print(f"{'engine':<22} {'s/img':>9} {'vs reference':>13}")
        for name in decoded:
            print(f"{name:<22} {medians[name]:>9.3f} {medians['reference'] / medians[name]:>12.2f}x")


def add_decode_runners(runners: dict[str, Callable[[], object]], reference: Callable[[], object] | None,
                       engines: dict, blob: np.ndarray) -> list[str]:
    """With the reference present: its row and ours with decoding (torch-lean, OpenVINO bf16/int8); their names."""
    if reference is None:
        return []
    runners["reference"] = reference
    for name in ("torch-lean", "openvino-bf16", "openvino-int8"):
        if name in engines:
            runners[f"{name}+decode"] = (lambda engine=engines[name]: decode_detections(
                engine(blob), K=500, conf_thres=0.4, letterbox=[(1.0, 0.0, 0.0)]))
    return [name for name in runners if name == "reference" or name.endswith("+decode")]


class EndToEnd:
    """One engine's tracking loop over chunks of frames: prepare, then the tracker's `batch` frames
    per network pass (1 = one frame at a time, as `fairmot track` runs), decode, and the tracker
    frame by frame."""

    def __init__(self, tracker: OnlineTracker) -> None:
        self.tracker = tracker
        self.seconds = self.model_seconds = 0.0
        self.frames = 0

    def run(self, chunk: list[np.ndarray], timed: bool) -> None:
        runner = self.tracker
        start = time.perf_counter()
        prepared = [runner.prepare(frame) for frame in chunk]
        passes = [prepared[i:i + runner.batch] for i in range(0, len(prepared), runner.batch)]
        model_s = 0.0
        for frames in passes:
            dets, seconds = runner.detect(*stack_prepared(frames), input_threshold(runner.settings))
            model_s += seconds
            for frame_dets in dets:
                runner.tracker.update(frame_dets.boxes, frame_dets.scores, frame_dets.embeddings)
        sync(runner.device)
        if timed:
            self.seconds += time.perf_counter() - start
            self.model_seconds += model_s
            self.frames += len(chunk)


def end_to_end_part(args: argparse.Namespace, device: torch.device, tmp: Path) -> None:
    if args.checkpoint:
        model, meta = build_from_checkpoint(args.checkpoint)
        width, height, origin = int(meta["input_w"]), int(meta["input_h"]), str(args.checkpoint)
    else:
        torch.manual_seed(0)
        model, width, height, origin = realistic(create_model("dla_tiny")), 320, 192, "random weights"
    onnx = onnx_engine(export_onnx(model, tmp / "tiny.onnx", input_w=width, input_h=height), device, args.threads)
    b = args.batch
    engines = {
        "baseline": None,
        **({"lean-eager": TorchEngine(model, input_w=width, input_h=height, device=device, onednn=False)}
           if device.type == "cpu" else {}),
        "torch-lean": TorchEngine(model, input_w=width, input_h=height, device=device),
        **({"onnx": onnx} if onnx is not None else {}),
        f"torch-lean b{b}": TorchEngine(model, input_w=width, input_h=height, device=device, batch=b),
    }
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    frames = [np.roll(base, 3 * i, axis=1) for i in range(args.warmup + args.frames)]  # moving content
    if device.type == "cpu":
        prepare = OnlineTracker(None, input_w=width, input_h=height).prepare
        engines.update(openvino_engines(model, width, height, tmp, threads=args.threads, batches=(1, b),
                                        calibration=[prepare(frame)[0] for frame in frames[:8]]))
    loops = {name: EndToEnd(OnlineTracker(model, input_w=width, input_h=height, device=device, engine=engine))
             for name, engine in engines.items()}
    chunks = [frames[i:i + b] for i in range(0, len(frames), b)]
    for i, chunk in enumerate(chunks):  # chunks alternate between the engines
        for loop in loops.values():
            loop.run(chunk, timed=i * b >= args.warmup)
    print(f"\nend to end: {model.arch} at {width}x{height} ({origin}), {loops['baseline'].frames} frames after "
          f"{len(frames) - loops['baseline'].frames} warm-up, chunks of {b} frames alternating between engines; b{b} = {b} frames per "
          f"network pass (detect's eval.batch), the others one frame at a time")
    print(f"{'engine':<16} {'fps':>8} {'fps_model':>10} {'vs baseline':>12}")
    baseline_fps = loops["baseline"].frames / loops["baseline"].seconds
    for name, loop in loops.items():
        fps = loop.frames / loop.seconds
        print(f"{name:<16} {fps:>8.1f} {loop.frames / loop.model_seconds:>10.1f} {fps / baseline_fps:>11.2f}x")


def main() -> None:
    args = parse_args()
    device = benchmark_device(args.device, args.threads)
    print(f"device: {device_name(args.device)}; torch threads {torch.get_num_threads()}; "
          f"onnxruntime threads {args.threads or 'default'}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_network:
            network_part(args, device, Path(tmp))
        end_to_end_part(args, device, Path(tmp))


if __name__ == "__main__":
    main()

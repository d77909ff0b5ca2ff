"""Network forward time per image (batch 1, inference mode) and parameter count, per architecture.

Times the network alone (no decoding, no tracker) at the MOT17 input size 1088x608 and at the
embedded default 320x192, after warm-up runs, synchronising CUDA before reading the clock.

    python benchmarks/forward.py --archs dla_tiny dla34 --device cpu
    python benchmarks/forward.py --archs dla34 hrnet18 hrnet32 --device cuda --amp --repeats 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from fairmot.devices import benchmark_device
from fairmot.models import ARCHITECTURES, count_parameters, create_model

SIZES = ((1088, 608), (320, 192))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per size (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards first")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--amp", action="store_true", help="autocast to float16 (CUDA) / bfloat16 (CPU)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def time_forward(model: torch.nn.Module, x: torch.Tensor, repeats: int, warmup: int, amp: bool) -> float:
    """Median seconds of one forward of `x`."""
    device_type = x.device.type
    dtype = torch.float16 if device_type == "cuda" else torch.bfloat16
    times = []
    with torch.inference_mode(), torch.autocast(device_type, dtype=dtype, enabled=amp):
        for i in range(warmup + repeats):
            if device_type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(x)
            if device_type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    args = parse_args()
    device = benchmark_device(args.device, args.threads)
    name = torch.cuda.get_device_name(device) if args.device == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"device: {name}; amp: {args.amp}; batch 1; median of {args.repeats} after {args.warmup} warm-up")
    header = f"{'arch':<10} {'params':>12} " + " ".join(f"{f'{w}x{h} ms/img':>17}" for w, h in SIZES)
    print(header)
    rows = []
    for arch in args.archs:
        torch.manual_seed(0)
        model = create_model(arch).to(device).eval()
        row = {"arch": arch, "parameters": count_parameters(model)}
        for width, height in SIZES:
            x = torch.rand(1, 3, height, width, device=device)
            row[f"ms_{width}x{height}"] = 1000 * time_forward(model, x, args.repeats, args.warmup, args.amp)
        rows.append(row)
        print(f"{arch:<10} {row['parameters']:>12,} " + " ".join(f"{row[f'ms_{w}x{h}']:>17.1f}" for w, h in SIZES),
              flush=True)
        del model
    if args.json:
        args.json.write_text(json.dumps({"device": name, "amp": args.amp, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

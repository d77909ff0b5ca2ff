"""Benchmark: end-to-end tracking FPS of a FairMOT network (random weights) at one input size.

Times what `fairmot track` runs per frame: `fps` = image to device + forward + decode + tracker per
frame, `fps_model` = forward alone, both after warm-up frames and with CUDA synchronisation.
Frames are random-texture images of the source size, letterboxed outside the timer (as the data
loader does it).

    .venv/bin/python benchmarks/fps.py --arch dla_tiny --width 320 --height 192 --device cpu --frames 30
    .venv/bin/python benchmarks/fps.py --arch dla34 --width 1088 --height 608 --device cuda --amp fp16
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from fairmot.devices import device_name, peak_memory_mb, reset_peak_memory
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.speed import SpeedMeter
from fairmot.models import count_parameters, create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="dla_tiny")
    parser.add_argument("--width", type=int, default=320, help="network input width (multiple of 32)")
    parser.add_argument("--height", type=int, default=192, help="network input height (multiple of 32)")
    parser.add_argument("--source", default="", help="source frame size WxH (default: the input size)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", default="off", help="off | auto | bf16 | fp16 (autocast on CUDA)")
    parser.add_argument("--frames", type=int, default=30, help="timed frames")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--cudnn-benchmark", action="store_true")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(0)
    src_w, src_h = (int(v) for v in args.source.split("x")) if args.source else (args.width, args.height)
    model = create_model(args.arch)
    meter = SpeedMeter(warmup=args.warmup)
    runner = OnlineTracker(model, input_w=args.width, input_h=args.height, device=args.device,
                           amp=args.amp or None, meter=meter)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(src_h, src_w, 3), dtype=np.uint8)
    reset_peak_memory(args.device)
    runner.reset(30)
    for i in range(args.warmup + args.frames):
        frame = np.roll(base, 3 * i, axis=1)  # moving content, cheap to make
        runner.step(*runner.prepare(frame))
    total_ms = 1e3 / meter.fps
    print(f"arch {args.arch} ({count_parameters(model) / 1e6:.1f} M params), input {args.width}x{args.height}, "
          f"source {src_w}x{src_h}, amp {args.amp or 'off'}")
    print(f"device {device_name(args.device)}")
    print(f"frames {args.frames} timed after {args.warmup} warm-up")
    print(f"fps {meter.fps:.2f} ({total_ms:.1f} ms/frame end to end), fps_model {meter.fps_model:.2f} "
          f"({1e3 / meter.fps_model:.1f} ms forward)")
    print(f"peak memory {peak_memory_mb(args.device):.0f} MiB "
          f"({'CUDA max allocated' if torch.device(args.device).type == 'cuda' else 'process peak RSS'})")


if __name__ == "__main__":
    main()

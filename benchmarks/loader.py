"""Data loading per core: JPEG decoding alone and the augmented training sample, OpenCV's decoder against read_bgr's.

Frames come from the embedded generator at MOT17's frame size (1920x1080 by default) and, for the
decode-only rows, also re-encoded at the 1088x608 input size. Both decoders run in one process,
one thread each (torch.set_num_threads(1), cv2.setNumThreads(1)), in alternating rounds; the figure
is the median round. `opencv` is today's cv2.imread(path, IMREAD_COLOR); `read_bgr` is
fairmot.data.images.read_bgr (simplejpeg/libjpeg-turbo), checked here to give the same pixels.

    python benchmarks/loader.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frame-width", type=int, default=1920)
    parser.add_argument("--frame-height", type=int, default=1080)
    parser.add_argument("--width", type=int, default=1088, help="training input width")
    parser.add_argument("--height", type=int, default=608, help="training input height")
    parser.add_argument("--frames", type=int, default=16, help="distinct frames (decoded in turn)")
    parser.add_argument("--decodes", type=int, default=64, help="decodes per decoder per round")
    parser.add_argument("--samples", type=int, default=16, help="training samples per decoder per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the median is reported")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def make_frames(args: argparse.Namespace, workdir: Path) -> tuple[list[Path], list[Path], object]:
    """Synthetic frames at the frame size and the same frames at the input size, and a JointDataset on the former."""
    from fairmot.data.dataset import JointDataset
    from fairmot.data.labels import generate_labels
    from fairmot.data.synthetic import JPEG_QUALITY, generate_synthetic

    generate_synthetic(workdir / "dataset", seed=0, train_sequences=1, val_sequences=0, frames=args.frames,
                       width=args.frame_width, height=args.frame_height, frame_rate=30, density=8.0, ignore_fraction=0.03)
    generate_labels(workdir / "dataset", workdir / "labels", workdir / "splits")
    frames = sorted((workdir / "dataset").rglob("*.jpg"))
    small = []
    for path in frames:
        out = workdir / "input_size" / path.name
        out.parent.mkdir(exist_ok=True)
        image = cv2.resize(cv2.imread(str(path)), (args.width, args.height), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        small.append(out)
    dataset = JointDataset(workdir / "dataset", workdir / "labels", workdir / "splits" / "train.txt",
                           args.width, args.height, augment=True)
    return frames, small, dataset


def rate(work: Callable[[int], object], count: int) -> float:
    """Items per second of `count` calls of work(i)."""
    start = time.perf_counter()
    for i in range(count):
        work(i)
    return count / (time.perf_counter() - start)


def alternate(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median rate of each run over rounds, the runs taking turns (first place alternating)."""
    figures: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            figures[name].append(runs[name]())
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from fairmot.data import images

    fast_decoder = images.simplejpeg
    if fast_decoder is None:
        raise SystemExit("simplejpeg is not importable: read_bgr would be cv2.imread, nothing to compare")

    def sample_rate(dataset, decoder) -> float:
        images.simplejpeg = decoder  # None: read_bgr is cv2.imread, today's decoding
        try:
            return rate(lambda i: dataset[i % len(dataset)], args.samples)
        finally:
            images.simplejpeg = fast_decoder

    with tempfile.TemporaryDirectory() as tmp:
        frames, small, dataset = make_frames(args, Path(tmp))
        for path in frames[:4] + small[:4]:
            assert np.array_equal(images.read_bgr(path), cv2.imread(str(path), cv2.IMREAD_COLOR)), path
        sizes = {f"{args.frame_width}x{args.frame_height}": frames, f"{args.width}x{args.height}": small}
        for warm in (None, fast_decoder):  # first touches (page cache, allocator) outside the timing
            sample_rate(dataset, warm)
        results = {}
        for size, paths in sizes.items():
            results[f"decode {size}, img/s"] = alternate(args.rounds, {
                "opencv": lambda p=paths: rate(lambda i: cv2.imread(str(p[i % len(p)]), cv2.IMREAD_COLOR), args.decodes),
                "read_bgr": lambda p=paths: rate(lambda i: images.read_bgr(p[i % len(p)]), args.decodes),
            })
        results[f"training sample {args.width}x{args.height} (augmented), samples/s"] = alternate(args.rounds, {
            "opencv": lambda: sample_rate(dataset, None),
            "read_bgr": lambda: sample_rate(dataset, fast_decoder),
        })
    print(f"one core; median of {args.rounds} alternating rounds; frames {args.frame_width}x{args.frame_height}")
    print(f"{'what':<58}{'opencv':>10}{'read_bgr':>10}{'ratio':>8}")
    for what, row in results.items():
        print(f"{what:<58}{row['opencv']:>10.1f}{row['read_bgr']:>10.1f}{row['read_bgr'] / row['opencv']:>7.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

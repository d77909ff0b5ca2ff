"""Training-step throughput: samples/s and where a step's time goes (waiting for data vs forward/backward).

Runs the engine's own step (ModelWithLoss, Adam with the loss-module group, AMP and channels_last on
CUDA) on either the synthetic dataset through a real DataLoader (`--data synthetic`: frames from the
embedded generator, labels, JointDataset with augmentation) or one fixed batch of random targets on the
device (`--data random`: pure compute, no input pipeline).

    python benchmarks/train_step.py --arch dla_tiny --batch-size 16 --width 320 --height 192 --device cpu
    python benchmarks/train_step.py --arch dla34 --batch-size 18 --width 1088 --height 608 --device cuda --amp auto --data random
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="dla_tiny")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", default="off", choices=["off", "auto", "bf16", "fp16"],
                        help="mixed precision (CUDA only; fairmot.devices.resolve_amp)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (allocator, cudnn autotune)")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--data", choices=("synthetic", "random"), default="synthetic")
    parser.add_argument("--nid", type=int, default=500, help="identities for --data random")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def synthetic_loader(args: argparse.Namespace, workdir: Path, frames_needed: int):
    """The embedded dataset at the input size, labelled, through JointDataset and a DataLoader."""
    from fairmot.data.dataset import JointDataset
    from fairmot.data.labels import generate_labels
    from fairmot.data.synthetic import generate_synthetic

    per_sequence = max(10, math.ceil(frames_needed / 2))
    generate_synthetic(workdir / "dataset", seed=0, train_sequences=2, val_sequences=1, frames=per_sequence,
                       width=args.width, height=args.height, frame_rate=30, density=8.0, ignore_fraction=0.03)
    generate_labels(workdir / "dataset", workdir / "labels", workdir / "splits")
    dataset = JointDataset(workdir / "dataset", workdir / "labels", workdir / "splits" / "train.txt",
                           args.width, args.height, augment=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.num_workers, pin_memory=args.device.startswith("cuda"),
                                         persistent_workers=args.num_workers > 0)
    return loader, dataset.nID


def random_batches(args: argparse.Namespace, device: torch.device, objects: int = 20):
    """One fixed batch with `objects` valid targets per image, yielded forever (no input pipeline)."""
    b, h, w, k = args.batch_size, args.height // 4, args.width // 4, 500
    g = torch.Generator().manual_seed(0)
    ind = torch.randint(0, h * w, (b, k), generator=g)
    mask = torch.zeros(b, k, dtype=torch.uint8)
    mask[:, :objects] = 1
    hm = torch.zeros(b, 1, h * w)
    hm.scatter_(2, ind[:, None, :objects], 1.0)
    batch = {
        "input": torch.rand(b, 3, args.height, args.width, generator=g),
        "hm": hm.view(b, 1, h, w),
        "reg_mask": mask,
        "ind": ind,
        "wh": torch.rand(b, k, 4, generator=g) * 20 + 2,
        "reg": torch.rand(b, k, 2, generator=g),
        "ids": torch.where(mask > 0, torch.randint(0, args.nid, (b, k), generator=g), -1),
    }
    batch = {key: value.to(device) for key, value in batch.items()}
    while True:
        yield batch


def timed_steps(net, optimizer, scaler, batches, device: torch.device, warmup: int,
                total_steps: int) -> tuple[list[float], list[float], torch.Tensor]:
    """(seconds loading, seconds computing) of each step after `warmup`, and the last loss."""
    from fairmot.training.parts import move_batch, optimizer_step

    on_cuda = device.type == "cuda"
    net.train()
    data_s, compute_s = [], []
    for step in range(total_steps):
        tick = time.perf_counter()
        batch = move_batch(next(batches), device)
        if on_cuda:
            torch.cuda.synchronize(device)
        loaded = time.perf_counter()
        loss, _stats = net(batch)
        optimizer_step(loss, optimizer, scaler)
        if on_cuda:
            torch.cuda.synchronize(device)
        done = time.perf_counter()
        if step == warmup - 1 and on_cuda:
            torch.cuda.reset_peak_memory_stats(device)
        if step >= warmup:
            data_s.append(loaded - tick)
            compute_s.append(done - loaded)
    return data_s, compute_s, loss


def main() -> None:
    args = parse_args()
    from fairmot.devices import benchmark_device, device_name, peak_memory_mb
    from fairmot.models import count_parameters, create_model
    from fairmot.models.losses import FairMOTLoss
    from fairmot.training.parts import setup_training

    device = benchmark_device(args.device)
    total_steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory(prefix="fairmot-bench-") as tmp:
        if args.data == "synthetic":
            loader, nid = synthetic_loader(args, Path(tmp), total_steps * args.batch_size + args.batch_size)
            batches = iter(loader)
        else:
            nid = args.nid
            batches = random_batches(args, device)
        torch.manual_seed(317)
        model = create_model(args.arch)
        net, optimizer, scaler = setup_training(model, FairMOTLoss(nid), device, amp=args.amp, lr=1e-4)
        data_s, compute_s, loss = timed_steps(net, optimizer, scaler, batches, device, args.warmup, total_steps)
        del batches

    data, compute = statistics.mean(data_s), statistics.mean(compute_s)
    figures = {
        "arch": args.arch, "params_m": round(count_parameters(model) / 1e6, 2),
        "input": f"{args.width}x{args.height}", "batch_size": args.batch_size, "device": device_name(device),
        "amp": str(net.amp_dtype).replace("torch.", "") if net.amp_dtype else "off",
        "data": args.data, "num_workers": args.num_workers if args.data == "synthetic" else 0, "steps": args.steps,
        "samples_per_s": round(args.batch_size / (data + compute), 2),
        "compute_samples_per_s": round(args.batch_size / compute, 2),
        "data_ms": round(1000 * data, 1), "compute_ms": round(1000 * compute, 1),
        "data_share": round(data / (data + compute), 3),
        "peak_memory_mb": round(peak_memory_mb(device), 1), "final_loss": round(float(loss.detach()), 4),
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: JDETracker.update time per frame for 10 / 50 / 200 simultaneous objects.

Objects walk at constant velocity with noisy boxes and embeddings, blink out now and then (so
tracks go lost and are re-found), and a few false positives appear per frame. Only `update` is
timed; detections are generated beforehand.

    .venv/bin/python benchmarks/tracker.py [--objects 10 50 200] [--frames 300] [--warmup 20]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from fairmot.tracking import JDETracker


def make_frames(n_objects: int, frames: int, seed: int = 0, dim: int = 128) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    width, height = 1920.0, 1080.0
    pos = rng.uniform([0, 200], [width, height], size=(n_objects, 2))
    vel = rng.normal(0, 2.0, size=(n_objects, 2))
    box_h = rng.uniform(60, 300, size=n_objects)
    identity = rng.normal(size=(n_objects, dim))
    visible = np.ones(n_objects, dtype=bool)
    out = []
    for _ in range(frames):
        pos += vel
        pos %= [width, height]
        # occlusions: a visible object disappears with p=0.03 per frame, a hidden one returns with p=0.2
        flip = rng.random(n_objects) < np.where(visible, 0.03, 0.2)
        visible ^= flip
        idx = np.flatnonzero(visible)
        n_fp = rng.poisson(max(1, n_objects // 20))
        h = np.concatenate([box_h[idx], rng.uniform(60, 300, n_fp)])
        w = 0.4 * h
        centre = np.concatenate([pos[idx] + rng.normal(0, 2, (len(idx), 2)), rng.uniform(0, [width, height], (n_fp, 2))])
        boxes = np.column_stack([centre - np.column_stack([w, h]) / 2, centre + np.column_stack([w, h]) / 2])
        emb = np.concatenate([identity[idx] + rng.normal(0, 0.4, (len(idx), dim)), rng.normal(size=(n_fp, dim))])
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        scores = rng.uniform(0.4, 1.0, len(h))
        out.append((boxes.astype(np.float32), scores.astype(np.float32), emb.astype(np.float32)))
    return out


def bench(n_objects: int, frames: int, warmup: int) -> dict[str, float]:
    data = make_frames(n_objects, frames + warmup)
    tracker = JDETracker()
    times, tracks = [], []
    for i, (boxes, scores, emb) in enumerate(data):
        start = time.perf_counter()
        out = tracker.update(boxes, scores, emb)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
            tracks.append(len(out))
    ms = np.array(times) * 1e3
    return {"objects": n_objects, "mean_ms": ms.mean(), "p50_ms": np.median(ms), "p95_ms": np.percentile(ms, 95),
            "updates_per_s": 1e3 / ms.mean(), "tracks": float(np.mean(tracks)),
            "dets": float(np.mean([len(d[1]) for d in data[warmup:]]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    print(f"JDETracker.update on {platform.processor() or platform.machine()}, {args.frames} timed frames")
    print(f"{'objects':>8} {'dets/frame':>10} {'tracks out':>10} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'updates/s':>10}")
    for n in args.objects:
        r = bench(n, args.frames, args.warmup)
        print(f"{r['objects']:>8} {r['dets']:>10.1f} {r['tracks']:>10.1f} {r['mean_ms']:>8.2f} {r['p50_ms']:>8.2f} "
              f"{r['p95_ms']:>8.2f} {r['updates_per_s']:>10.0f}")


if __name__ == "__main__":
    main()

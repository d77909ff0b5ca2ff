"""Benchmark: resident memory over a long run stays flat (the tracker's bookkeeping is bounded).

Part 1 feeds the tracker synthetic detections: `--objects` people at a time, each living 5-40
frames and replaced by a new identity, so ids keep churning (hundreds of thousands over a run) and
a list that grew per removed id would show. RSS is read after `--warmup` frames and at the end.
`--unbounded` puts back the old bookkeeping (every removed id kept) for comparison.

Part 2 (`--network-frames N`, optional) runs the whole online loop (random-weight dla_tiny at
160x96, synthetic frames, the torch engine on the CPU) for N frames, the path `fairmot track`
takes per frame minus the files, and reports its RSS growth the same way.

    PYTHONPATH=. .venv/bin/python benchmarks/memory.py [--frames 100000] [--warmup 10000]
        [--objects 20] [--method jde|bytetrack] [--unbounded] [--network-frames 3000]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Iterator

import numpy as np

from fairmot.config import TrackParams
from fairmot.tracking import TRACKERS, JDETracker, build_tracker


def rss_mb() -> float:
    """Current resident set size (Linux /proc), after a collection so garbage does not count."""
    gc.collect()
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def churning_detections(frames: int, objects: int, seed: int = 0, dim: int = 128) -> Iterator[tuple[np.ndarray, ...]]:
    """Per frame: boxes (N, 4) xyxy, scores, embeddings of `objects` short-lived identities (15 % missed)."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(objects, dim))
    pos = rng.uniform([0, 0], [1800, 900], size=(objects, 2))
    left = rng.integers(5, 40, objects)
    for _ in range(frames):
        born = left <= 0
        if born.any():  # a new identity in the slot: new appearance, new place
            feats[born] = rng.normal(size=(born.sum(), dim))
            pos[born] = rng.uniform([0, 0], [1800, 900], size=(born.sum(), 2))
            left[born] = rng.integers(5, 40, born.sum())
        left -= 1
        pos += rng.normal(0, 2, pos.shape)
        seen = rng.random(objects) > 0.15
        xy = pos[seen]
        boxes = np.concatenate([xy, xy + [40, 100]], axis=1)
        yield boxes, rng.uniform(0.3, 1.0, seen.sum()), feats[seen] + rng.normal(0, 0.05, (seen.sum(), dim))


def _unbounded(tracker: JDETracker) -> None:
    """The bookkeeping before it was bounded: every removed id kept for the whole run."""
    from fairmot.tracking.tracker import TrackState, _join, _remove_duplicates, _subtract

    def update_lists(activated, refound, newly_lost, removed):  # noqa: ANN001, ANN202
        tracked = _join(_join([t for t in tracker.tracked if t.state == TrackState.Tracked], activated), refound)
        lost = [t for t in _subtract(tracker.lost, tracked) + newly_lost if t.track_id not in tracker._removed_ids]
        tracker._removed_ids.update(t.track_id for t in removed)
        tracker.tracked, tracker.lost = _remove_duplicates(tracked, lost)

    tracker._update_lists = update_lists  # type: ignore[method-assign]


def tracker_run(args: argparse.Namespace) -> None:
    tracker = build_tracker(TrackParams(method=args.method, conf_thres=0.4, track_buffer=30), frame_rate=30)
    if args.unbounded:
        _unbounded(tracker)
    start, warm, every = time.perf_counter(), None, max(args.frames // 10, 1)
    for frame, dets in enumerate(churning_detections(args.frames, args.objects), 1):
        tracker.update(*dets)
        if frame == args.warmup:
            warm = rss_mb()
        if frame % every == 0:
            print(f"  frame {frame}: RSS {rss_mb():.2f} MB, {len(tracker._removed_ids)} removed ids kept", flush=True)
    end = rss_mb()
    warm = end if warm is None else warm
    print(f"tracker ({args.method}{', unbounded' if args.unbounded else ''}): {args.frames} frames, "
          f"{tracker._next_id - 1} identities, {time.perf_counter() - start:.0f} s; RSS after {args.warmup} frames "
          f"{warm:.1f} MB, at the end {end:.1f} MB, growth {end - warm:+.2f} MB; lists at the end: "
          f"{len(tracker.tracked)} tracked, {len(tracker.lost)} lost, {len(tracker._removed_ids)} removed ids")


def network_run(frames: int, warmup: int) -> None:
    import torch

    from fairmot.config import TrackParams
    from fairmot.inference.runner import OnlineTracker
    from fairmot.inference.sources import Frame
    from fairmot.models import create_model

    torch.manual_seed(0)
    runner = OnlineTracker(create_model("dla_tiny"), input_w=160, input_h=96, settings=TrackParams(K=50))
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (96, 320, 3), dtype=np.uint8)
    source = (Frame(n, np.ascontiguousarray(np.roll(texture, 3 * n, axis=1)[:, :160])) for n in range(1, frames + 1))
    warm = None
    for n, _ in enumerate(runner.run_frames(source, 30), 1):
        if n == warmup:
            warm = rss_mb()
    end = rss_mb()
    warm = end if warm is None else warm
    print(f"online loop (dla_tiny 160x96, cpu): {frames} frames at {runner.meter.fps:.1f} fps; RSS after {warmup} "
          f"frames {warm:.1f} MB, at the end {end:.1f} MB, growth {end - warm:+.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--method", choices=sorted(TRACKERS), default="jde")
    parser.add_argument("--unbounded", action="store_true", help="the old bookkeeping, for comparison")
    parser.add_argument("--network-frames", type=int, default=0, help="also run the online loop this many frames")
    args = parser.parse_args()
    print(f"RSS at start {rss_mb():.1f} MB")
    tracker_run(args)
    if args.network_frames:
        network_run(args.network_frames, min(args.network_frames // 3, 500))


if __name__ == "__main__":
    main()

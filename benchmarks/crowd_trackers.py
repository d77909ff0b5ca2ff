"""Trackers side by side, default and tuned params, on a dataset and model (the crowd tables).

One network pass per split fills the detection cache (timed; with `--cmc`, the camera warps too);
then for each method, with and without camera motion compensation (`--cmc`) and each gap filling
(`--interpolate`), the params.yaml defaults are scored on the test split, Optuna tunes the tracker
on the validation split (second halves of the training sequences; the gap filling held fixed), and
the tuned params are scored on the test split, with the tracking time per frame (from the cache,
gap filling included). Prints a Markdown table, the timings, and whether float16 embeddings in the
cache would give the same result rows.

    python benchmarks/crowd_trackers.py --dataset /tmp/crowd/data/dataset \
        --model /tmp/crowd/data/model/model.pt --trials 40 --cache /tmp/crowd/data/detections \
        --out /tmp/crowd/reports/trackers.json
    python benchmarks/crowd_trackers.py --dataset /tmp/pan/data/dataset --model /tmp/pan/data/model/model.pt \
        --methods jde bytetrack botsort --cmc sparse --interpolate none gsi --trials 30
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from fairmot.config import TrackParams
from fairmot.errors import DataError
from fairmot.evaluation import find_eval_sequences
from fairmot.evaluation.interpolate import interpolate_tracks
from fairmot.inference.detect import record_sequence
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import iter_images
from fairmot.io import file_sha256
from fairmot.tracking.cache import check_cache, read_detections, track_cached, write_detections
from fairmot.tuning.search import score_track_params, tune


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=40, help="Optuna trials per method")
    parser.add_argument("--objective", default="HOTA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for the network pass")
    parser.add_argument("--cache", type=Path, help="keep the detection caches here (<split>/<seq>.npz) and reuse them")
    parser.add_argument("--methods", nargs="+", default=["jde", "bytetrack"], help="track.method values compared")
    parser.add_argument("--cmc", choices=("sparse", "ecc", "orb"), help="also compare each method with this track.cmc")
    parser.add_argument("--interpolate", nargs="+", default=["none"], choices=("none", "linear", "gsi"),
                        help="track.interpolate values compared (each held fixed while tuning)")
    return parser.parse_args()


def cache_split(model: Path, dataset: Path, split: str, cache_dir: Path | None, cmc: tuple[str, ...] = ()):
    """The split's detection caches: read from cache_dir/<split>/ when there, else one network pass."""
    sequences = find_eval_sequences(dataset, split)
    folder = cache_dir / split if cache_dir else None
    digest = file_sha256(model)
    if folder and all((folder / f"{s.name}.npz").exists() for s in sequences):
        try:
            caches = [read_detections(folder / f"{s.name}.npz") for s in sequences]
            if any(set(cmc) - set(c.warps) for c in caches):
                raise DataError(f"camera warps of {', '.join(cmc)} missing")
            for cache, s in zip(caches, sequences):
                check_cache(cache, folder / f"{s.name}.npz", name=s.name, first_frame=s.first_frame,
                            frames=s.num_frames, width=s.info.width, height=s.info.height, checkpoint_sha256=digest)
            print(f"{split}: detections read from {folder}")
            return sequences, caches
        except DataError as exc:
            print(f"{split}: not reused: {exc}")
    runner = OnlineTracker.from_checkpoint(model, TrackParams(det_floor=0.05),
                                           InferenceSettings(device="cpu", warmup=0))
    start = time.perf_counter()
    caches = [record_sequence(runner, iter_images(s.frame_paths()), name=s.name, frame_rate=s.info.frame_rate,
                              width=s.info.width, height=s.info.height, first_frame=s.first_frame,
                              checkpoint_sha256=digest, cmc=cmc) for s in sequences]
    seconds = time.perf_counter() - start
    for cache in caches if folder else []:
        write_detections(folder / f"{cache.name}.npz", cache)
    frames = sum(s.num_frames for s in sequences)
    print(f"{split}: network pass over {frames} frames in {seconds:.1f} s ({frames / seconds:.1f} fps), "
          f"{sum(len(c.scores) for c in caches) / frames:.1f} candidates per frame above the floor")
    return sequences, caches


def float16_check(caches, settings: TrackParams) -> str:
    same = 0
    for cache in caches:
        half = dataclasses.replace(cache, embeddings=cache.embeddings.astype(np.float16).astype(np.float32))
        same += track_cached(half, settings) == track_cached(cache, settings)
    return f"{same}/{len(caches)} sequences give identical rows with float16 embeddings ({settings.method})"


def tracking_ms(caches, settings: TrackParams) -> float:
    """Milliseconds per frame to track (and fill gaps of) every cached sequence, network-free."""
    start = time.perf_counter()
    for cache in caches:
        interpolate_tracks(track_cached(cache, settings), settings)
    return 1000 * (time.perf_counter() - start) / sum(len(c.counts) for c in caches)


def compare(args: argparse.Namespace, method: str, cmc: str, interpolate: str, val, test) -> list[dict]:
    """The default and the tuned row of one configuration."""
    (val_seqs, val_caches), (test_seqs, test_caches) = val, test
    base = TrackParams(method=method, cmc=cmc, interpolate=interpolate)
    start = time.perf_counter()
    result = tune(val_caches, val_seqs, base, n_trials=args.trials, objective=args.objective, seed=args.seed,
                  methods=[method], interpolations=[interpolate])
    print(f"{method}, cmc {cmc}, interpolate {interpolate}: {args.trials} trials {time.perf_counter() - start:.0f} s; "
          f"val {args.objective} {result.baseline_value:.3f} -> {result.best_value:.3f} with {result.best_track_params()}")
    rows = []
    for label, params, value in (("default", base, result.baseline_value), ("tuned", result.best, result.best_value)):
        overall = score_track_params(test_caches, test_seqs, params).overall
        rows.append({"method": method, "cmc": cmc, "interpolate": interpolate, "params": label,
                     "MOTA": overall["MOTA"], "IDF1": overall["IDF1"], "HOTA": overall["HOTA"], "IDs": overall["IDs"],
                     "val_objective": value, "ms_per_frame": tracking_ms(test_caches, params),
                     "track": {k: v for k, v in result.best_track_params().items() if label == "tuned"}})
    return rows


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)  # on a shared 2-core machine one thread is many times faster
    warps = (args.cmc,) if args.cmc else ()
    val = cache_split(args.model, args.dataset, "val", args.cache, warps)
    test = cache_split(args.model, args.dataset, "test", args.cache, warps)
    rows = []
    for method in args.methods:
        for cmc in ("none", *warps):
            for interpolate in args.interpolate:
                rows += compare(args, method, cmc, interpolate, val, test)
        print(float16_check(test[1], TrackParams(method=method)))
    print(f"\n| method | cmc | interpolate | params | val {args.objective} | test MOTA | test IDF1 | test HOTA | test IDs "
          "| ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['cmc']} | {r['interpolate']} | {r['params']} | {r['val_objective']:.3f} | "
              f"{r['MOTA']:.3f} | {r['IDF1']:.3f} | {r['HOTA']:.3f} | {r['IDs']} | {r['ms_per_frame']:.2f} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""JDE vs ByteTrack association, default and tuned params, on a dataset and model (the crowd table).

One network pass per split fills the detection cache (timed); then for each method the params.yaml
defaults are scored on the test split, Optuna tunes on the validation split (second halves of the
training sequences), and the tuned params are scored on the test split. Prints a Markdown table,
the timings, and whether float16 embeddings in the cache would give the same result rows.

    python benchmarks/crowd_trackers.py --dataset /tmp/crowd/data/dataset \
        --model /tmp/crowd/data/model/model.pt --trials 40 --cache /tmp/crowd/data/detections \
        --out /tmp/crowd/reports/trackers.json
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
    return parser.parse_args()


def cache_split(model: Path, dataset: Path, split: str, cache_dir: Path | None):
    """The split's detection caches: read from cache_dir/<split>/ when there, else one network pass."""
    sequences = find_eval_sequences(dataset, split)
    folder = cache_dir / split if cache_dir else None
    digest = file_sha256(model)
    if folder and all((folder / f"{s.name}.npz").exists() for s in sequences):
        try:
            caches = [read_detections(folder / f"{s.name}.npz") for s in sequences]
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
                              checkpoint_sha256=digest) for s in sequences]
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


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)  # on a shared 2-core machine one thread is many times faster
    val_seqs, val_caches = cache_split(args.model, args.dataset, "val", args.cache)
    test_seqs, test_caches = cache_split(args.model, args.dataset, "test", args.cache)
    rows = []
    for method in ("jde", "bytetrack"):
        base = TrackParams(method=method)
        start = time.perf_counter()
        default_test = score_track_params(test_caches, test_seqs, base).overall
        score_s = time.perf_counter() - start
        start = time.perf_counter()
        result = tune(val_caches, val_seqs, base, n_trials=args.trials, objective=args.objective, seed=args.seed,
                      methods=[method])
        tune_s = time.perf_counter() - start
        tuned_test = score_track_params(test_caches, test_seqs, result.best).overall
        print(f"{method}: tracking + scoring the test split from the cache {score_s:.1f} s; "
              f"{args.trials} trials {tune_s:.0f} s; val {args.objective} {result.baseline_value:.3f} -> "
              f"{result.best_value:.3f} with {result.best_track_params()}")
        for label, overall, params in (("default", default_test, base), ("tuned", tuned_test, result.best)):
            rows.append({"method": method, "params": label, "MOTA": overall["MOTA"], "IDF1": overall["IDF1"],
                         "HOTA": overall["HOTA"], "IDs": overall["IDs"],
                         "val_objective": result.baseline_value if label == "default" else result.best_value,
                         "track": {k: getattr(params, k) for k in ("conf_thres", "track_buffer", "low_thres",
                                                                    "low_iou_gate")}})
        print(float16_check(test_caches, base))
    print(f"\n| method | params | val {args.objective} | test MOTA | test IDF1 | test HOTA | test IDs |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['params']} | {r['val_objective']:.3f} | {r['MOTA']:.3f} | {r['IDF1']:.3f} | "
              f"{r['HOTA']:.3f} | {r['IDs']} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""evaluate stage: track the evaluation split from the detection cache and score it (MOTA, IDF1, HOTA).

`fairmot evaluate` runs the tracker (track.method) over data/detections/<seq>.npz, which
`fairmot detect` wrote, so no network runs here and a track.* change costs seconds. It writes
data/results/<seq>.txt (gaps filled offline when track.interpolate says so), reports/per_sequence.csv and
reports/metrics.json; the speed and memory figures there are the network pass's, taken over from
reports/detect.json, plus `tracking_fps`.
`fairmot evaluate --results DIR --gt DIR` only scores existing MOTChallenge result files: it needs
no params.yaml (the code's defaults unless --params is given), scores whole sequences unless
--split says otherwise (eval.split is the pipeline's and is not read) and writes metrics.json and
per_sequence.csv only where --reports points.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stages.common import DatasetOption, one_line_errors, read_params, reports_policy

if TYPE_CHECKING:
    from fairmot.config import Params
    from fairmot.evaluation import EvalReport, EvalSequence

PIPELINE_PARAMS, PIPELINE_REPORTS = Path("params.yaml"), Path("reports")
# --gt's default split: every frame of every sequence with gt (of images/test under a dataset root)
SCORE_ONLY_SPLIT = "test"
SPEED_KEYS = ("fps", "fps_model", "peak_memory_mb", "device", "engine", "batch")


@one_line_errors
def evaluate(
    params_file: Annotated[Path | None, typer.Option("--params", help=(
        "Params file (default params.yaml; with --gt the code's defaults unless given)."))] = None,
    dataset: DatasetOption = Path("data/dataset"),
    detections: Annotated[Path, typer.Option(help="Detection cache written by `fairmot detect`.")] = Path(
        "data/detections"),
    results: Annotated[Path, typer.Option(help="Result files folder (written, or scored with --gt).")] = Path("data/results"),
    gt: Annotated[Path | None, typer.Option(
        help="Score existing --results against this gt (a dataset root or an images/<split> folder); no tracking."
    )] = None,
    reports: Annotated[Path | None, typer.Option(help=(
        "Where metrics.json and per_sequence.csv go, and detect.json is read (default reports; with --gt only "
        "when given)."))] = None,
    split: Annotated[str | None, typer.Option(help=(
        "test | val | train (params: eval.split; with --gt whole sequences unless given, val = second halves)."))] = None,
    benchmark: Annotated[str | None, typer.Option(
        help="MOT17 | MOT20 | DanceTrack: whose preprocessing scores the results (params: eval.benchmark).")] = None,
    conf_thres: Annotated[float | None, typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    method: Annotated[str | None, typer.Option(help="Tracker: jde | bytetrack | botsort (params: track.method).")] = None,
) -> None:
    """Track the evaluation split from the cache; write results, reports/metrics.json and per_sequence.csv."""
    from fairmot.evaluation import find_eval_sequences
    from fairmot.io import check_output_dir

    if gt is not None:
        _score_only(read_params(params_file, eval__split=("--split", split), eval__benchmark=("--benchmark", benchmark)),
                    results, gt, reports, split or SCORE_ONLY_SPLIT)
        return
    params = read_params(params_file or PIPELINE_PARAMS, eval__split=("--split", split),
                         eval__benchmark=("--benchmark", benchmark), track__conf_thres=("--conf-thres", conf_thres),
                         track__method=("--method", method))
    check_output_dir(results, option="--results", hint=" (or pass --gt DIR to score the files in it)")
    _check_reports(reports or PIPELINE_REPORTS)
    sequences = find_eval_sequences(dataset, params.eval.split)  # fail on bad gt before any tracking
    _track_and_score(params, sequences, dataset, detections, results, reports or PIPELINE_REPORTS)


def _score_only(params: Params, results: Path, gt: Path, reports: Path | None, split: str) -> None:
    """Score another tool's files on `split`, given as --split, not eval.split: that is the pipeline's
    choice of frames, while result files made elsewhere cover whole sequences."""
    from fairmot.evaluation import find_eval_sequences, format_table, tracking_metrics, write_reports

    if reports is not None:
        _check_reports(reports)
    if split == "val":
        print("note: --split val scores only the second half of each sequence (frames N/2+1..N of its N); "
              "pass --split train to score whole sequences")
    sequences = find_eval_sequences(gt, split)
    report = _score(params, gt, results, sequences)
    if reports is not None:
        write_reports(report, tracking_metrics(report), reports, replace=reports_policy(reports))
    print(format_table(report.table))


def _score(params: Params, root: Path, results: Path, sequences: list[EvalSequence]) -> EvalReport:
    """The result files scored for params.classes, each sequence's gt numbers read by its class rules."""
    from fairmot.evaluation import class_rules, load_results, score_results

    rows = load_results(results, sequences, num_classes=len(params.classes))
    rules = class_rules(root, params.data, params.classes, params.eval.benchmark, sequences)
    return score_results(sequences, rows, params.eval.benchmark, classes=params.classes, gt_classes=rules)


def _check_reports(reports: Path) -> None:
    """Refuse, before any work, a --reports whose metrics.json or per_sequence.csv may not be written."""
    from fairmot.io import check_output_file

    for name in ("metrics.json", "per_sequence.csv"):
        check_output_file(reports / name, replace=reports_policy(reports), option="--reports")


def _load_caches(detections: Path, sequences: list[EvalSequence], checkpoint_sha256: str | None) -> list:
    """The cache of every evaluated sequence, checked to be of that sequence, its evaluated frames and image
    size, and made by the network pass reports/detect.json describes (else by one checkpoint, the first's)."""
    from fairmot.tracking.cache import check_cache, read_detections

    caches = []
    for seq in sequences:
        path = detections / f"{seq.name}.npz"
        cache = read_detections(path)
        check_cache(cache, path, name=seq.name, first_frame=seq.first_frame, frames=seq.num_frames,
                    width=seq.info.width, height=seq.info.height,
                    checkpoint_sha256=checkpoint_sha256 or (caches[0].checkpoint_sha256 if caches else None))
        caches.append(cache)
    return caches


def _track_and_score(params: Params, sequences: list[EvalSequence], dataset: Path, detections: Path, results: Path,
                     reports: Path) -> None:
    import json
    import time

    from fairmot.data.formats.mot import write_results
    from fairmot.errors import DataError
    from fairmot.evaluation import format_table, tracking_metrics, write_reports
    from fairmot.evaluation.interpolate import interpolate_tracks
    from fairmot.io import OURS, atomic_dir
    from fairmot.tracking.cache import track_cached

    speed_path = reports / "detect.json"
    if not speed_path.is_file():
        raise DataError(f"{speed_path}: the network pass's figures are missing; run `fairmot detect` first")
    speed = json.loads(speed_path.read_text())
    caches = _load_caches(detections, sequences, speed.get("checkpoint_sha256"))
    started = time.perf_counter()
    with atomic_dir(results, replace=OURS) as tmp:
        for seq, cache in zip(sequences, caches):
            rows = track_cached(cache, params.track, len(params.classes))
            write_results(tmp / f"{seq.name}.txt", interpolate_tracks(rows, params.track), classes=len(params.classes))
    tracking_s = time.perf_counter() - started
    report = _score(params, dataset, results, sequences)
    frames = sum(s.num_frames for s in sequences)
    metrics = {**tracking_metrics(report), **{k: speed.get(k) for k in SPEED_KEYS},
               "method": params.track.method, "tracking_fps": round(frames / max(tracking_s, 1e-9), 1)}
    write_reports(report, metrics, reports, replace=reports_policy(reports))
    print(format_table(report.table))
    print(f"{params.track.method}: {frames} frames tracked from the cache at {metrics['tracking_fps']:.0f} FPS; "
          f"network pass (detect) {metrics['fps']:.2f} FPS on {metrics['device']}, "
          f"peak memory {metrics['peak_memory_mb']:.0f} MiB")

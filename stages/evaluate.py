"""evaluate stage: track the evaluation split with the trained model and score it (MOTA, IDF1, HOTA, FPS).

`fairmot evaluate` runs model + decode + tracker over every evaluated sequence, writes
data/results/<seq>.txt, reports/metrics.json and reports/per_sequence.csv.
`fairmot evaluate --results DIR --gt DIR` only scores existing MOTChallenge result files: it needs
no params.yaml (the code's defaults unless --params is given) and writes metrics.json and
per_sequence.csv only where --reports points.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stages.common import AmpOption, one_line_errors, pick_device, read_params

if TYPE_CHECKING:
    from fairmot.config import Params
    from fairmot.evaluation import EvalSequence

PIPELINE_PARAMS, PIPELINE_REPORTS = Path("params.yaml"), Path("reports")


@one_line_errors
def evaluate(
    params_file: Annotated[Path | None, typer.Option("--params", help=(
        "Params file (default params.yaml; with --gt the code's defaults unless given)."))] = None,
    model: Annotated[Path, typer.Option(help="Checkpoint written by `fairmot train`.")] = Path("data/model/model.pt"),
    dataset: Annotated[Path, typer.Option(help="Dataset root in MOT17 layout.")] = Path("data/dataset"),
    results: Annotated[Path, typer.Option(help="Result files folder (written, or scored with --gt).")] = Path("data/results"),
    gt: Annotated[Path | None, typer.Option(
        help="Score existing --results against this gt (a dataset root or an images/<split> folder); no model runs."
    )] = None,
    reports: Annotated[Path | None, typer.Option(help=(
        "Where metrics.json and per_sequence.csv go (default reports; with --gt only when given)."))] = None,
    split: Annotated[str | None, typer.Option(help="test | val | train (params: eval.split).")] = None,
    conf_thres: Annotated[float | None, typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")] = None,
    amp: AmpOption = None,
) -> None:
    """Track the evaluation split and write results, reports/metrics.json and reports/per_sequence.csv."""
    from fairmot.evaluation import find_eval_sequences

    if gt is not None:
        _score_only(read_params(params_file, eval__split=split), results, gt, reports)
        return
    params = read_params(params_file or PIPELINE_PARAMS, eval__split=split, track__conf_thres=conf_thres)
    sequences = find_eval_sequences(dataset, params.eval.split)  # fail on bad gt before any tracking
    _track_and_score(params, sequences, model, results, reports or PIPELINE_REPORTS,
                     pick_device(device, params.gpu_ids), amp)


def _score_only(params: Params, results: Path, gt: Path, reports: Path | None) -> None:
    from fairmot.evaluation import (
        evaluate_results_dir,
        format_table,
        tracking_metrics,
        write_reports,
    )

    report = evaluate_results_dir(results, gt, params.eval.split)
    if reports is not None:
        write_reports(report, tracking_metrics(report), reports)
    print(format_table(report.table))


def _track_and_score(params: Params, sequences: list[EvalSequence], model_path: Path, results: Path,
                     reports: Path, device: str, amp: str | None) -> None:
    import torch
    from tqdm import tqdm

    from fairmot.data.mot import write_results
    from fairmot.devices import device_name, peak_memory_mb, reset_peak_memory
    from fairmot.evaluation import (
        format_table,
        load_results,
        metrics_summary,
        score_results,
        write_reports,
    )
    from fairmot.inference import OnlineTracker, iter_images
    from fairmot.io import atomic_dir

    torch.manual_seed(params.seed)
    runner = OnlineTracker.from_checkpoint(model_path, params.track, device=device, amp=amp,
                                           warmup=params.eval.warmup_frames)
    reset_peak_memory(device)
    with atomic_dir(results) as tmp:
        for seq in sequences:
            rows = []
            progress = tqdm(total=seq.num_frames, desc=seq.name, unit="frame", disable=None)
            for _, tracks in runner.run(iter_images(seq.frame_paths()), frame_rate=seq.info.frame_rate):
                # the runner counts frames from 1; result files use the sequence's own numbering
                rows += [(f + seq.first_frame - 1, *rest) for f, *rest in tracks.rows()]
                progress.update()
            progress.close()
            write_results(tmp / f"{seq.name}.txt", rows)
    memory = peak_memory_mb(device)
    report = score_results(sequences, load_results(results, sequences))
    metrics = metrics_summary(report, runner.meter, memory, device_name(device))
    write_reports(report, metrics, reports)
    print(format_table(report.table))
    print(f"fps {metrics['fps']:.2f} (model {metrics['fps_model']:.2f}) on {metrics['device']}, "
          f"peak memory {metrics['peak_memory_mb']:.0f} MiB")

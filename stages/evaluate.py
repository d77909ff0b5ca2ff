"""evaluate stage: track the evaluation split with the trained model and score it (MOTA, IDF1, HOTA, FPS).

`fairmot evaluate` runs model + decode + tracker over every evaluated sequence, writes
data/results/<seq>.txt, reports/metrics.json and reports/per_sequence.csv.
`fairmot evaluate --results DIR --gt DIR` only scores existing MOTChallenge result files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from stages.app import ParamsFile, pick_device, read_params, stage_command

if TYPE_CHECKING:
    from fairmot.config import Params
    from fairmot.evaluation import EvalSequence


@stage_command
def evaluate(
    params_file: ParamsFile = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Checkpoint: written by `fairmot train`, or a released FairMOT .pth (runs at params input_w x input_h).")] = Path("data/model/model.pt"),
    arch: Annotated[Optional[str], typer.Option(help="Network of --model; default: read from the checkpoint or recognised from its tensors.")] = None,
    dataset: Annotated[Path, typer.Option(help="Dataset root in MOT17 layout.")] = Path("data/dataset"),
    results: Annotated[Path, typer.Option(help="Result files folder (written, or scored with --gt).")] = Path("data/results"),
    gt: Annotated[Optional[Path], typer.Option(
        help="Score existing --results against this gt (a dataset root or an images/<split> folder); no model runs."
    )] = None,
    reports: Annotated[Path, typer.Option(help="Where metrics.json and per_sequence.csv go.")] = Path("reports"),
    split: Annotated[Optional[str], typer.Option(help="test | val | train (params: eval.split).")] = None,
    conf_thres: Annotated[Optional[float], typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")] = None,
    amp: Annotated[Optional[str], typer.Option(help="Mixed precision on CUDA: fp16 | bf16 (default off).")] = None,
) -> None:
    """Track the evaluation split and write results, reports/metrics.json and reports/per_sequence.csv."""
    from fairmot.evaluation import evaluate_results_dir, find_eval_sequences, format_table

    params = read_params(params_file, eval__split=split, track__conf_thres=conf_thres)
    if gt is not None:
        report = evaluate_results_dir(results, gt, params.eval.split)
        print(format_table(report.table))
        return
    sequences = find_eval_sequences(dataset, params.eval.split)  # fail on bad gt before any tracking
    _track_and_score(params, sequences, model, results, reports, pick_device(device, params.gpu_ids), amp, arch)


def _track_and_score(params: Params, sequences: list[EvalSequence], model_path: Path, results: Path,
                     reports: Path, device: str, amp: Optional[str], arch: Optional[str] = None) -> None:
    import torch
    from tqdm import tqdm

    from fairmot.data.mot import write_results
    from fairmot.devices import device_name, peak_memory_mb, reset_peak_memory
    from fairmot.evaluation import format_table, load_results, metrics_summary, score_results
    from fairmot.inference import OnlineTracker, iter_images
    from fairmot.io import atomic_dir, atomic_file, write_json

    torch.manual_seed(params.seed)
    runner = OnlineTracker.from_checkpoint(model_path, params.track, arch=arch,
                                           input_size=(params.input_w, params.input_h), device=device, amp=amp,
                                           warmup=params.eval.warmup_frames)
    meter = runner.meter
    reset_peak_memory(device)
    with atomic_dir(results) as tmp:
        for seq in sequences:
            rows = []
            frames = iter_images(seq.frame_paths())
            progress = tqdm(total=seq.num_frames, desc=seq.name, unit="frame", disable=None)
            for _, tracks in runner.run(frames, frame_rate=seq.info.frame_rate):
                # the runner counts frames from 1; result files use the sequence's own numbering
                rows += [(f + seq.first_frame - 1, *rest) for f, *rest in tracks.rows()]
                progress.update()
            progress.close()
            write_results(tmp / f"{seq.name}.txt", rows)
    memory = peak_memory_mb(device)
    report = score_results(sequences, load_results(results, sequences))
    metrics = metrics_summary(report, meter, memory, device_name(device))
    reports.mkdir(parents=True, exist_ok=True)
    with atomic_file(reports / "per_sequence.csv") as handle:
        report.table.to_csv(handle, index=False, float_format="%.6f")
    write_json(reports / "metrics.json", metrics)
    print(format_table(report.table))
    print(f"fps {metrics['fps']:.2f} (model {metrics['fps_model']:.2f}) on {metrics['device']}, "
          f"peak memory {metrics['peak_memory_mb']:.0f} MiB")

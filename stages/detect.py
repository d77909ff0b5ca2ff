"""detect stage: the network pass over the evaluation frames, kept as a per-sequence detection cache.

`fairmot detect` runs the trained model over every frame of the evaluation split and writes
data/detections/<seq>.npz: every candidate above track.det_floor (box, score, embedding), so the
`evaluate` stage tracks from it and a change of track.* never runs the network again.
reports/detect.json holds the pass's device, frames per second and peak memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stages.common import (
    DEFAULT_ONNX,
    AmpOption,
    EngineOption,
    ModelOption,
    OnnxOption,
    apply_threads,
    one_line_errors,
    pick_device,
    read_params,
    reports_policy,
)


@one_line_errors
def detect(
    params_file: Annotated[Path, typer.Option("--params", help="Params file to read; options override it.")] = Path(
        "params.yaml"),
    model: ModelOption = Path("data/model/model.pt"),
    arch: Annotated[str | None, typer.Option(help="Network of --model (default: from the checkpoint or its tensors).")] = None,
    dataset: Annotated[Path, typer.Option(help="Dataset root in MOT17 layout.")] = Path("data/dataset"),
    out: Annotated[Path, typer.Option(help="Detection cache folder (<seq>.npz; replaced when complete).")] = Path(
        "data/detections"),
    reports: Annotated[Path, typer.Option(help="Where detect.json goes.")] = Path("reports"),
    split: Annotated[str | None, typer.Option(help="test | val | train (params: eval.split).")] = None,
    det_floor: Annotated[float | None, typer.Option(help="Keep candidates above this (params: track.det_floor).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")] = None,
    amp: AmpOption = None,
    engine: EngineOption = None,
    onnx: OnnxOption = DEFAULT_ONNX,
    batch: Annotated[int | None, typer.Option(help="Frames per network pass (params: eval.batch).")] = None,
) -> None:
    """Run the network over the evaluation split; write data/detections/<seq>.npz and reports/detect.json."""
    from fairmot.evaluation import find_eval_sequences
    from fairmot.io import check_output_dir, check_output_file, write_json

    check_output_dir(out)  # before the network pass, not after it
    check_output_file(reports / "detect.json", replace=reports_policy(reports), option="--reports")
    params = read_params(params_file, eval__split=split, track__det_floor=det_floor, eval__engine=engine,
                         eval__batch=batch)
    sequences = find_eval_sequences(dataset, params.eval.split)
    summary = detect_split(params, sequences, model, out, pick_device(device, params.gpu_ids), amp, arch, onnx)
    write_json(reports / "detect.json", summary, replace=reports_policy(reports))
    print(f"{summary['frames']} frames, {summary['candidates_per_frame']:.1f} candidates per frame above "
          f"{summary['det_floor']:g}; fps {summary['fps']:.2f} (model {summary['fps_model']:.2f}) on "
          f"{summary['device']}, peak memory {summary['peak_memory_mb']:.0f} MiB")


def detect_split(params, sequences, model_path: Path, out: Path, device: str, amp: str | None,
                 arch: str | None = None, onnx: Path = DEFAULT_ONNX) -> dict:
    """Write out/<seq>.npz for every sequence (atomically, as one folder); the pass's figures."""
    import torch
    from tqdm import tqdm

    from fairmot.devices import device_name, peak_memory_mb, reset_peak_memory
    from fairmot.inference import OnlineTracker, iter_images
    from fairmot.io import OURS, atomic_dir
    from fairmot.tracking.detections import record_sequence, write_detections

    torch.manual_seed(params.seed)
    apply_threads(params.eval.threads)
    runner = OnlineTracker.from_checkpoint(model_path, params.track, arch=arch,
                                           input_size=(params.input_w, params.input_h), device=device, amp=amp,
                                           warmup=params.eval.warmup_frames, engine=params.eval.engine,
                                           onnx_path=onnx, threads=params.eval.threads, batch=params.eval.batch)
    reset_peak_memory(device)
    candidates = 0
    with atomic_dir(out, replace=OURS) as tmp:
        for seq in sequences:
            frames = tqdm(iter_images(seq.frame_paths()), total=seq.num_frames, desc=seq.name, unit="frame",
                          disable=None)
            cache = record_sequence(runner, frames, name=seq.name, frame_rate=seq.info.frame_rate,
                                    first_frame=seq.first_frame)
            candidates += len(cache.scores)
            write_detections(tmp / f"{seq.name}.npz", cache)
    frames = sum(s.num_frames for s in sequences)
    return {
        "engine": params.eval.engine, "batch": params.eval.batch, "device": device_name(device), "frames": frames,
        "fps": round(runner.meter.fps, 3), "fps_model": round(runner.meter.fps_model, 3),
        "peak_memory_mb": round(peak_memory_mb(device), 1), "det_floor": params.track.det_floor,
        "candidates_per_frame": round(candidates / max(frames, 1), 2),
    }

"""detect stage: the network pass over the evaluation frames, kept as a per-sequence detection cache.

`fairmot detect` runs the trained model over every frame of the evaluation split and writes
data/detections/<seq>.npz: every candidate above track.det_floor (box, score, embedding, class), so the
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
    ArchOption,
    DatasetOption,
    DeviceOption,
    EngineOption,
    ModelOption,
    OnnxOption,
    ParamsFile,
    PrecisionOption,
    one_line_errors,
    pick_device,
    read_params,
    reports_policy,
)


@one_line_errors
def detect(
    params_file: ParamsFile = Path("params.yaml"),
    model: ModelOption = Path("data/model/model.pt"),
    arch: ArchOption = None,
    dataset: DatasetOption = Path("data/dataset"),
    out: Annotated[Path, typer.Option(help="Detection cache folder (<seq>.npz; replaced when complete).")] = Path(
        "data/detections"),
    reports: Annotated[Path, typer.Option(help="Where detect.json goes.")] = Path("reports"),
    split: Annotated[str | None, typer.Option(help="test | val | train (params: eval.split).")] = None,
    det_floor: Annotated[float | None, typer.Option(help="Keep candidates above this (params: track.det_floor).")] = None,
    device: DeviceOption = None,
    amp: AmpOption = None,
    engine: EngineOption = None,
    precision: PrecisionOption = None,
    onnx: OnnxOption = DEFAULT_ONNX,
    batch: Annotated[int | None, typer.Option(help="Frames per network pass (params: eval.batch).")] = None,
) -> None:
    """Run the network over the evaluation split; write data/detections/<seq>.npz and reports/detect.json."""
    from fairmot.evaluation import find_eval_sequences
    from fairmot.inference.detect import detect_split
    from fairmot.inference.settings import InferenceSettings
    from fairmot.io import check_output_dir, check_output_file, write_json

    check_output_dir(out)  # before the network pass, not after it
    check_output_file(reports / "detect.json", replace=reports_policy(reports), option="--reports")
    params = read_params(params_file, eval__split=("--split", split), track__det_floor=("--det-floor", det_floor),
                         eval__engine=("--engine", engine),
                         eval__precision=("--precision", precision), eval__batch=("--batch", batch))
    sequences = find_eval_sequences(dataset, params.eval.split)
    settings = InferenceSettings.from_params(params, device=pick_device(device, params.gpu_ids), amp=amp,
                                             onnx_path=onnx, arch=arch)
    summary = detect_split(sequences, model, params.track, settings, out, seed=params.seed)
    write_json(reports / "detect.json", summary, replace=reports_policy(reports))
    print(f"{summary['frames']} frames, {summary['candidates_per_frame']:.1f} candidates per frame above "
          f"{summary['det_floor']:g}; fps {summary['fps']:.2f} (model {summary['fps_model']:.2f}) on "
          f"{summary['device']}, peak memory {summary['peak_memory_mb']:.0f} MiB")

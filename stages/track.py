"""`fairmot track`: the demo. Track a video file or an image folder with a trained checkpoint.

Writes <out>/<name>.txt (MOTChallenge rows) and <out>/<name>.mp4 (boxes, ids, short trails and
the running FPS drawn on every frame). Frames are read until the reader stops, never trusting the
container's frame count. An output that would replace the source is refused, and so (before any
frame is read) is an existing <name>.txt/.mp4 this tool did not write, unless --overwrite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stages.common import (
    DEFAULT_ONNX,
    AmpOption,
    ArchOption,
    DeviceOption,
    EngineOption,
    ModelOption,
    OnnxOption,
    ParamsFile,
    one_line_errors,
    pick_device,
    read_params,
)


@one_line_errors
def track(
    source: Annotated[Path, typer.Argument(help="A video file or a folder of frames (or a MOT sequence folder).")],
    model: ModelOption = Path("data/model/model.pt"),
    arch: ArchOption = None,
    out: Annotated[Path, typer.Option(help="Output folder for <name>.txt and <name>.mp4.")] = Path("outputs"),
    params_file: ParamsFile = Path("params.yaml"),
    conf_thres: Annotated[float | None, typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    method: Annotated[str | None, typer.Option(help="Tracker: jde | bytetrack (params: track.method).")] = None,
    frame_rate: Annotated[float | None, typer.Option(help="Override the source's frame rate (sets the lost-track buffer).")] = None,
    device: DeviceOption = None,
    amp: AmpOption = None,
    video: Annotated[bool, typer.Option(help="Write the annotated mp4.")] = True,
    engine: EngineOption = None,
    onnx: OnnxOption = DEFAULT_ONNX,
    overwrite: Annotated[bool, typer.Option(help="Replace <name>.txt/.mp4 in --out even if this tool did not write them.")] = False,
) -> None:
    """Track SOURCE and write a MOTChallenge result file and an annotated video."""
    import math

    from fairmot.devices import apply_threads
    from fairmot.errors import ConfigError
    from fairmot.inference.outputs import track_to_files
    from fairmot.inference.runner import OnlineTracker
    from fairmot.inference.settings import InferenceSettings
    from fairmot.inference.sources import check_outputs_spare_source, open_source, output_name
    from fairmot.io import OURS, OVERWRITE, check_output_file

    if frame_rate is not None and not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ConfigError(f"command-line option --frame-rate = {frame_rate} must be a finite number > 0 (frames per second)")
    params = read_params(params_file, track__conf_thres=("--conf-thres", conf_thres), track__method=("--method", method),
                         eval__engine=("--engine", engine))
    name = output_name(source)
    result_path, video_path = out / f"{name}.txt", out / f"{name}.mp4"
    frames, source_rate = open_source(source)
    outputs = [result_path, video_path] if video else [result_path]
    check_outputs_spare_source(source, outputs)
    replace = OVERWRITE if overwrite else OURS
    for path in outputs:
        check_output_file(path, replace=replace)
    rate = frame_rate or source_rate
    dev = pick_device(device, params.gpu_ids)
    apply_threads(params.eval.threads)
    # online: one frame at a time, whatever eval.batch says for the offline detect pass
    settings = InferenceSettings.from_params(params, device=dev, amp=amp, onnx_path=onnx, arch=arch, batch=1)
    runner = OnlineTracker.from_checkpoint(model, params.track, settings)
    rows = track_to_files(runner, frames, rate, result_path, video_path if video else None, name=str(source),
                          replace=replace)
    print(f"{runner.frame} frames, {len({r[1] for r in rows})} identities, {runner.meter.fps:.2f} fps on {dev}: "
          f"{result_path}" + (f", {video_path}" if video else ""))

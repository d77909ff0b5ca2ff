"""`fairmot track`: the demo. Track a video file, an image folder or glob, a stream URL or a camera
with a trained checkpoint.

Writes <out>/<name>.txt (MOTChallenge rows) and <out>/<name>.mp4 (boxes, ids, short trails and
the running FPS drawn on every frame). Frames are numbered by where they are (a video's timestamps,
a folder's natural order); unreadable ones are skipped, counted in the summary and named in a
warning. An output that would replace the source is refused, and so (before any
frame is read) is an existing <name>.txt/.mp4 this tool did not write, unless --overwrite. A stream
that stops is re-opened for --reconnect-s; --live drops stale frames to keep up with it.
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
    PrecisionOption,
    one_line_errors,
    pick_device,
    read_params,
)


@one_line_errors
def track(
    source: Annotated[str, typer.Argument(help="A video, an image folder, a quoted glob, a camera index (0) or a stream URL.")],
    model: ModelOption = Path("data/model/model.pt"),
    arch: ArchOption = None,
    out: Annotated[Path, typer.Option(help="Output folder for <name>.txt and <name>.mp4.")] = Path("outputs"),
    params_file: ParamsFile = Path("params.yaml"),
    conf_thres: Annotated[float | None, typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    method: Annotated[str | None, typer.Option(help="Tracker: jde | bytetrack | botsort (params: track.method).")] = None,
    cmc: Annotated[str | None, typer.Option(help="Camera motion: none | sparse | ecc | orb (params: track.cmc).")] = None,
    frame_rate: Annotated[float | None, typer.Option(help="Override the source's frame rate (sets the lost-track buffer).")] = None,
    device: DeviceOption = None,
    amp: AmpOption = None,
    video: Annotated[bool, typer.Option(help="Write the annotated mp4.")] = True,
    engine: EngineOption = None,
    precision: PrecisionOption = None,
    onnx: OnnxOption = DEFAULT_ONNX,
    overwrite: Annotated[bool, typer.Option(help="Replace <name>.txt/.mp4 in --out even if this tool did not write them.")] = False,
    live: Annotated[bool, typer.Option(help="Streams and cameras: drop stale frames when tracking is slower than the source.")] = False,
    reconnect_s: Annotated[float, typer.Option(help="Streams: seconds to keep re-opening one that stops or fails to open.")] = 10.0,
    stream_option: Annotated[list[str] | None, typer.Option(help="Streams: FFmpeg option KEY=VALUE (rtsp_transport=tcp).")] = None,
) -> None:
    """Track SOURCE and write a MOTChallenge result file and an annotated video."""
    import sys

    from fairmot.devices import apply_threads
    from fairmot.inference.outputs import track_to_files
    from fairmot.inference.runner import OnlineTracker
    from fairmot.inference.settings import InferenceSettings
    from fairmot.inference.sources import check_outputs_spare_source, output_name
    from fairmot.io import OURS, OVERWRITE, check_output_file

    params = read_params(params_file, track__conf_thres=("--conf-thres", conf_thres), track__method=("--method", method),
                         track__cmc=("--cmc", cmc), eval__engine=("--engine", engine), eval__precision=("--precision", precision))
    name = output_name(source)
    result_path, video_path = out / f"{name}.txt", out / f"{name}.mp4"
    frames = _open(source, frame_rate, live, reconnect_s, stream_option)
    outputs = [result_path, video_path] if video else [result_path]
    check_outputs_spare_source(source, outputs)
    replace = OVERWRITE if overwrite else OURS
    for path in outputs:
        check_output_file(path, replace=replace)
    rate = frame_rate or frames.frame_rate
    dev = pick_device(device, params.gpu_ids)
    apply_threads(params.eval.threads)
    # online: one frame at a time, whatever eval.batch says for the offline detect pass
    settings = InferenceSettings.from_params(params, device=dev, amp=amp, onnx_path=onnx, arch=arch, batch=1)
    runner = OnlineTracker.from_checkpoint(model, params.track, settings)
    done = track_to_files(runner, frames, rate, result_path, video_path if video else None, name=str(source),
                          replace=replace)
    warnings = [frames.warning()]
    if done.resized:
        warnings.append(f"{video_path}: {done.resized} frames of another size than the first were resized to it in the "
                        f"video (result rows keep each frame's own pixels)")
    for line in filter(None, warnings):
        print(f"warning: {line}", file=sys.stderr)
    unreadable = f" ({len(frames.unreadable)} unreadable)" if frames.unreadable else ""
    written = f", {video_path} ({done.video_frames} frames)" if video else ""
    print(f"{done.frames} frames{unreadable}, {len({r[1] for r in done.rows})} identities, {runner.meter.fps:.2f} fps "
          f"on {dev}: {result_path}{written}")


def _open(source: str, frame_rate: float | None, live: bool, reconnect_s: float, stream_option: list[str] | None):
    """SOURCE's frames, a stream's opened now (a wrong address fails before a model is loaded)."""
    import math

    from fairmot.errors import ConfigError
    from fairmot.inference.sources import open_source
    from fairmot.inference.streams import parse_options

    if frame_rate is not None and not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ConfigError(f"command-line option --frame-rate = {frame_rate} must be a finite number > 0 (frames per second)")
    return open_source(source, live=live, reconnect_s=reconnect_s, options=parse_options(stream_option))

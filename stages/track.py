"""`fairmot track`: the demo. Track a video file, an image folder or glob, a stream URL or a camera
with a trained checkpoint.

Writes <out>/<name>.txt (MOTChallenge rows) and <out>/<name>.mp4 (boxes, ids, short trails and
the running FPS drawn on every frame), both as it goes: each frame's rows are appended to
<name>.txt.partial at once (a killed run keeps every finished frame's rows there) and the file
takes its final name when the source ends or the run is stopped (Ctrl-C / SIGTERM: the current
frame finishes, every file is closed valid, the summary is printed, exit code 0). --jsonl feeds
each frame's tracks to standard output or a TCP consumer, --show to a window, --stats-json the
summary (fps, latency p50/p95 from capture to result, dropped and unreadable frames) to a file.
Frames are numbered by where they are (a video's timestamps, a folder's natural order);
unreadable ones are skipped, counted in the summary and named in a warning. An output that would
replace the source is refused, and so (before any frame is read) is an existing output this tool
did not write, unless --overwrite. A stream that stops is re-opened for --reconnect-s; --live
drops stale frames to keep up with it.
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
    show: Annotated[bool, typer.Option(help="Show the tracks in a window (q stops); skipped with a warning without a display.")] = False,
    jsonl: Annotated[str | None, typer.Option(help="One JSON line per frame to - (stdout; the summary goes to stderr) "
                                              "or tcp://HOST:PORT (a consumer listening there).")] = None,
    stats_json: Annotated[Path | None, typer.Option(help="Write fps, latency p50/p95, dropped and unreadable frames here.")] = None,
) -> None:
    """Track SOURCE and write a MOTChallenge result file and an annotated video."""
    from fairmot.devices import apply_threads
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
    for path in outputs + ([stats_json] if stats_json else []):
        check_output_file(path, replace=replace, option="--stats-json" if path == stats_json else "--out")
    rate = frame_rate or frames.frame_rate
    dev = pick_device(device, params.gpu_ids)
    apply_threads(params.eval.threads)
    # online: one frame at a time, whatever eval.batch says for the offline detect pass
    settings = InferenceSettings.from_params(params, device=dev, amp=amp, onnx_path=onnx, arch=arch, batch=1)
    runner = OnlineTracker.from_checkpoint(model, params.track, settings, params.classes)
    done, warnings = _track_live(runner, frames, rate, result_path, video_path if video else None, name=str(source),
                                 replace=replace, show=show, jsonl=jsonl)
    _report(done, frames, warnings, runner, dev, result_path, video_path if video else None, stats_json=stats_json,
            replace=replace, to_stderr=jsonl == "-")


def _track_live(runner, frames, rate, result_path, video_path, *, name, replace, show, jsonl):
    """Track with the sinks asked for, stopping cleanly on SIGINT/SIGTERM: (what was done, warnings)."""
    from contextlib import ExitStack, closing

    from fairmot.inference.live import JsonLines, StopRequest, Window
    from fairmot.inference.outputs import track_to_files

    warnings, sinks = [], []
    with StopRequest() as stop, ExitStack() as stack:
        stack.callback(frames.close)
        stop.on_stop.append(frames.close)  # a source waiting for its next frame gives up at once
        if jsonl is not None:
            sinks.append(stack.enter_context(closing(JsonLines(jsonl))))
        if show:
            window, warning = Window.open(stop)
            warnings.append(warning)
            sinks += [stack.enter_context(closing(window))] if window is not None else []
        done = track_to_files(runner, frames, rate, result_path, video_path, name=name, replace=replace, sinks=sinks,
                              stop=stop)
    return done, warnings + [getattr(sink, "warning", None) for sink in sinks]


def _report(done, frames, warnings, runner, dev, result_path, video_path, *, stats_json, replace, to_stderr) -> None:
    """Warnings, the summary line (stderr when the JSON lines own stdout) and the --stats-json file."""
    import sys

    from fairmot.io import write_json

    warnings = [frames.warning(), *warnings]
    if done.resized:
        warnings.append(f"{video_path}: {done.resized} frames of another size than the first were resized to it in the "
                        f"video (result rows keep each frame's own pixels)")
    for line in filter(None, warnings):
        print(f"warning: {line}", file=sys.stderr)
    p50, p95 = done.latency.percentile_ms(50), done.latency.percentile_ms(95)
    unreadable = f" ({len(frames.unreadable)} unreadable)" if frames.unreadable else ""
    written = f", {video_path} ({done.video_frames} frames)" if video_path else ""
    stopped = f", stopped by {done.stopped_by}" if done.stopped_by else ""
    print(f"{done.frames} frames{unreadable}, {len(done.identities)} identities, {runner.meter.fps:.2f} fps on {dev}, "
          f"latency p50 {p50:.1f} ms p95 {p95:.1f} ms, {frames.dropped} dropped{stopped}: {result_path}{written}",
          file=sys.stderr if to_stderr else sys.stdout)
    if stats_json is not None:
        write_json(stats_json, {
            "frames": done.frames, "fps": round(runner.meter.fps, 3), "fps_model": round(runner.meter.fps_model, 3),
            "latency_ms_p50": round(p50, 3), "latency_ms_p95": round(p95, 3), "dropped": frames.dropped,
            "unreadable": len(frames.unreadable), "identities": len(done.identities), "stopped_by": done.stopped_by,
            "device": dev, "result": str(result_path), "video": str(video_path) if video_path else None,
            "video_frames": done.video_frames,
        }, replace=replace)


def _open(source: str, frame_rate: float | None, live: bool, reconnect_s: float, stream_option: list[str] | None):
    """SOURCE's frames, a stream's opened now (a wrong address fails before a model is loaded)."""
    import math

    from fairmot.errors import ConfigError
    from fairmot.inference.sources import open_source
    from fairmot.inference.streams import parse_options

    if frame_rate is not None and not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ConfigError(f"command-line option --frame-rate = {frame_rate} must be a finite number > 0 (frames per second)")
    return open_source(source, live=live, reconnect_s=reconnect_s, options=parse_options(stream_option))

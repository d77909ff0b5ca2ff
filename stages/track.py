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
    EngineOption,
    ModelOption,
    OnnxOption,
    ParamsFile,
    apply_threads,
    one_line_errors,
    pick_device,
    read_params,
)


@one_line_errors
def track(
    source: Annotated[Path, typer.Argument(help="A video file or a folder of frames (or a MOT sequence folder).")],
    model: ModelOption = Path("data/model/model.pt"),
    arch: Annotated[str | None, typer.Option(help="Network of --model (default: from the checkpoint or its tensors).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder for <name>.txt and <name>.mp4.")] = Path("outputs"),
    params_file: ParamsFile = Path("params.yaml"),
    conf_thres: Annotated[float | None, typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    method: Annotated[str | None, typer.Option(help="Tracker: jde | bytetrack (params: track.method).")] = None,
    frame_rate: Annotated[float | None, typer.Option(help="Override the source's frame rate (sets the lost-track buffer).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")] = None,
    amp: AmpOption = None,
    video: Annotated[bool, typer.Option(help="Write the annotated mp4.")] = True,
    engine: EngineOption = None,
    onnx: OnnxOption = DEFAULT_ONNX,
    overwrite: Annotated[bool, typer.Option(help="Replace <name>.txt/.mp4 in --out even if this tool did not write them.")] = False,
) -> None:
    """Track SOURCE and write a MOTChallenge result file and an annotated video."""
    from contextlib import nullcontext

    from tqdm import tqdm

    from fairmot.data.mot import write_results
    from fairmot.errors import DataError
    from fairmot.inference import (
        OnlineTracker,
        check_outputs_spare_source,
        open_source,
        output_name,
    )
    from fairmot.io import OURS, OVERWRITE, check_output_file
    from fairmot.video import AnnotatedVideo

    params = read_params(params_file, track__conf_thres=conf_thres, track__method=method, eval__engine=engine)
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
    runner = OnlineTracker.from_checkpoint(model, params.track, arch=arch,
                                           input_size=(params.input_w, params.input_h), device=dev, amp=amp,
                                           warmup=params.eval.warmup_frames, engine=params.eval.engine,
                                           onnx_path=onnx, threads=params.eval.threads)
    rows: list = []
    with AnnotatedVideo(video_path, rate, replace=replace) if video else nullcontext() as writer, \
            tqdm(desc=name, unit="frame", disable=None) as progress:
        for img, tracks in runner.run(frames, frame_rate=rate):
            rows += tracks.rows()
            progress.update()
            if writer is not None:
                caption = f"frame {tracks.frame}  {runner.meter.fps:.1f} fps  {len(tracks.ids)} tracks"
                writer.write(img, tracks.tlwhs, tracks.ids, caption=caption)
        if runner.frame == 0:
            raise DataError(f"{source}: no frame could be read")
    write_results(result_path, rows, replace=replace)
    print(f"{runner.frame} frames, {len({r[1] for r in rows})} identities, {runner.meter.fps:.2f} fps on {dev}: "
          f"{result_path}" + (f", {video_path}" if video else ""))

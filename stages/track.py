"""`fairmot track`: the demo. Track a video file or an image folder with a trained checkpoint.

Writes <out>/<name>.txt (MOTChallenge rows) and <out>/<name>.mp4 (boxes, ids, short trails and
the running FPS drawn on every frame). Frames are read until the reader stops, never trusting the
container's frame count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stages.app import ParamsFile, pick_device, read_params, stage_command

TRAIL_LENGTH = 20  # frames of centre history drawn behind each box


def output_name(source: Path) -> str:
    """A video's stem, or the sequence name for `<seq>/img1` folders."""
    source = Path(source)
    if source.is_dir() and source.name == "img1":
        return source.parent.name
    return source.stem if source.is_file() else source.name


@stage_command
def track(
    source: Annotated[Path, typer.Argument(help="A video file or a folder of frames (or a MOT sequence folder).")],
    model: Annotated[Path, typer.Option(help="Checkpoint: written by `fairmot train`, or a released FairMOT .pth (runs at params input_w x input_h).")] = Path("data/model/model.pt"),
    arch: Annotated[Optional[str], typer.Option(help="Network of --model; default: read from the checkpoint or recognised from its tensors.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder for <name>.txt and <name>.mp4.")] = Path("outputs"),
    params_file: ParamsFile = Path("params.yaml"),
    conf_thres: Annotated[Optional[float], typer.Option(help="Detection threshold (params: track.conf_thres).")] = None,
    frame_rate: Annotated[Optional[float], typer.Option(help="Override the source's frame rate (sets the lost-track buffer).")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")] = None,
    amp: Annotated[Optional[str], typer.Option(help="Mixed precision on CUDA: fp16 | bf16 (default off).")] = None,
    video: Annotated[bool, typer.Option(help="Write the annotated mp4.")] = True,
) -> None:
    """Track SOURCE and write a MOTChallenge result file and an annotated video."""
    import os
    from collections import deque

    import cv2
    from tqdm import tqdm

    from fairmot.data.mot import write_results
    from fairmot.errors import DataError
    from fairmot.inference import OnlineTracker, open_source
    from fairmot.visualize import draw_tracks

    params = read_params(params_file, track__conf_thres=conf_thres)
    frames, source_rate = open_source(source)
    rate = frame_rate or source_rate
    dev = pick_device(device, params.gpu_ids)
    runner = OnlineTracker.from_checkpoint(model, params.track, arch=arch,
                                           input_size=(params.input_w, params.input_h), device=dev, amp=amp,
                                           warmup=params.eval.warmup_frames)
    meter = runner.meter

    name = output_name(source)
    out.mkdir(parents=True, exist_ok=True)
    video_path, video_tmp = out / f"{name}.mp4", out / f".{name}.part.mp4"
    writer = None
    rows: list = []
    trails: dict[int, deque] = {}
    progress = tqdm(desc=name, unit="frame", disable=None)
    try:
        for img, tracks in runner.run(frames, frame_rate=rate):
            rows += tracks.rows()
            progress.update()
            if not video:
                continue
            if writer is None:
                writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), rate,
                                         (img.shape[1], img.shape[0]))
                if not writer.isOpened():
                    raise DataError(f"{video_tmp}: OpenCV cannot write an mp4v video here; pass --no-video")
            for (x, y, w, h), tid in zip(tracks.tlwhs, tracks.ids):
                trails.setdefault(int(tid), deque(maxlen=TRAIL_LENGTH)).append((x + w / 2, y + h))
            visible = {int(t) for t in tracks.ids}
            trails = {tid: pts for tid, pts in trails.items() if tid in visible}
            caption = f"frame {tracks.frame}  {meter.fps:.1f} fps  {len(tracks.ids)} tracks"
            writer.write(draw_tracks(img, tracks.tlwhs, tracks.ids, trails=trails, caption=caption))
    except BaseException:
        if writer is not None:
            writer.release()
        video_tmp.unlink(missing_ok=True)
        raise
    finally:
        progress.close()
    if runner.frame == 0:
        raise DataError(f"{source}: no frame could be read")
    write_results(out / f"{name}.txt", rows)
    if writer is not None:
        writer.release()
        os.replace(video_tmp, video_path)
    print(f"{runner.frame} frames, {len({r[1] for r in rows})} identities, {meter.fps:.2f} fps on {dev}: "
          f"{out / (name + '.txt')}" + (f", {video_path}" if video else ""))

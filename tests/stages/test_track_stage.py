"""`fairmot track` never writes over its input and reads only videos and image folders."""

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from stages.app import app
from tests.inference.clips import count_frames, write_clip


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_track_refuses_an_annotated_video_that_would_replace_the_source(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    write_clip(source)
    before = source.read_bytes()
    done = invoke("track", source, "--out", tmp_path, "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 1
    assert f"{tmp_path / 'clip.mp4'}: writing it would overwrite the source {source}" in done.output
    assert source.read_bytes() == before and not (tmp_path / "clip.txt").exists()


def test_track_into_the_source_folder_without_video_is_allowed(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    write_clip(source)
    before = source.read_bytes()
    done = invoke("track", source, "--out", tmp_path, "--no-video", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 0, done.output
    assert source.read_bytes() == before and (tmp_path / "clip.txt").exists()


@pytest.mark.parametrize("name", ["README.md", "clip.txt", "notes"])
def test_track_refuses_a_file_that_is_not_a_video(name, checkpoint, params_file, tmp_path):
    source = tmp_path / name
    source.write_text("# not a video\n" * 60)
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 1
    assert done.output.strip().startswith(f"error: {source}: not a video file (.mp4 .avi")
    assert not (tmp_path / "out").exists()


def test_an_upper_case_video_extension_is_a_video(checkpoint, params_file, tmp_path):
    source = tmp_path / "CLIP.MP4"
    write_clip(source, frames=3)
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 0, done.output
    assert "3 frames" in done.output


def _frames_of(result_file):
    return [int(line.split(",")[0]) for line in result_file.read_text().splitlines()]


def test_a_folder_of_numbered_frames_is_tracked_in_numeric_order(checkpoint, tmp_path):
    """1.jpg ... 12.jpg, not 1, 10, 11, 12, 2, ...: the annotated video shows them in that order (no
    detections at this threshold, so each video frame is its image's gray level and a caption)."""
    source = tmp_path / "shots"
    source.mkdir()
    for n in range(1, 13):
        cv2.imwrite(str(source / f"{n}.jpg"), np.full((96, 160, 3), 20 + 17 * n, np.uint8))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"gpus": -1, "eval": {"warmup_frames": 1}, "track": {"conf_thres": 0.99}}))
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("12 frames, 0 identities, ")
    cap = cv2.VideoCapture(str(tmp_path / "out" / "shots.mp4"))
    shown = []
    while (read := cap.read())[0]:
        shown.append(round((float(np.median(read[1])) - 20) / 17))
    assert shown == list(range(1, 13))


def test_rows_after_a_damaged_stretch_keep_their_frame_numbers(checkpoint, params_file, tmp_path):
    from tests.inference.clips import damage_avi, write_avi

    source = damage_avi(write_avi(tmp_path / "clean.avi", frames=10), tmp_path / "clip.avi", range(4, 7))
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 0, done.output
    assert f"warning: {source}: 3 frames could not be read and have no result rows (frame 4-6)\n" in done.output
    assert "7 frames (3 unreadable), " in done.output
    assert f"{tmp_path / 'out' / 'clip.mp4'} (7 frames)" in done.output
    assert set(_frames_of(tmp_path / "out" / "clip.txt")) == {1, 2, 3, 7, 8, 9, 10}
    assert count_frames(tmp_path / "out" / "clip.mp4") == 7


def test_frames_changing_size_are_all_in_the_video(checkpoint, params_file, tmp_path):
    source = tmp_path / "shots"
    source.mkdir()
    for n in range(1, 5):
        size = (96, 160) if n <= 2 else (120, 200)
        cv2.imwrite(str(source / f"f{n}.png"), np.full((*size, 3), 40 * n, np.uint8))
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 0, done.output
    assert "4 frames, " in done.output and f"{tmp_path / 'out' / 'shots.mp4'} (4 frames)" in done.output
    assert f"warning: {tmp_path / 'out' / 'shots.mp4'}: 2 frames of another size than the first" in done.output
    assert count_frames(tmp_path / "out" / "shots.mp4") == 4


def test_track_compensates_camera_motion_online_when_asked(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    write_clip(source)
    rows = {}
    for cmc in ("none", "sparse"):
        done = invoke("track", source, "--out", tmp_path / cmc, "--model", checkpoint, "--params", params_file,
                      "--cmc", cmc, "--no-video")
        assert done.exit_code == 0, done.output
        rows[cmc] = (tmp_path / cmc / "clip.txt").read_text()
    assert rows["none"] and rows["sparse"]
    done = invoke("track", source, "--out", tmp_path / "x", "--model", checkpoint, "--params", params_file,
                  "--cmc", "sift", "--no-video")
    assert done.exit_code == 1 and "'sift' must be one of 'none', 'sparse', 'ecc', 'orb'" in done.output

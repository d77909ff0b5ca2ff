"""`fairmot track` never writes over its input and reads only videos and image folders."""

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from stages.app import app


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _write_clip(path, frames=4):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 96))
    for f in range(frames):
        img = np.full((96, 160, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + 4 * f, 20), (26 + 4 * f, 60), (0, 0, 220), -1)
        writer.write(img)
    writer.release()


def test_track_refuses_an_annotated_video_that_would_replace_the_source(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    _write_clip(source)
    before = source.read_bytes()
    done = invoke("track", source, "--out", tmp_path, "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 1
    assert f"{tmp_path / 'clip.mp4'}: writing it would overwrite the source {source}" in done.output
    assert source.read_bytes() == before and not (tmp_path / "clip.txt").exists()


def test_track_into_the_source_folder_without_video_is_allowed(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    _write_clip(source)
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
    _write_clip(source, frames=3)
    done = invoke("track", source, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 0, done.output
    assert "3 frames" in done.output

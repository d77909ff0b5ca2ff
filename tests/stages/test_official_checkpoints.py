"""`fairmot track` and `fairmot evaluate` on checkpoints in the released FairMOT format.

The files are written the way ifzhang/FairMOT's save_model writes them ({'epoch', 'state_dict'},
keys prefixed 'module.'), from our own networks (the key names are the reference's).
"""

import cv2
import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

import stages.evaluate
import stages.track  # noqa: F401
from fairmot.models import create_model, resolve_head_conv
from stages.app import app

INPUT_W, INPUT_H = 160, 96


def _firing(arch):
    """A random network whose heatmap fires on many maxima, with 24x64 px boxes."""
    torch.manual_seed(0)
    model = create_model(arch)
    with torch.no_grad():
        model.hm[-1].bias.fill_(1.0)
        model.wh[-1].weight.zero_()
        model.wh[-1].bias.copy_(torch.tensor([3.0, 8.0, 3.0, 8.0]))
    return model


def _save_reference(model, path):
    torch.save({"epoch": 30, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, path)
    return path


def _save_ours(model, arch, path):
    torch.save({"model": model.state_dict(), "arch": arch, "reid_dim": 128, "head_conv": resolve_head_conv(arch),
                "input_w": INPUT_W, "input_h": INPUT_H, "epoch": 1, "nID": 5}, path)
    return path


@pytest.fixture(scope="module")
def dla34_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dla34")
    model = _firing("dla34")
    return _save_reference(model, folder / "fairmot_dla34.pth"), _save_ours(model, "dla34", folder / "model.pt")


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"gpus": -1, "input_w": INPUT_W, "input_h": INPUT_H,
                                    "eval": {"split": "test", "warmup_frames": 1}, "track": {"conf_thres": 0.3}}))
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _frames(count, width=200, height=120):
    """A red and a blue 'person' walking over grey, at a size the letterbox has to pad."""
    images = []
    for f in range(count):
        img = np.full((height, width, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + 5 * f, 20), (30 + 5 * f, 80), (0, 0, 220), -1)
        cv2.rectangle(img, (150 - 4 * f, 30), (168 - 4 * f, 90), (220, 0, 0), -1)
        images.append(img)
    return images


def test_track_runs_a_released_dla34_checkpoint_on_frames_like_our_own(dla34_files, params_file, tmp_path):
    official, ours = dla34_files
    folder = tmp_path / "walk"
    folder.mkdir()
    for i, img in enumerate(_frames(3), start=1):
        cv2.imwrite(str(folder / f"{i:06d}.png"), img)
    runs = {}
    for name, path in (("official", official), ("ours", ours)):
        done = invoke("track", folder, "--model", path, "--out", tmp_path / name, "--params", params_file,
                      "--device", "cpu", "--no-video")
        assert done.exit_code == 0, done.output
        runs[name] = (tmp_path / name / "walk.txt").read_text()
    assert runs["official"] == runs["ours"] and len(runs["ours"].splitlines()) > 0


def test_track_runs_a_released_dla34_checkpoint_on_a_video(dla34_files, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (200, 120))
    for img in _frames(3):
        writer.write(img)
    writer.release()
    done = invoke("track", source, "--model", dla34_files[0], "--arch", "dla34", "--out", tmp_path / "out",
                  "--params", params_file, "--device", "cpu")
    assert done.exit_code == 0, done.output
    assert "3 frames" in done.output
    assert (tmp_path / "out" / "clip.mp4").stat().st_size > 0


def test_track_names_the_tensor_a_released_checkpoint_lacks(dla34_files, params_file, tmp_path):
    state = torch.load(dla34_files[0], weights_only=True)
    del state["state_dict"]["module.hm.2.bias"]
    torch.save(state, tmp_path / "broken.pth")
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "000001.png"), _frames(1)[0])
    done = invoke("track", tmp_path / "frames", "--model", tmp_path / "broken.pth", "--params", params_file, "--device", "cpu")
    assert done.exit_code == 1
    assert "1 missing: hm.2.bias" in done.output and len(done.output.strip().splitlines()) == 1


def test_evaluate_scores_a_released_checkpoint_like_our_own(tiny_dataset, params_file, tmp_path):
    model = _firing("dla_tiny")
    official = _save_reference(model, tmp_path / "official.pth")
    ours = _save_ours(model, "dla_tiny", tmp_path / "model.pt")
    for name, path in (("official", official), ("ours", ours)):
        where = ("--dataset", tiny_dataset, "--reports", tmp_path / name / "reports", "--params", params_file)
        done = invoke("detect", "--model", path, "--out", tmp_path / name / "detections", "--device", "cpu", *where)
        assert done.exit_code == 0, done.output
        done = invoke("evaluate", "--detections", tmp_path / name / "detections",
                      "--results", tmp_path / name / "results", *where)
        assert done.exit_code == 0, done.output
    a = sorted(p.name for p in (tmp_path / "ours" / "results").iterdir())
    assert a and a == sorted(p.name for p in (tmp_path / "official" / "results").iterdir())
    for seq in a:
        assert (tmp_path / "official" / "results" / seq).read_text() == (tmp_path / "ours" / "results" / seq).read_text()

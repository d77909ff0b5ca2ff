"""Fixtures of the stage tests: a tiny random-weight checkpoint and a CPU params file."""

import pytest
import torch
import yaml

from fairmot.models import create_model, resolve_head_conv
from fairmot.models.losses import FairMOTLoss

INPUT_W, INPUT_H = 160, 96


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """A dla_tiny checkpoint with random weights, in the format `fairmot train` writes.

    The heatmap bias is raised and the box head fixed to 24x64 px boxes so that the random network
    fires on many local maxima and the tracker and writers have tracks to handle.
    """
    torch.manual_seed(0)
    model = create_model("dla_tiny")
    with torch.no_grad():
        model.hm[-1].bias.fill_(1.0)
        model.wh[-1].weight.zero_()
        model.wh[-1].bias.copy_(torch.tensor([3.0, 8.0, 3.0, 8.0]))
    path = tmp_path_factory.mktemp("model") / "model.pt"
    torch.save({
        "model": model.state_dict(), "loss": FairMOTLoss(nID=5).state_dict(), "optimizer": {}, "scaler": None,
        "epoch": 1, "rng": {}, "arch": "dla_tiny", "reid_dim": 128, "head_conv": resolve_head_conv("dla_tiny"),
        "input_w": INPUT_W, "input_h": INPUT_H, "nID": 5, "params": {},
    }, path)
    return path


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"gpus": -1, "eval": {"split": "test", "warmup_frames": 1},
                                    "track": {"conf_thres": 0.3}}))
    return path

"""Training with two classes: the checkpoint records classes and class_nID, the network has a heatmap per
class and the loss a classifier per class, and an interrupted run resumes to the straight run's weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fairmot.config import Params
from fairmot.errors import ConfigError
from fairmot.training import TrainConfig, build_parts, load_checkpoint
from fairmot.training.checkpoint import check_resumable
from tests.data.test_dataset import write_dataset
from tests.training.test_train_resume import assert_same_state, train

W, H = 96, 64


@pytest.fixture(scope="module")
def two_class_data(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Four frames of two pedestrians (class 0, gids 1-2) and one car (class 1, gid 1-3 over the frames)."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(4):
        image = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        image[20:50, 10 + i:20 + i] = 200
        image[25:55, 40:48] = 160
        image[30:45, 60 - i:90 - i] = 230
        labels = [f"0 1 {(15 + i) / W:.5f} {35 / H:.5f} {10 / W:.5f} {30 / H:.5f}",
                  f"0 2 {44 / W:.5f} {40 / H:.5f} {8 / W:.5f} {30 / H:.5f}",
                  f"1 {1 + i % 3} {(75 - i) / W:.5f} {37.5 / H:.5f} {30 / W:.5f} {15 / H:.5f}"]
        frames.append((image, labels))
    return write_dataset(tmp_path_factory.mktemp("two_classes"), frames)


def _config(data, out: Path, resume: bool = False, **overrides) -> TrainConfig:
    dataset, labels, split = data
    settings = dict(classes=["pedestrian", "car"], arch="dla_tiny", input_w=W, input_h=H, batch_size=2,
                    num_epochs=2, num_iters=2, num_workers=0, lr=5e-4, lr_step=[1], seed=317, augment=True)
    settings.update(overrides)
    return TrainConfig(Params(**settings), dataset_root=dataset, labels_root=labels, split_file=split,
                       out_dir=out, resume=resume, build=build_parts)


def test_build_parts_makes_a_heatmap_and_a_classifier_per_class(two_class_data, tmp_path):
    parts = build_parts(_config(two_class_data, tmp_path))
    assert parts.model.num_classes == 2 and parts.model.hm[2].out_channels == 2
    assert [c.out_features for c in parts.loss.classifiers] == [3, 4]
    assert (parts.meta["classes"], parts.meta["class_nID"], parts.meta["nID"]) == (["pedestrian", "car"], [3, 4], 7)
    assert parts.dataset[0]["hm"].shape == (2, H // 4, W // 4)


def test_a_two_class_run_resumes_to_the_straight_runs_weights(two_class_data, tmp_path):
    train(_config(two_class_data, tmp_path / "a"))
    train(_config(two_class_data, tmp_path / "b", num_epochs=1))
    train(_config(two_class_data, tmp_path / "b", resume=True))
    a, b = load_checkpoint(tmp_path / "a" / "model.pt"), load_checkpoint(tmp_path / "b" / "model.pt")
    assert_same_state(a, b)
    assert (a["classes"], a["class_nID"], a["nID"]) == (["pedestrian", "car"], [3, 4], 7)
    assert {k: tuple(v.shape) for k, v in a["loss"].items() if k.startswith("classifiers")} == {
        "classifiers.0.weight": (3, 128), "classifiers.0.bias": (3,),
        "classifiers.1.weight": (4, 128), "classifiers.1.bias": (4,)}
    from fairmot.models import build_from_checkpoint

    model, meta = build_from_checkpoint(tmp_path / "a" / "model.pt")
    assert model.num_classes == meta["num_classes"] == 2


def test_resuming_with_other_classes_is_refused(tmp_path):
    one_class = {"arch": "dla_tiny", "reid_dim": 128, "head_conv": 64, "nID": 7}  # recorded before classes
    meta = {**one_class, "classes": ["pedestrian"], "class_nID": [7]}
    check_resumable(one_class, meta, tmp_path / "m.pt")  # an old single-class checkpoint still resumes
    with pytest.raises(ConfigError, match=r"m\.pt: was trained with class_nID=\[7\], this run has class_nID=\[3, 4\]"):
        check_resumable(one_class, {**meta, "classes": ["pedestrian", "car"], "class_nID": [3, 4]}, tmp_path / "m.pt")
    with pytest.raises(ConfigError, match=r"classes=\['pedestrian'\], this run has classes=\['pedestrian', 'car'\]"):
        check_resumable({**meta}, {**meta, "classes": ["pedestrian", "car"]}, tmp_path / "m.pt")

"""Training targets with several classes: each object's gaussian on its class's heatmap channel, its class
in "cls", identities counted per class; one class keeps every target as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fairmot.data.dataset import JointDataset
from fairmot.errors import DataError
from tests.data.test_dataset import HAND_LABELS, H, W, write_dataset

# HAND_LABELS' boxes A, B, C (empty), D with classes 1, 0, 1, 0 and per-class gids
TWO_CLASS_LABELS = [
    "1 3 " + HAND_LABELS[0].split(" ", 2)[2],
    "0 8 " + HAND_LABELS[1].split(" ", 2)[2],
    "1 2 " + HAND_LABELS[2].split(" ", 2)[2],
    "0 10 " + HAND_LABELS[3].split(" ", 2)[2],
]


def _sample(tmp_path, labels, num_classes, augment=False, name="a"):
    image = np.full((H, W, 3), 90, np.uint8)
    ds = JointDataset(*write_dataset(tmp_path / name, [(image, labels)]), width=W, height=H, augment=augment,
                      num_classes=num_classes)
    return ds, ds[0]


def test_objects_go_on_their_class_channel_with_their_class_and_per_class_ids(tmp_path):
    ds, s = _sample(tmp_path, TWO_CLASS_LABELS, 2)
    assert s["hm"].shape == (2, H // 4, W // 4)
    hm = s["hm"].numpy()
    assert hm[1, 24, 40] == 1.0 and hm[0, 24, 40] == 0.0  # A: class 1
    assert hm[0, 12, 0] == 1.0 and hm[0, 36, 60] == 1.0 and hm[1, 12, 0] == hm[1, 36, 60] == 0.0  # B, D: class 0
    assert (hm == 1.0).sum() == 3
    assert s["cls"].dtype == torch.int64 and s["cls"].shape == (500,)
    assert s["cls"][:5].tolist() == [1, 0, 0, 0, 0]  # C's slot is empty: class 0 like the padding
    assert s["ids"][:5].tolist() == [3, 8, -1, 10, -1]
    assert (ds.class_nID, ds.nID) == ([11, 4], 15)


def test_the_class_changes_only_the_heatmap_channel_and_cls(tmp_path):
    _, one = _sample(tmp_path, HAND_LABELS, 1, name="one")
    ds, two = _sample(tmp_path, TWO_CLASS_LABELS, 2, name="two")
    assert one["hm"].shape == (1, H // 4, W // 4) and not one["cls"].any()
    assert np.array_equal(two["hm"].numpy().max(axis=0), one["hm"].numpy()[0])
    for key in ("input", "reg_mask", "ind", "wh", "reg"):
        assert np.array_equal(one[key].numpy(), two[key].numpy()), key


def test_classes_follow_their_boxes_through_the_augmentation(tmp_path):
    labels = [f"{gid % 2} {gid} {0.1 + 0.08 * gid:.4f} 0.5 0.06 0.3" for gid in range(1, 11)]
    ds = JointDataset(*write_dataset(tmp_path, [(np.full((H, W, 3), 90, np.uint8), labels)]), width=W, height=H,
                      augment=True, num_classes=2)
    kept = 0
    for epoch in range(4):
        ds.set_epoch(epoch)
        s = ds[0]
        valid = s["reg_mask"].numpy() > 0
        assert np.array_equal(s["cls"].numpy()[valid], s["ids"].numpy()[valid] % 2)
        kept += valid.sum()
    assert kept > 10  # the affine kept most boxes
    assert ds.class_nID == [11, 10]


@pytest.mark.parametrize(("line", "num_classes"), [("2 1 0.5 0.5 0.1 0.1", 2), ("1 1 0.5 0.5 0.1 0.1", 1),
                                                   ("-1 1 0.5 0.5 0.1 0.1", 2)])
def test_a_class_index_beyond_classes_is_a_data_error_naming_the_file(tmp_path, line, num_classes):
    with pytest.raises(DataError, match=r"000001\.txt: class -?\d is not an index of `classes` \(0 to \d\)"):
        _sample(tmp_path, ["0 1 0.5 0.5 0.1 0.1", line], num_classes)

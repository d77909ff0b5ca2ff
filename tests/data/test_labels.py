"""gt.txt -> labels_with_ids and split indexes, checked against lines worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairmot.data.formats.mot import SeqInfo, write_seqinfo
from fairmot.data.labels import generate_labels, label_path, read_split
from fairmot.errors import DataError

REPO = Path(__file__).resolve().parents[2]


def make_seq(root: Path, split: str, name: str, width: int, height: int, length: int, gt: str | None) -> None:
    seq = root / "images" / split / name
    (seq / "img1").mkdir(parents=True)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo(name, 30, length, width, height))
    if gt is not None:
        (seq / "gt").mkdir()
        (seq / "gt" / "gt.txt").write_text(gt)


# A: rows unsorted and not grouped by track, boxes past the left, bottom and right edges,
# a zero-marked row and a static person (class 7) that must be dropped, a fully hidden one kept.
GT_A = """\
2,5,10,10,20,10,1,1,1.0
1,5,0,0,20,10,1,1,1.0
1,3,-10,40,20,20,1,1,0.3
1,7,50,20,10,10,0,1,1.0
3,3,90,5,20,10,1,1,0.0
2,8,30,20,10,10,1,7,1.0
"""
# B reuses the tids 3 and 5 of A: they are other people and get new ids.
GT_B = """\
1,5,0,0,50,50,1,1,1
1,3,100,50,20,40,1,1,1
"""
GT_C = "2,1,10,10,10,10,1,1,1\n"

EXPECTED = {
    "train/A/img1/000001.txt": "0 1 0.000000 1.000000 0.200000 0.400000\n0 2 0.100000 0.100000 0.200000 0.200000\n",
    "train/A/img1/000002.txt": "0 2 0.200000 0.300000 0.200000 0.200000\n",
    "train/A/img1/000003.txt": "0 1 1.000000 0.200000 0.200000 0.200000\n",
    "train/A/img1/000004.txt": "",
    "train/B/img1/000001.txt": "0 3 0.550000 0.700000 0.100000 0.400000\n0 4 0.125000 0.250000 0.250000 0.500000\n",
    "train/B/img1/000002.txt": "",
    "train/B/img1/000003.txt": "",
    "test/C/img1/000001.txt": "",
    "test/C/img1/000002.txt": "0 5 0.150000 0.150000 0.100000 0.100000\n",
}


@pytest.fixture
def hand_dataset(tmp_path) -> Path:
    root = tmp_path / "dataset"
    make_seq(root, "train", "B", 200, 100, 3, GT_B)  # created first: order on disk must not matter
    make_seq(root, "train", "A", 100, 50, 4, GT_A)
    make_seq(root, "test", "C", 100, 100, 2, GT_C)
    make_seq(root, "test", "D", 100, 100, 2, None)  # a test sequence without gt (MOT17 test) is skipped
    return root


def read_tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".fairmot-output"}  # the ownership marker of fairmot.io


def test_label_lines_match_hand_computed_values(hand_dataset, tmp_path):
    manifest = generate_labels(hand_dataset, tmp_path / "labels", tmp_path / "splits")
    assert read_tree(tmp_path / "labels") == EXPECTED
    assert manifest["nID"] == 6  # ids 1..5
    assert manifest["sequences"]["A"] == {"split": "train", "frames": 4, "boxes": 4, "identities": 2,
                                          "width": 100, "height": 50, "frame_rate": 30}
    assert manifest["sequences"]["B"]["boxes"] == 2 and manifest["sequences"]["C"]["identities"] == 1
    assert "D" not in manifest["sequences"]
    assert json.loads((tmp_path / "splits" / "manifest.json").read_text()) == manifest


def test_split_indexes_list_images_relative_to_the_dataset_root(hand_dataset, tmp_path):
    manifest = generate_labels(hand_dataset, tmp_path / "labels", tmp_path / "splits")
    a = [f"images/train/A/img1/{i:06d}.jpg" for i in range(1, 5)]
    b = [f"images/train/B/img1/{i:06d}.jpg" for i in range(1, 4)]
    assert read_split(tmp_path / "splits" / "train.txt") == a + b
    assert read_split(tmp_path / "splits" / "half.txt") == a[:2] + b[:1]  # floor(N/2) frames of each
    assert read_split(tmp_path / "splits" / "val.txt") == a[2:] + b[1:]
    assert read_split(tmp_path / "splits" / "test.txt") == ["images/test/C/img1/000001.jpg", "images/test/C/img1/000002.jpg"]
    assert manifest["splits"] == {"train": 7, "half": 3, "val": 4, "test": 2}


def test_rerun_is_byte_identical_and_never_appends_or_keeps_stale_files(hand_dataset, tmp_path):
    generate_labels(hand_dataset, tmp_path / "labels", tmp_path / "splits")
    first = read_tree(tmp_path / "labels") | {"splits/" + k: v for k, v in read_tree(tmp_path / "splits").items()}
    (tmp_path / "labels" / "train" / "stale.txt").write_text("0 99 0.5 0.5 0.1 0.1\n")
    generate_labels(hand_dataset, tmp_path / "labels", tmp_path / "splits")
    second = read_tree(tmp_path / "labels") | {"splits/" + k: v for k, v in read_tree(tmp_path / "splits").items()}
    assert second == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "labels", "splits"]  # no temp siblings


def test_label_path_maps_an_index_line_to_its_label_file(tmp_path):
    assert label_path(tmp_path, "images/train/SYN-01/img1/000001.jpg") == tmp_path / "train/SYN-01/img1/000001.txt"
    assert label_path(tmp_path, "images/test/X/img1/000123.png") == tmp_path / "test/X/img1/000123.txt"
    with pytest.raises(DataError, match="images/<split>"):
        label_path(tmp_path, "train/SYN-01/img1/000001.jpg")


def test_only_the_sdp_copy_of_a_mot17_sequence_is_labelled(tmp_path):
    root = tmp_path / "dataset"
    for detector in ("DPM", "FRCNN", "SDP"):
        make_seq(root, "train", f"MOT17-02-{detector}", 100, 100, 2, "1,1,10,10,10,10,1,1,1\n")
    make_seq(root, "train", "MOT17-04-FRCNN", 100, 100, 2, "1,1,10,10,10,10,1,1,1\n")
    manifest = generate_labels(root, tmp_path / "labels", tmp_path / "splits")
    assert sorted(manifest["sequences"]) == ["MOT17-02-SDP", "MOT17-04-FRCNN"]
    assert manifest["nID"] == 3


def test_gt_frame_beyond_seq_length_names_the_file(tmp_path):
    root = tmp_path / "dataset"
    make_seq(root, "train", "A", 100, 100, 2, "1,1,0,0,5,5,1,1,1\n3,1,0,0,5,5,1,1,1\n")
    with pytest.raises(DataError, match=r"A/gt/gt.txt: frame 3 .* outside 1..2"):
        generate_labels(root, tmp_path / "labels", tmp_path / "splits")
    assert not (tmp_path / "labels").exists() and not (tmp_path / "splits").exists()


def test_training_sequence_without_gt_is_an_error(tmp_path):
    make_seq(tmp_path / "dataset", "train", "A", 100, 100, 2, None)
    with pytest.raises(DataError, match=r"A/gt/gt.txt: missing"):
        generate_labels(tmp_path / "dataset", tmp_path / "labels", tmp_path / "splits")


def test_empty_dataset_tells_to_run_download(tmp_path):
    with pytest.raises(DataError, match="fairmot download"):
        generate_labels(tmp_path / "nothing", tmp_path / "labels", tmp_path / "splits")


def test_tiny_synthetic_labels_cover_every_frame_and_kept_row(tiny_dataset, tiny_labels):
    labels_root, splits_dir = tiny_labels
    manifest = json.loads((splits_dir / "manifest.json").read_text())
    assert manifest["splits"] == {"train": 48, "half": 24, "val": 24, "test": 24}
    lines = [line for rel in read_split(splits_dir / "train.txt") + read_split(splits_dir / "test.txt")
             for line in label_path(labels_root, rel).read_text().splitlines()]
    assert len(lines) == sum(s["boxes"] for s in manifest["sequences"].values())
    ids = {int(line.split()[1]) for line in lines}
    assert ids == set(range(1, manifest["nID"]))


def test_labels_command_writes_outputs_and_reports_counts(hand_dataset, tmp_path):
    import stages.labels  # noqa: F401  (registers the command)
    from stages.app import app

    result = CliRunner().invoke(app, [
        "labels", "--params", str(REPO / "params.yaml"), "--dataset", str(hand_dataset),
        "--labels", str(tmp_path / "labels"), "--splits", str(tmp_path / "splits")])
    assert result.exit_code == 0, result.output
    assert read_tree(tmp_path / "labels") == EXPECTED
    missing = CliRunner().invoke(app, ["labels", "--params", str(REPO / "params.yaml"), "--dataset", str(tmp_path / "x"),
                                       "--labels", str(tmp_path / "l2"), "--splits", str(tmp_path / "s2")])
    assert missing.exit_code == 1
    assert "run `fairmot download` first" in missing.output


@pytest.mark.parametrize("split", ["train", "test"])
def test_sequence_folder_without_seqinfo_stops_labels_naming_the_folder(hand_dataset, tmp_path, split):
    import stages.labels  # noqa: F401  (registers the command)
    from stages.app import app

    lost = hand_dataset / "images" / split / "E"
    (lost / "img1").mkdir(parents=True)
    (lost / "gt").mkdir()
    (lost / "gt" / "gt.txt").write_text(GT_C)
    (hand_dataset / "images" / split / ".cache").mkdir()  # hidden folders are not sequences
    result = CliRunner().invoke(app, [
        "labels", "--params", str(REPO / "params.yaml"), "--dataset", str(hand_dataset),
        "--labels", str(tmp_path / "labels"), "--splits", str(tmp_path / "splits")])
    assert result.exit_code == 1
    assert f"{lost}: sequence folder without seqinfo.ini" in result.output
    assert "or remove the folder" in result.output
    assert not (tmp_path / "labels").exists() and not (tmp_path / "splits").exists()

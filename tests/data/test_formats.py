"""What each dataset kind counts and accepts: clipped/ignored counts, CVAT frame names, CrowdHuman records, user paths."""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from typer.testing import CliRunner

from fairmot.config import DatasetParams
from fairmot.data.boxes import clip_xywh, fit_box
from fairmot.data.labels import generate_labels, label_path
from fairmot.data.sources import prepare_datasets
from fairmot.errors import DataError
from fairmot.reporting.report import ReportInputs, _data_section
from tests.data.kinds import CROWD_IDS, CROWD_ODGT, crowdhuman_folder, cvat_folder, mot_folder, zip_folder


def build(tmp, specs):
    prepare_datasets(specs, tmp / "dataset", tmp / "cache", {})
    return generate_labels(tmp / "dataset", tmp / "labels", tmp / "splits")


# ---------------------------------------------------------------------------------------------
# clipped / outside / ignored / other_classes

W, H = 200, 100
# 50 boxes wholly inside, x and w with a fraction such that (x + w) - x is not w in floats
INSIDE = [(10.1 + 2.3 * k, 8.3 + k % 7, 20.3, 15.7) for k in range(50)]
# 50 that reach past the right, left, bottom or top edge by 3.3 px
CLIPPED = [[(W - 17.0, 20.0, 20.3, 15.7), (-3.3, 20.0, 20.3, 15.7), (30.0, H - 12.4, 20.3, 15.7), (30.0, -3.3, 20.3, 15.7)][k % 4]
           for k in range(50)]


def gt_of(boxes, frames=5, first_tid=1):
    return "".join(f"{k % frames + 1},{first_tid + k},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,1,1.0\n"
                   for k, (x, y, w, h) in enumerate(boxes))


def test_boxes_inside_whose_floats_do_not_round_trip_are_not_clipped_and_truly_clipped_ones_are():
    # the old test `clip_xywh(box) != box` called many of these inside boxes clipped
    assert sum(clip_xywh(*b, W, H) != b for b in INSIDE) >= 10
    counts = {"clipped": 0, "outside": 0}
    assert [fit_box(*b, W, H, counts) for b in INSIDE] == INSIDE  # inside: returned as given
    assert fit_box(W - 17.0, 20.0, 20.3, 15.7, W, H, counts) == pytest.approx((W - 17.0, 20.0, 17.0, 15.7))
    assert fit_box(-1e-7, 0.0, 10.0, 10.0, W, H, counts) == (-1e-7, 0.0, 10.0, 10.0)  # within the 1e-6 px tolerance
    assert fit_box(W, 0.0, 10.0, 10.0, W, H, counts) is None  # touching the edge from outside
    assert counts == {"clipped": 1, "outside": 1}


def test_cvat_export_counts_only_the_boxes_that_leave_the_image_as_clipped(tmp_path):
    cvat_folder(tmp_path / "cvat", gt_of(INSIDE + CLIPPED), [f"{i:06d}.jpg" for i in range(1, 6)], size=(W, H))
    manifest = build(tmp_path, [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat"))])
    assert manifest["datasets"]["cvat"]["clipped"] == 50  # was 96: most inside boxes drift in floats
    assert manifest["datasets"]["cvat"]["outside"] == 0 and manifest["datasets"]["cvat"]["boxes"] == 100
    assert manifest["count_definitions"]["clipped"].startswith("boxes that reach past the image by more than 1e-6 px")


def mot20_gt() -> str:
    """10 pedestrian targets, 40 pedestrian rows marked 0, 145 rows of other classes (marked 0 or 1)."""
    rows = [f"{k % 4 + 1},{k + 1},10,10,10,10,1,1,1.0" for k in range(10)]
    rows += [f"{k % 4 + 1},{100 + k},20,10,10,10,0,1,0.5" for k in range(40)]
    rows += [f"{k % 4 + 1},{200 + k},30,10,10,10,{k % 2},{(2, 6, 7, 8, 12)[k % 5]},1.0" for k in range(145)]
    return "".join(row + "\n" for row in rows)


def test_ignored_counts_pedestrian_rows_marked_0_and_other_classes_the_rest(tmp_path):
    mot_folder(tmp_path / "mot20", "MOT20-01", mot20_gt(), length=4)
    manifest = build(tmp_path, [DatasetParams(name="mot20", kind="mot", path=str(tmp_path / "mot20"))])
    counts = {k: manifest["datasets"]["mot20"][k] for k in ("boxes", "ignored", "other_classes", "clipped", "outside")}
    assert counts == {"boxes": 10, "ignored": 40, "other_classes": 145, "clipped": 0, "outside": 0}  # ignored was 185
    assert set(manifest["count_definitions"]) == {"clipped", "outside", "ignored", "other_classes"}


def test_report_shows_the_four_counts_and_what_they_mean():
    import pandas as pd

    manifest = {"nID": 11, "sequences": {}, "count_definitions": {"ignored": "pedestrian rows marked 0",
                                                                  "other_classes": "rows of other classes"},
                "datasets": {"mot20": {"kind": "mot", "frames": 4, "boxes": 10, "identities": 10, "ids": [1, 10],
                                       "clipped": 2, "outside": 1, "ignored": 40, "other_classes": 145}}}
    inputs = ReportInputs(params={"data": {}}, validation={}, train={}, metrics={},
                          per_sequence=pd.DataFrame(columns=["sequence"]), manifest=manifest)
    text = "\n".join(_data_section(inputs))
    assert "| ids | clipped | outside image | ignored | other classes |" in text
    assert "| mot20 | mot | 4 | 10 | 10 | 1..10 | 2 | 1 | 40 | 145 |" in text
    assert "- ignored: pedestrian rows marked 0" in text and "- other_classes: rows of other classes" in text


# ---------------------------------------------------------------------------------------------
# CVAT frame names

def frame_gt(frames) -> str:
    """One box per frame, its x = 2 * the gt frame number, track 1."""
    return "".join(f"{f},1,{2 * f}.00,4.00,8.00,8.00,1,1,1.0\n" for f in frames)


def expected_label(gt_frame: int) -> str:
    return f"0 1 {(2 * gt_frame + 4) / 64:.6f} {8 / 48:.6f} {8 / 64:.6f} {8 / 48:.6f}\n"


def test_cvat_frames_with_their_original_names_are_numbered_in_natural_order(tmp_path, caplog):
    names = [f"frame_{i}.jpg" for i in range(1, 11)]  # frame_10 after frame_9, not after frame_1
    cvat_folder(tmp_path / "cvat", frame_gt(range(1, 11)), names)
    with caplog.at_level(logging.INFO, logger="fairmot.data.formats.cvat"):
        build(tmp_path, [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat"))])
    img1 = tmp_path / "dataset" / "images" / "train" / "cvat" / "img1"
    assert sorted(p.name for p in img1.iterdir()) == [f"{i:06d}.jpg" for i in range(1, 11)]
    for i, name in enumerate(names, start=1):
        assert (img1 / f"{i:06d}.jpg").read_bytes() == (tmp_path / "cvat" / "img1" / name).read_bytes()
        assert label_path(tmp_path / "labels", f"images/train/cvat/img1/{i:06d}.jpg").read_text() == expected_label(i)
    assert "cvat: img1/ holds 10 frames, numbered in natural name order: frame_1.jpg -> 1 ... frame_10.jpg -> 10" \
        in caplog.messages


def test_cvat_frames_named_frame_0001_are_accepted(tmp_path):
    cvat_folder(tmp_path / "cvat", frame_gt(range(1, 4)), [f"frame_{i:04d}.png" for i in range(1, 4)])
    manifest = build(tmp_path, [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat"))])
    assert manifest["datasets"]["cvat"]["frames"] == 3
    assert (tmp_path / "dataset/images/train/cvat/img1/000003.png").read_bytes() == \
        (tmp_path / "cvat/img1/frame_0003.png").read_bytes()
    assert label_path(tmp_path / "labels", "images/train/cvat/img1/000003.png").read_text() == expected_label(3)


def test_cvat_export_numbered_from_000000_keeps_each_label_on_its_image(tmp_path):
    # Datumaro names each image after the gt frame id it writes: frame 0 is 000000.jpg
    cvat_folder(tmp_path / "cvat", frame_gt(range(0, 5)), [f"{i:06d}.jpg" for i in range(0, 5)])
    manifest = build(tmp_path, [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat"))])
    assert manifest["datasets"]["cvat"]["frames"] == 5
    for gt_frame in range(5):
        frame = gt_frame + 1
        assert (tmp_path / f"dataset/images/train/cvat/img1/{frame:06d}.jpg").read_bytes() == \
            (tmp_path / f"cvat/img1/{gt_frame:06d}.jpg").read_bytes()
        assert label_path(tmp_path / "labels", f"images/train/cvat/img1/{frame:06d}.jpg").read_text() == \
            expected_label(gt_frame)


def test_cvat_gt_frame_without_an_image_names_the_line(tmp_path):
    cvat_folder(tmp_path / "cvat", frame_gt([1, 2]) + "\n" + frame_gt([4]), [f"frame_{i}.jpg" for i in range(1, 4)])
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat"))])
    assert str(error.value).startswith(f"{tmp_path / 'cvat' / 'gt' / 'gt.txt'}:4: frame 4 has no image; ")


# ---------------------------------------------------------------------------------------------
# CrowdHuman records

BAD_RECORDS = {
    "id_not_a_string": ({"ID": 273271, "gtboxes": []}, '"ID" is 273271, not an image name'),
    "fbox_of_3": ({"ID": CROWD_IDS[1], "gtboxes": [{"tag": "person", "fbox": [1, 2, 3]}]},
                  'gtboxes[0]: "fbox" is [1, 2, 3], not a list of 4 finite numbers'),
    "fbox_not_finite": ({"ID": CROWD_IDS[1], "gtboxes": [{"tag": "person", "fbox": [1, 2, float("nan"), 4]}]},
                        'gtboxes[0]: "fbox" is [1, 2, NaN, 4], not a list of 4 finite numbers'),
    "gtboxes_not_a_list": ({"ID": CROWD_IDS[1], "gtboxes": {"fbox": [1, 2, 3, 4]}}, '"gtboxes" is a JSON dict, not a list'),
    "no_id": ({"gtboxes": []}, "the record has no 'ID'"),
    "no_gtboxes": ({"ID": CROWD_IDS[1]}, "the record has no 'gtboxes'"),
    "box_without_fbox": ({"ID": CROWD_IDS[1], "gtboxes": [{"tag": "person"}]}, "gtboxes[0]: no 'fbox'"),
    "tag_not_a_string": ({"ID": CROWD_IDS[1], "gtboxes": [{"tag": 1, "fbox": [1, 2, 3, 4]}]}, 'gtboxes[0]: "tag" is 1'),
    "extra_not_an_object": ({"ID": CROWD_IDS[1], "gtboxes": [{"tag": "person", "fbox": [1, 2, 3, 4], "extra": 1}]},
                            'gtboxes[0]: "extra" is 1, not an object'),
    "not_an_object": ([1, 2], "the record is a JSON list, not an object"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_a_malformed_crowdhuman_record_is_one_line_naming_file_and_line(tmp_path, case):
    record, what = BAD_RECORDS[case]
    crowdhuman_folder(tmp_path / "ch", records=[CROWD_ODGT[0], record])
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="crowd", kind="detection", path=str(tmp_path / "ch"))])
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'ch' / 'annotation_train.odgt'}:2: {what}") and "\n" not in message


def test_deeply_nested_crowdhuman_line_stops_download_with_one_line_and_exit_1(tmp_path):
    from stages.app import app

    crowdhuman_folder(tmp_path / "ch")
    odgt = tmp_path / "ch" / "annotation_train.odgt"
    odgt.write_text(json.dumps(CROWD_ODGT[0]) + "\n" + "[" * 10_000 + "]" * 10_000 + "\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"data": {"datasets": [{"name": "crowd", "kind": "detection", "path": str(tmp_path / "ch")}]}}))
    result = CliRunner().invoke(app, ["download", "--params", str(tmp_path / "params.yaml"), "--out",
                                      str(tmp_path / "dataset"), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert f"{odgt}:2: not a CrowdHuman record (JSON nested too deeply)" in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output


# ---------------------------------------------------------------------------------------------
# errors name the user's path, never the temporary one

def test_bad_gt_line_in_a_zipped_cvat_export_names_the_zip_not_the_temporary(tmp_path):
    cvat_folder(tmp_path / "shop", "1,1,1,1,1,1,1,1,1\n1,2,x,1,1,1,1,1,1\n", ["000001.jpg"])
    (tmp_path / "shop.zip").write_bytes(zip_folder(tmp_path / "shop"))
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="shop", kind="mot", path=str(tmp_path / "shop.zip"))])
    assert str(error.value).startswith(f"{tmp_path / 'shop.zip'}/gt/gt.txt:2: non-numeric value")
    assert ".tmp" not in str(error.value)


def test_zipped_cvat_export_without_images_names_the_zip(tmp_path):
    cvat_folder(tmp_path / "shop", "1,1,1,1,1,1,1,1,1\n", [])
    (tmp_path / "shop" / "img1" / "notes.txt").write_text("no images")
    (tmp_path / "shop.zip").write_bytes(zip_folder(tmp_path / "shop"))
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="shop", kind="mot", path=str(tmp_path / "shop.zip"))])
    assert str(error.value).startswith(f"{tmp_path / 'shop.zip'}/img1: no images")


def test_malformed_seqinfo_in_a_zipped_mot_source_names_the_zip_member(tmp_path):
    mot_folder(tmp_path / "mot20", "MOT20-01", "1,1,1,1,1,1,1,1,1\n", length=2)
    (tmp_path / "mot20" / "train" / "MOT20-01" / "seqinfo.ini").write_text("[Sequence]\nname=MOT20-01\n")
    (tmp_path / "mot20.zip").write_bytes(zip_folder(tmp_path / "mot20"))
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="mot20", kind="mot", path=str(tmp_path / "mot20.zip"))])
    assert str(error.value).startswith(f"{tmp_path / 'mot20.zip'}/train/MOT20-01/seqinfo.ini: malformed seqinfo.ini")
    assert ".tmp" not in str(error.value)


def test_undecodable_gt_in_a_mot_folder_source_names_the_users_file(tmp_path):
    mot_folder(tmp_path / "mot20", "MOT20-01", "", length=2)
    gt = tmp_path / "mot20" / "train" / "MOT20-01" / "gt" / "gt.txt"
    gt.write_bytes(b"1,1,1,1,1,1,1,1,1\n\xff\xfe\x00garbage\n")
    with pytest.raises(DataError) as error:
        build(tmp_path, [DatasetParams(name="mot20", kind="mot", path=str(tmp_path / "mot20"))])
    assert str(error.value).startswith(f"{gt}: not text (undecodable bytes)") and ".tmp" not in str(error.value)

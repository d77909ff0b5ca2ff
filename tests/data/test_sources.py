"""data.datasets: every kind from a tiny generated source to labels, splits, manifest and validation."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairmot.config import DataParams, DatasetParams, load_params
from fairmot.data.labels import generate_labels, label_path, read_split
from fairmot.data.sources import prepare_datasets, resolve_datasets
from fairmot.data.validation import validate_dataset
from fairmot.errors import ConfigError, DataError
from tests.data.kinds import (
    CROWD_EXPECTED,
    CROWD_IDS,
    CVAT_EXPECTED,
    JDE_LIST,
    crowdhuman_folder,
    cvat_zip,
    jde_expected,
    jde_folder,
    zip_folder,
)
from tests.data.test_download import server, sha256  # noqa: F401 -- the loopback HTTP server fixture


def build(tmp: Path, specs: list[DatasetParams]) -> dict:
    prepare_datasets(specs, tmp / "dataset", tmp / "cache", {})
    return generate_labels(tmp / "dataset", tmp / "labels", tmp / "splits")


def labels_of(tmp: Path, line: str) -> str:
    return label_path(tmp / "labels", line).read_text()


@pytest.fixture
def three_kinds(tmp_path) -> list[DatasetParams]:
    cvat_zip(tmp_path / "cvat.zip")
    crowdhuman_folder(tmp_path / "ch")
    jde_folder(tmp_path / "jde")
    return [DatasetParams(name="cvat", kind="mot", path=str(tmp_path / "cvat.zip")),
            DatasetParams(name="crowd", kind="detection", path=str(tmp_path / "ch")),
            DatasetParams(name="jde", kind="jde", path=str(tmp_path / "jde"), list_file="mot17.train")]


def test_cvat_mot_export_keeps_pedestrian_rows_clips_and_leaves_trackless_boxes_unidentified(tmp_path, three_kinds):
    manifest = build(tmp_path, three_kinds[:1])
    for frame, text in CVAT_EXPECTED.items():
        assert labels_of(tmp_path, f"images/train/cvat/img1/{frame:06d}.jpg") == text
    seqinfo = (tmp_path / "dataset/images/train/cvat/seqinfo.ini").read_text()
    assert "seqLength=3" in seqinfo and "imWidth=64" in seqinfo and "imHeight=48" in seqinfo
    assert manifest["datasets"]["cvat"] == {"kind": "mot", "frames": 3, "boxes": 4, "identities": 1, "ids": [1, 1],
                                            "clipped": 1, "outside": 0, "ignored": 1, "other_classes": 1}
    assert manifest["nID"] == 2


def test_cvat_export_without_a_pedestrian_label_names_labels_txt_and_the_key(tmp_path, three_kinds):
    three_kinds[0].classes = ["cyclist"]
    with pytest.raises(DataError, match=r"labels.txt: none of the labels \['person', 'car'\].*classes"):
        build(tmp_path, three_kinds[:1])


def test_crowdhuman_full_boxes_train_without_identities_and_ignored_boxes_are_left_out(tmp_path, three_kinds):
    manifest = build(tmp_path, three_kinds[1:2])
    for image_id, text in CROWD_EXPECTED.items():
        assert labels_of(tmp_path, f"sets/crowd/images/{image_id}.jpg") == text
    assert manifest["datasets"]["crowd"] == {"kind": "detection", "frames": 2, "boxes": 2, "identities": 0,
                                             "ids": None, "clipped": 1, "outside": 1, "ignored": 2, "other_classes": 0}
    assert manifest["nID"] == 1  # no identity at all: the id head has nothing to learn


def test_jde_folder_is_taken_as_listed_with_ids_offset_by_the_datasets_before_it(tmp_path, three_kinds):
    manifest = build(tmp_path, [three_kinds[0], three_kinds[2]])
    for rel, text in jde_expected(first_id=2).items():
        assert labels_of(tmp_path, f"sets/jde/{rel}") == text
    assert manifest["datasets"]["jde"]["ids"] == [2, 5] and manifest["datasets"]["jde"]["identities"] == 2
    assert manifest["nID"] == 6  # 1 (cvat) + the jde block of max id 3 + 1 = 4, from 1


def test_jde_list_naming_a_missing_image_is_an_error_naming_the_list_and_line(tmp_path, three_kinds):
    jde_folder(tmp_path / "broken", listed=[JDE_LIST[0], "MOT17/images/train/S/img1/000009.jpg"])
    spec = DatasetParams(name="jde", kind="jde", path=str(tmp_path / "broken"), list_file="mot17.train")
    with pytest.raises(DataError, match=r"mot17.train: 1 of 2 listed images are missing \(line 2: MOT17/images/train/S/img1/000009.jpg\)"):
        build(tmp_path, [spec])


def test_mixed_labels_keep_identity_spaces_apart_and_are_byte_identical_across_runs(tmp_path, three_kinds):
    manifest = build(tmp_path, three_kinds)
    ranges = [d["ids"] for d in manifest["datasets"].values() if d["ids"]]
    assert ranges == [[1, 1], [2, 5]] and manifest["nID"] == 6
    train = read_split(tmp_path / "splits" / "train.txt")
    assert train == ([f"images/train/cvat/img1/{i:06d}.jpg" for i in (1, 2, 3)]
                     + [f"sets/crowd/images/{i}.jpg" for i in CROWD_IDS] + [f"sets/jde/{rel}" for rel in JDE_LIST])
    assert read_split(tmp_path / "splits" / "half.txt") == train[:1] + train[3:]  # sets train in half too
    assert read_split(tmp_path / "splits" / "val.txt") == train[1:3]
    first = {p: p.read_bytes() for p in sorted((tmp_path / "labels").rglob("*")) + sorted((tmp_path / "splits").rglob("*"))
             if p.is_file()}
    shutil.rmtree(tmp_path / "dataset")
    build(tmp_path, three_kinds)
    second = {p: p.read_bytes() for p in sorted((tmp_path / "labels").rglob("*")) + sorted((tmp_path / "splits").rglob("*"))
              if p.is_file()}
    assert second == first


def test_mixed_dataset_passes_validation_with_counts(tmp_path, three_kinds):
    build(tmp_path, three_kinds)
    result = validate_dataset(tmp_path / "dataset", tmp_path / "labels", tmp_path / "splits", tmp_path / "docs")
    assert result.success, result.message()
    assert result.summary["datasets"] == 3 and result.summary["clipped_boxes"] == 3 and result.summary["nID"] == 6
    # ignored: cvat's person marked 0, crowd's ignore-flagged box and mask; other classes: cvat's car
    assert {k: result.summary[f"{k}_boxes"] for k in ("outside", "ignored", "other_classes")} == {
        "outside": 1, "ignored": 3, "other_classes": 1}


def test_validation_fails_a_dataset_with_no_frames_and_a_mot_dataset_without_identities(tmp_path, three_kinds):
    crowdhuman_folder(tmp_path / "empty", records=[])
    specs = [three_kinds[0], DatasetParams(name="empty", kind="detection", path=str(tmp_path / "empty"))]
    build(tmp_path, specs)
    for path in (tmp_path / "labels" / "train" / "cvat" / "img1").iterdir():  # a mot dataset left without ids
        path.write_text(path.read_text().replace("0 1 ", "0 -1 "))
    result = validate_dataset(tmp_path / "dataset", tmp_path / "labels", tmp_path / "splits", tmp_path / "docs")
    failed = [c for c in result.expectations if not c["success"]]
    assert {(c["suite"], c["expectation"]) for c in failed} == {
        ("datasets", "expect_column_values_to_be_between"),  # empty: 0 frames
        ("datasets", "expect_column_pair_values_a_to_be_greater_than_b"),  # cvat: 0 identities
        ("classes", "expect_column_pair_values_a_to_be_greater_than_b"),  # so pedestrians have none to train on
    }
    assert "dataset=empty" in result.message() and "dataset=cvat" in result.message()


def test_validation_catches_overlapping_id_ranges_and_index_lines_naming_missing_images(tmp_path, three_kinds):
    build(tmp_path, three_kinds)
    jde_label = label_path(tmp_path / "labels", f"sets/jde/{JDE_LIST[0]}")
    jde_label.write_text(jde_label.read_text().replace("0 2 ", "0 1 "))  # stale labels: jde reuses cvat's id 1
    (tmp_path / "dataset" / "sets" / "crowd" / "images" / f"{CROWD_IDS[1]}.jpg").unlink()
    result = validate_dataset(tmp_path / "dataset", tmp_path / "labels", tmp_path / "splits", tmp_path / "docs")
    by_name = {(c["suite"], c["kwargs"].get("column")): c for c in result.expectations}
    assert by_name[("datasets", "overlaps")]["unexpected_count"] == 2  # cvat and jde, each overlapping the other
    assert by_name[("datasets", "missing_images")]["unexpected_count"] == 1
    assert by_name[("images", "exists")]["unexpected_count"] == 1
    assert not result.success


def test_single_source_keys_stand_for_a_one_element_list():
    legacy = resolve_datasets(DataParams(source="local", path="/data/MOT17", sequences=["MOT17-02-SDP"]))
    assert [(d.name, d.kind, d.path, d.sequences, d.clip) for d in legacy] == [
        ("local", "mot", "/data/MOT17", ["MOT17-02-SDP"], False)]
    assert resolve_datasets(DataParams())[0].kind == "synthetic"
    mot17 = resolve_datasets(DataParams(source="mot17", sha256="ab"))[0]
    assert (mot17.url, mot17.sha256) == ("https://motchallenge.net/data/MOT17.zip", "ab")


def test_datasets_switch_with_a_dotted_override_and_bad_entries_name_the_key(tmp_path):
    params = load_params(None, {"data.datasets": [{"name": "ch", "kind": "detection", "path": "/x/ch.zip"}]})
    assert [(d.name, d.kind, d.path, d.clip) for d in params.data.datasets] == [("ch", "detection", "/x/ch.zip", True)]
    with pytest.raises(ConfigError, match=r"data.datasets\[1\].name' = 'ch' is used twice"):
        load_params(None, {"data.datasets": [{"name": "ch", "kind": "detection", "path": "a"},
                                             {"name": "ch", "kind": "mot", "path": "b"}]})
    with pytest.raises(ConfigError, match=r"data.datasets\[0\].kind' = 'coco' must be one of"):
        load_params(None, {"data.datasets": [{"name": "x", "kind": "coco", "path": "a"}]})
    with pytest.raises(ConfigError, match=r"data.datasets\[0\]' \(x\) needs 'url'"):
        load_params(None, {"data.datasets": [{"name": "x", "kind": "mot"}]})


def test_two_archives_download_over_loopback_into_their_own_cache_folders(server, tmp_path):  # noqa: F811
    cvat = cvat_zip(tmp_path / "cvat.zip").read_bytes()
    crowd = zip_folder(crowdhuman_folder(tmp_path / "ch"))
    server.files.update({"/exports/cvat.zip": cvat, "/CrowdHuman_train01.zip": crowd})
    specs = [DatasetParams(name="cvat", kind="mot", url=server.url + "/exports/cvat.zip", sha256=sha256(cvat)),
             DatasetParams(name="crowd", kind="detection", url=server.url + "/CrowdHuman_train01.zip",
                           md5=hashlib.md5(crowd).hexdigest())]
    manifest = build(tmp_path, specs)
    assert (tmp_path / "cache" / "cvat" / "cvat.zip").read_bytes() == cvat
    assert (tmp_path / "cache" / "crowd" / "CrowdHuman_train01.zip").read_bytes() == crowd
    assert [manifest["datasets"][n]["frames"] for n in ("cvat", "crowd")] == [3, 2]
    requests = len(server.requests)
    build(tmp_path, specs)  # verified archives in the cache are reused
    assert len(server.requests) == requests


def test_download_and_labels_commands_build_a_mixed_dataset_from_params(tmp_path, three_kinds):
    from stages.app import app

    entries = [{k: v for k, v in vars(s).items() if k in ("name", "kind", "path", "list_file")} for s in three_kinds]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": {"datasets": entries}}))
    common = ["--params", str(tmp_path / "params.yaml")]
    result = CliRunner().invoke(app, ["download", *common, "--out", str(tmp_path / "dataset"), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "dataset" / "datasets.json").read_text())["datasets"][0] == {
        "name": "cvat", "kind": "mot", "clip": True, "sequences": ["cvat"], "other_classes": 1,
        "gt_classes": {"1": "pedestrian"}, "distractors": []}  # the export's gt numbering, for scoring
    result = CliRunner().invoke(app, ["labels", *common, "--dataset", str(tmp_path / "dataset"),
                                      "--labels", str(tmp_path / "labels"), "--splits", str(tmp_path / "splits")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "splits" / "manifest.json").read_text())["nID"] == 6


def test_report_lists_every_dataset_with_its_counts_and_id_block(tmp_path, three_kinds):
    from fairmot.reporting.report import ReportInputs, render_markdown

    manifest = build(tmp_path, three_kinds)
    inputs = ReportInputs(params={"data": {"datasets": []}}, validation={}, train={}, metrics={},
                          per_sequence=pd.DataFrame(), manifest=manifest)
    text = render_markdown(inputs, {"per_sequence": None, "training": None}, [], base_dir=tmp_path)
    assert "| cvat | mot | 3 | 4 | 1 | 1..1 | 1 | 0 | 1 |" in text
    assert "| crowd | detection | 2 | 2 | 0 | - | 1 | 1 | 2 |" in text
    assert "| jde | jde | 2 | 3 | 2 | 2..5 | 1 | 0 | 0 |" in text


def test_dvc_set_param_switches_the_dataset_list_and_one_entry(tmp_path):
    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "params.yaml", params)
    value = ("[{name:mot17,kind:mot,url:'https://motchallenge.net/data/MOT17.zip'},"
             "{name:crowd,kind:detection,path:/d/CrowdHuman}]")
    apply_overrides(str(params), [f"data.datasets={value}"])
    apply_overrides(str(params), ["data.datasets.1.path=/e/ch.zip"])  # what `dvc exp run -S` runs
    datasets = load_params(params).data.datasets
    assert [(d.name, d.kind, d.url or d.path) for d in datasets] == [
        ("mot17", "mot", "https://motchallenge.net/data/MOT17.zip"), ("crowd", "detection", "/e/ch.zip")]


def test_dancetrack_layout_holds_val_out_as_test_and_gets_six_digit_frame_names(tmp_path):
    import zipfile

    from tests.data.kinds import jpg

    seqinfo = "[Sequence]\nname={}\nimDir=img1\nframeRate=20\nseqLength=2\nimWidth=64\nimHeight=48\nimExt=.jpg\n"
    with zipfile.ZipFile(tmp_path / "DanceTrack.zip", "w") as zf:
        for split, name in (("train", "dancetrack0001"), ("val", "dancetrack0004"), ("test", "dancetrack0003")):
            zf.writestr(f"dancetrack/{split}/{name}/seqinfo.ini", seqinfo.format(name))
            for frame in (1, 2):
                zf.writestr(f"dancetrack/{split}/{name}/img1/{frame:08d}.jpg", jpg(64, 48, frame))
            if split != "test":
                zf.writestr(f"dancetrack/{split}/{name}/gt/gt.txt", "1,1,10,10,5,10,1,1,1\n2,1,12,10,5,10,1,1,1\n")
    manifest = build(tmp_path, [DatasetParams(name="dance", kind="mot", path=str(tmp_path / "DanceTrack.zip"))])
    assert sorted(p.relative_to(tmp_path / "dataset").as_posix() for p in (tmp_path / "dataset").glob("images/*/*")) == [
        "images/test/dancetrack0003", "images/test/dancetrack0004", "images/train/dancetrack0001"]
    assert {n: s["split"] for n, s in manifest["sequences"].items()} == {"dancetrack0001": "train", "dancetrack0004": "test"}
    assert manifest["datasets"]["dance"]["ids"] == [1, 2]  # the held-out val identity has its own id
    # DanceTrack names frames 00000001.jpg; every stage reads %06d names
    assert sorted(p.name for p in (tmp_path / "dataset/images/train/dancetrack0001/img1").iterdir()) == [
        "000001.jpg", "000002.jpg"]


def test_single_source_options_with_a_dataset_list_are_refused(tmp_path):
    from stages.app import app

    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": {"datasets": [{"name": "a", "kind": "synthetic"}]}}))
    result = CliRunner().invoke(app, ["download", "--params", str(tmp_path / "params.yaml"), "--path", "/x",
                                      "--out", str(tmp_path / "dataset")])
    assert result.exit_code == 1
    assert "--source/--url/--path set the single source, but data.datasets lists the sources" in result.stderr
    assert not (tmp_path / "dataset").exists()


def test_readme_recipe_mixes_mot17_crowdhuman_and_a_cvat_export(tmp_path):
    """The README's `dvc exp run -S data.datasets=[...]` through the download and labels commands."""
    from dvc.utils.hydra import apply_overrides

    from stages.app import app
    from tests.data.test_download import mot17_zip

    (tmp_path / "MOT17.zip").write_bytes(mot17_zip())
    crowdhuman_folder(tmp_path / "CrowdHuman")
    cvat_zip(tmp_path / "shop_mot11.zip")
    params = tmp_path / "params.yaml"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "params.yaml", params)
    apply_overrides(str(params), [
        f"data.datasets=[{{name:mot17,kind:mot,path:{tmp_path}/MOT17.zip}},"
        f"{{name:crowdhuman,kind:detection,path:{tmp_path}/CrowdHuman}},{{name:shop,kind:mot,path:{tmp_path}/shop_mot11.zip}}]",
        "data.train_split=half", "eval.split=val"])
    data = ["--dataset", str(tmp_path / "dataset"), "--labels", str(tmp_path / "labels"), "--splits", str(tmp_path / "splits")]
    for command in (["download", "--out", str(tmp_path / "dataset"), "--cache", str(tmp_path / "cache")], ["labels", *data]):
        result = CliRunner().invoke(app, [command[0], "--params", str(params), *command[1:]])
        assert result.exit_code == 0, result.output
    datasets = json.loads((tmp_path / "splits" / "manifest.json").read_text())["datasets"]
    assert {name: (d["kind"], d["frames"], d["identities"]) for name, d in datasets.items()} == {
        "mot17": ("mot", 4, 2), "crowdhuman": ("detection", 2, 0), "shop": ("mot", 3, 1)}
    assert sorted(p.name for p in (tmp_path / "dataset" / "images" / "train").iterdir()) == [
        "MOT17-02-SDP", "MOT17-04-SDP", "shop"]  # MOT17's SDP copies only


def test_detection_folder_with_a_link_out_of_the_tree_is_refused_before_copying(tmp_path):
    crowdhuman_folder(tmp_path / "ch")
    (tmp_path / "home").mkdir()
    (tmp_path / "ch/Images/home").symlink_to(tmp_path / "home")
    spec = DatasetParams(name="crowd", kind="detection", path=str(tmp_path / "ch"))
    with pytest.raises(DataError) as error:
        build(tmp_path, [spec])
    assert str(error.value) == (f"{tmp_path / 'ch/Images/home'}: a symbolic link to {(tmp_path / 'home').resolve()}, "
                                f"outside {tmp_path / 'ch'}; copy the file into the dataset instead")
    assert not (tmp_path / "dataset").exists()


@pytest.mark.parametrize("list_file", ["../passwd", "/PASSWD"])
def test_jde_list_file_outside_the_dataset_is_refused_without_echoing_it(tmp_path, list_file):
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    list_file = list_file.replace("/PASSWD", str(tmp_path / "passwd"))
    jde_folder(tmp_path / "jde")
    spec = DatasetParams(name="jde", kind="jde", path=str(tmp_path / "jde"), list_file=list_file)
    with pytest.raises(DataError) as error:
        build(tmp_path, [spec])
    assert str(error.value) == (f"{tmp_path / 'jde' / list_file}: the list file resolves to {(tmp_path / 'passwd').resolve()}, "
                                f"outside {tmp_path / 'jde'} (data.datasets 'jde', list_file); name a list file inside the dataset")
    assert "root:x" not in str(error.value)


def test_jde_listed_image_linking_out_of_the_dataset_is_refused_before_copying(tmp_path):
    from fairmot.data.formats.jde import prepare_jde

    root = jde_folder(tmp_path / "jde")
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    image = root / JDE_LIST[1]
    image.unlink()
    image.symlink_to(tmp_path / "passwd")
    spec = DatasetParams(name="jde", kind="jde", path=str(root), list_file="mot17.train")
    with pytest.raises(DataError) as error:
        prepare_jde(root, tmp_path / "target", spec)
    assert str(error.value) == (f"{image}: a symbolic link to {(tmp_path / 'passwd').resolve()}, outside {root} "
                                f"(line 2 of {root / 'mot17.train'}); copy the file into the dataset instead")
    assert not (tmp_path / "target").exists()

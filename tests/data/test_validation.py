"""The validate stage: great-expectations suites pass on good data and name what is wrong in bad data.

great_expectations takes seconds to import and run, so the suites run twice in this module: once
on the shared tiny dataset, once on a corrupted copy; the tests read those two runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fairmot.data.formats.mot import read_gt
from fairmot.data.validation import _decodes, _image_size, _parse_label, build_tables
from fairmot.errors import DataError

REPO = Path(__file__).resolve().parents[2]
N_EXPECTATIONS = 8 + 12 + 2 + 4 + 2  # gt, labels, label_counts, images, classes


def run_validate(dataset: Path, labels: Path, splits: Path, out: Path):
    import stages.validate  # noqa: F401  (registers the command)
    from stages.app import app

    result = CliRunner().invoke(app, [
        "validate", "--params", str(REPO / "params.yaml"), "--dataset", str(dataset), "--labels", str(labels),
        "--splits", str(splits), "--docs", str(out / "validation"), "--metrics", str(out / "validation.json")])
    return result, json.loads((out / "validation.json").read_text())


@pytest.fixture(scope="module")
def good_run(tiny_dataset, tiny_labels, tmp_path_factory):
    out = tmp_path_factory.mktemp("good_validation")
    result, summary = run_validate(tiny_dataset, *tiny_labels, out)
    return result, summary, out


@pytest.fixture(scope="module")
def bad_run(tiny_dataset, tiny_labels, tmp_path_factory):
    """A copy with one out-of-range label id, one gt row of negative width and a truncated JPEG."""
    base = tmp_path_factory.mktemp("bad_validation")
    dataset, labels, splits = base / "dataset", base / "labels", base / "splits"
    shutil.copytree(tiny_dataset, dataset)
    shutil.copytree(tiny_labels[0], labels)
    shutil.copytree(tiny_labels[1], splits)
    n_id = json.loads((splits / "manifest.json").read_text())["nID"]
    label_file = labels / "train" / "SYN-02" / "img1" / "000005.txt"
    lines = label_file.read_text().splitlines()
    lines[0] = " ".join(["0", str(n_id + 10)] + lines[0].split()[2:])
    label_file.write_text("\n".join(lines) + "\n")
    gt_file = dataset / "images" / "train" / "SYN-01" / "gt" / "gt.txt"
    rows = gt_file.read_text().splitlines()
    first = rows[0].split(",")
    first[4] = "-4"
    rows[0] = ",".join(first)
    gt_file.write_text("\n".join(rows) + "\n")
    image = dataset / "images" / "test" / "SYN-03" / "img1" / "000007.jpg"
    image.write_bytes(image.read_bytes()[:2000])
    result, summary = run_validate(dataset, labels, splits, base)
    return result, summary, first


def test_good_dataset_passes_and_the_summary_counts_everything(good_run, tiny_dataset, tiny_labels):
    result, summary, _ = good_run
    assert result.exit_code == 0, result.output
    manifest = json.loads((tiny_labels[1] / "manifest.json").read_text())
    gt_rows = sum(len(read_gt(p)) for p in tiny_dataset.glob("images/*/*/gt/gt.txt"))
    assert summary == {
        "success": True, "expectations": N_EXPECTATIONS, "failed": 0, "sequences": 3, "images": 3 * 24,
        "gt_rows": gt_rows, "label_rows": sum(s["boxes"] for s in manifest["sequences"].values()),
        "nID": manifest["nID"],
        "classes": {"pedestrian": {"train_boxes": sum(s["boxes"] for s in manifest["sequences"].values() if s["split"] == "train"),
                                   "identities": sum(s["identities"] for s in manifest["sequences"].values() if s["split"] == "train")}},
    }


def test_good_data_includes_what_mot17_has_so_the_pass_means_it_is_accepted(tiny_dataset):
    gt = np.concatenate([read_gt(p) for p in tiny_dataset.glob("images/*/*/gt/gt.txt")])
    assert ((gt[:, 2] < 0) | (gt[:, 2] + gt[:, 4] > 320) | (gt[:, 3] + gt[:, 5] > 192)).any()  # past the edge
    assert (gt[:, 6] == 0).any() and set(gt[gt[:, 6] == 0, 7]) - {1}  # zero-marked ignore classes
    assert (gt[:, 8] < 1).any()


def test_data_docs_and_detailed_results_are_written(good_run):
    _, _, out = good_run
    docs = out / "validation"
    assert (docs / "index.html").is_file()
    assert sorted(p.name for p in (docs / "expectations").iterdir()) == ["classes.html",
        "gt.html", "images.html", "label_counts.html", "labels.html"]
    assert len(list((docs / "validations").rglob("*.html"))) == 5
    details = json.loads((docs / "results.json").read_text())
    assert len(details["expectations"]) == N_EXPECTATIONS and details["failures"] == []
    assert all(e["success"] for e in details["expectations"])


def test_bad_label_gt_row_and_image_fail_naming_expectation_and_rows(bad_run):
    result, summary, first_gt_row = bad_run
    assert result.exit_code == 1
    assert summary["success"] is False and summary["failed"] == 3 and summary["expectations"] == N_EXPECTATIONS
    out = result.output
    frame, tid = int(first_gt_row[0]), int(first_gt_row[1])
    assert "gt: expect_column_values_to_be_between(column=w, min_value=0" in out
    assert f"(w=-4.0, sequence=SYN-01, frame={frame}, id={tid})" in out
    assert "labels: expect_column_values_to_be_between(column=id, min_value=1" in out
    assert "file=train/SYN-02/img1/000005.txt" in out
    assert "images: expect_column_values_to_be_in_set(column=readable" in out
    assert "file=images/test/SYN-03/img1/000007.jpg" in out
    assert "3 of 28 expectations failed" in out


def test_jpeg_size_is_read_from_the_header_and_truncation_is_caught(tiny_dataset, tmp_path):
    image = tiny_dataset / "images" / "train" / "SYN-01" / "img1" / "000001.jpg"
    assert _image_size(image) == (320, 192)
    assert _decodes(image)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(image.read_bytes()[:-100])
    assert not _decodes(cut)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert _image_size(junk) is None


def test_unreadable_label_values_become_nan_for_the_not_null_expectations():
    assert _parse_label("0 3 0.5 0.25 0.1 0.2") == [0.0, 3.0, 0.5, 0.25, 0.1, 0.2]
    parsed = _parse_label("0 x 0.5")
    assert parsed[:1] == [0.0] and all(np.isnan(parsed[1:2] + parsed[3:]))
    assert np.isnan(_parse_label("0 1 0.5 0.5 0.1 0.1 7")[0])


def test_labels_made_for_other_sequences_are_reported(tiny_dataset, tiny_labels):
    manifest = json.loads((tiny_labels[1] / "manifest.json").read_text())
    manifest["sequences"] = {"SYN-01": manifest["sequences"]["SYN-01"]}
    with pytest.raises(DataError, match="run `fairmot labels` again"):
        build_tables(tiny_dataset, tiny_labels[0], manifest)


def test_data_docs_of_identical_inputs_are_byte_identical(good_run, tiny_dataset, tiny_labels, tmp_path):
    _, _, first = good_run
    result, _ = run_validate(tiny_dataset, *tiny_labels, tmp_path)
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    again = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == again and len(files) > 30
    differing = [str(f) for f in files if (first / f).read_bytes() != (tmp_path / f).read_bytes()]
    assert differing == []
    run_dirs = {p.name for p in (first / "validation" / "validations" / "gt").iterdir()}
    assert len(run_dirs) == 1 and run_dirs.pop().startswith("inputs-")  # named after the data, not the clock


def test_malformed_gt_line_is_recorded_in_the_report_then_fails(tiny_dataset, tiny_labels, tmp_path):
    dataset = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, dataset)
    gt_file = dataset / "images" / "train" / "SYN-02" / "gt" / "gt.txt"
    rows = gt_file.read_text().splitlines()
    rows[2] = rows[2].replace(",", ";", 3)
    gt_file.write_text("\n".join(rows) + "\n")
    result, summary = run_validate(dataset, *tiny_labels, tmp_path)
    assert result.exit_code == 1
    assert summary["success"] is False
    assert summary["file"] == str(gt_file) and summary["line"] == 3
    assert summary["error"].startswith(f"{gt_file}:3: expected at least 9 comma-separated values, got 6")
    assert f"{gt_file}:3:" in result.output


@pytest.mark.slow
def test_forced_dvc_repro_of_validate_leaves_dvc_lock_untouched(tiny_dataset, tiny_labels, tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(REPO / "params.yaml", work / "params.yaml")
    shutil.copytree(tiny_dataset, work / "dataset")
    shutil.copytree(tiny_labels[0], work / "labels")
    shutil.copytree(tiny_labels[1], work / "splits")
    stage = {
        "cmd": f"{sys.executable} -m stages validate --dataset dataset --labels labels --splits splits "
               "--docs reports/validation --metrics reports/validation.json",
        "deps": ["dataset", "labels", "splits"],
        "outs": ["reports/validation"],
        "metrics": [{"reports/validation.json": {"cache": False}}],
    }
    (work / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"validate": stage}}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    dvc = [sys.executable, "-m", "dvc"]

    def run(*args):
        done = subprocess.run([*dvc, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    run("init", "--no-scm", "-q")
    run("repro", "-q")
    first = (work / "dvc.lock").read_text()
    run("repro", "-f", "-q")
    assert (work / "dvc.lock").read_text() == first
    assert "reports/validation" in first

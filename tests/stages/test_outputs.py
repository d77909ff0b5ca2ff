"""Nothing a user owns is ever lost: --out, --results and --reports refuse what this tool did not write.

Every refusal is one line, exit code 1, and comes before any long work; a folder or file the tool
wrote itself is replaced on the next run as before.
"""

import os
from pathlib import Path

import cv2
import pytest
import yaml
from typer.testing import CliRunner

from fairmot import io
from stages.app import app
from tests.inference.clips import write_clip


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\section{mine}\n")
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return folder


def refused(done, line: str) -> None:
    assert done.exit_code == 1, done.output
    assert done.output.strip() == f"error: {line}"


def test_evaluate_without_gt_refuses_a_user_results_folder_and_leaves_it_untouched(params_file, tmp_path):
    """The README's `evaluate --results my_tracker/` with --gt forgotten used to delete README.md."""
    mine = tmp_path / "my_tracker"
    mine.mkdir()
    (mine / "README.md").write_text("# my tracker\n")
    (mine / "MOT17-02.txt").write_text("1,1,10,10,5,5,1,-1,-1,-1\n")
    before = tree(mine)
    done = invoke("evaluate", "--params", params_file, "--results", mine, "--reports", tmp_path / "reports",
                  "--dataset", tmp_path / "no-dataset")
    refused(done, f"{mine}: holds files this tool did not write (MOT17-02.txt, README.md); choose an empty or "
                  "new folder for --results (or pass --gt DIR to score the files in it)")
    assert tree(mine) == before and sorted(p.name for p in tmp_path.iterdir()) == ["my_tracker", "params.yaml"]


def test_evaluate_with_gt_never_writes_results_nor_a_users_metrics(tiny_dataset, params_file, tmp_path):
    mine = tmp_path / "my_tracker"
    mine.mkdir()
    (mine / "metrics.json").write_text('{"mine": true}\n')
    done = invoke("evaluate", "--params", params_file, "--results", mine, "--gt", tiny_dataset, "--reports", mine)
    refused(done, f"{mine / 'metrics.json'}: exists and was not written by this tool; choose another --reports "
                  "or pass --overwrite")
    assert tree(mine) == {"metrics.json": b'{"mine": true}\n'}


def test_detect_refuses_a_user_folder_before_the_network_pass(tiny_dataset, params_file, user_folder, tmp_path):
    before = tree(user_folder)
    done = invoke("detect", "--params", params_file, "--model", tmp_path / "absent.pt", "--dataset", tiny_dataset,
                  "--out", user_folder, "--reports", tmp_path / "reports", "--device", "cpu")
    refused(done, f"{user_folder}: holds files this tool did not write (sub/, thesis.tex); "
                  "choose an empty or new folder for --out")
    assert tree(user_folder) == before and not (tmp_path / "reports").exists()


def test_detect_refuses_an_existing_file_as_out_and_does_not_hide_it(tiny_dataset, params_file, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    done = invoke("detect", "--params", params_file, "--model", tmp_path / "absent.pt", "--dataset", tiny_dataset,
                  "--out", afile, "--reports", tmp_path / "reports", "--device", "cpu")
    refused(done, f"{afile}: is a file, not a folder; choose a new folder for --out")
    assert afile.read_text() == "mine\n" and not (tmp_path / ".afile.old").exists()


def test_detect_replaces_its_own_folder_on_rerun(tiny_dataset, checkpoint, params_file, tmp_path):
    """The `dvc repro` path: the folder is absent (DVC removed it) or one this tool wrote."""
    out, reports = tmp_path / "detections", tmp_path / "reports"
    for _ in range(2):
        done = invoke("detect", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
                      "--out", out, "--reports", reports, "--device", "cpu")
        assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [io.MARKER, "SYN-03.npz"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary, no lock


@pytest.fixture
def download_params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"synthetic": {"train_sequences": 1, "val_sequences": 1, "frames": 3}}))
    return path


def test_download_refuses_a_user_folder_and_replaces_its_own(download_params, user_folder, tmp_path):
    before = tree(user_folder)
    refused(invoke("download", "--params", download_params, "--out", user_folder),
            f"{user_folder}: holds files this tool did not write (sub/, thesis.tex); "
            "choose an empty or new folder for --out")
    assert tree(user_folder) == before
    out = tmp_path / "dataset"
    for _ in range(2):
        done = invoke("download", "--params", download_params, "--out", out)
        assert done.exit_code == 0, done.output
    assert (out / io.MARKER).read_text() == io.MARKER_TEXT


@pytest.mark.parametrize("where", [".", ".."])
def test_the_current_folder_and_its_parent_are_refused_before_any_work(download_params, tmp_path, monkeypatch,
                                                                        where):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine\n")
    monkeypatch.chdir(work)
    refused(invoke("download", "--params", download_params, "--out", where),
            f"{where}: is the current folder or one above it; choose a new folder for --out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "work"]
    assert [p.name for p in work.iterdir()] == ["notes.txt"]


def test_track_refuses_a_users_files_of_the_same_name_unless_overwrite(checkpoint, params_file, tmp_path):
    """`track clip.avi --out <its folder>` used to replace the user's own clip.mp4 and clip.txt."""
    source = tmp_path / "clip.avi"
    write_clip(source, frames=3, fourcc="MJPG")
    (tmp_path / "clip.mp4").write_bytes(b"the user's own video")
    (tmp_path / "clip.txt").write_text("the user's notes\n")
    args = ("track", source, "--out", tmp_path, "--model", checkpoint, "--params", params_file)
    refused(invoke(*args), f"{tmp_path / 'clip.txt'}: exists and was not written by this tool; choose another --out "
                           "or pass --overwrite")
    assert (tmp_path / "clip.mp4").read_bytes() == b"the user's own video"
    assert (tmp_path / "clip.txt").read_text() == "the user's notes\n"
    done = invoke(*args, "--overwrite")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "clip.txt").read_text().startswith("1,") and cv2.VideoCapture(str(tmp_path / "clip.mp4")).read()[0]
    done = invoke(*args)  # now this tool's own files: replaced without --overwrite
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [io.MANIFEST, "clip.avi", "clip.mp4", "clip.txt",
                                                          "params.yaml"]


def test_track_into_an_unwritable_place_is_refused_before_any_frame(params_file, tmp_path, monkeypatch):
    source = tmp_path / "clip.avi"
    write_clip(source, frames=3, fourcc="MJPG")
    absent_model = tmp_path / "absent.pt"  # never loaded: the refusal comes first
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    refused(invoke("track", source, "--out", blocker / "out", "--no-video", "--model", absent_model,
                   "--params", params_file),
            f"{blocker / 'out' / 'clip.txt'}: {blocker} is a file, so it cannot be created; choose another --out")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access  # root ignores mode bits, so a read-only folder is simulated
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: real_access(p, mode, **kw)
                        and not (Path(p) == read_only and mode & os.W_OK))
    refused(invoke("track", source, "--out", read_only, "--no-video", "--model", absent_model, "--params", params_file),
            f"{read_only / 'clip.txt'} (in {read_only}): not writable; choose another --out")
    assert list(read_only.iterdir()) == []

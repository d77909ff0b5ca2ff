"""fairmot.io.appending: a file written as it goes lives as `<name>.partial` until closed cleanly."""

import json

import pytest

from fairmot.errors import OutputError
from fairmot.io import MANIFEST, OURS, OVERWRITE, appending_file, partial_path


def _manifest(folder):
    return json.loads((folder / MANIFEST).read_text())["files"]


def test_lines_are_in_the_partial_at_once_and_the_target_only_after_a_clean_close(tmp_path):
    target = tmp_path / "clip.txt"
    with appending_file(target, replace=OURS) as out:
        out.write("1,1\n")
        assert partial_path(target).read_text() == "1,1\n" and not target.exists()
        assert _manifest(tmp_path) == {"clip.txt.partial": {"partial": True}}
        out.write("2,1\n")
    assert target.read_text() == "1,1\n2,1\n" and not partial_path(target).exists()
    assert list(_manifest(tmp_path)) == ["clip.txt"]  # what atomic_file would have recorded, nothing else


def test_a_failed_run_keeps_its_rows_in_the_partial_and_the_next_run_replaces_it(tmp_path):
    target = tmp_path / "clip.txt"
    with pytest.raises(RuntimeError), appending_file(target, replace=OURS) as out:
        out.write("1,1\n")
        raise RuntimeError("killed")
    assert partial_path(target).read_text() == "1,1\n" and not target.exists()
    with appending_file(target, replace=OURS) as out:
        out.write("9,9\n")
    assert target.read_text() == "9,9\n" and not partial_path(target).exists()


def test_a_failure_before_any_row_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), appending_file(tmp_path / "clip.txt", replace=OURS):
        raise RuntimeError("no frame")
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]


def test_a_partial_this_tool_did_not_write_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "clip.txt"
    partial_path(target).write_text("mine\n")
    refused = r"clip.txt.partial: exists and was not written by this tool; .* --overwrite"
    with pytest.raises(OutputError, match=refused), appending_file(target, replace=OURS):
        pass
    assert partial_path(target).read_text() == "mine\n"
    with appending_file(target, replace=OVERWRITE) as out:
        out.write("1,1\n")
    assert target.read_text() == "1,1\n"


def test_a_second_writer_of_the_same_target_is_refused_while_the_first_runs(tmp_path):
    target = tmp_path / "clip.txt"
    with appending_file(target, replace=OURS) as out:
        out.write("1,1\n")
        with pytest.raises(OutputError, match="another run is writing it now"), appending_file(target, replace=OURS):
            pass
        out.write("2,1\n")
    assert target.read_text() == "1,1\n2,1\n"

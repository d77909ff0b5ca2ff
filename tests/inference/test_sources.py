"""Frames are numbered by where they are: a folder's natural order, a video's timestamps; what cannot
be read is skipped with its number left free, counted and named in one warning."""

import cv2
import numpy as np
import pytest

from fairmot.inference.sources import image_files, natural_key, number_ranges, open_source
from tests.inference.clips import FRAMES, damage_avi, gray, index_of, write_avi


def test_names_sort_by_their_numbers():
    names = ["frame_10.jpg", "frame_2.jpg", "10.jpg", "1.jpg", "2.jpg", "01.jpg", "Frame_3.jpg"]
    assert sorted(names, key=natural_key) == ["01.jpg", "1.jpg", "2.jpg", "10.jpg", "frame_2.jpg", "Frame_3.jpg",
                                              "frame_10.jpg"]
    assert number_ranges([3, 7, 8, 9, 12]) == "3, 7-9, 12"
    assert number_ranges(list(range(1, 20, 2)), most=3) == "1, 3, 5, ..."


def test_a_folder_of_numbered_frames_is_read_in_numeric_order(tmp_path):
    for n in range(1, 13):
        cv2.imwrite(str(tmp_path / f"{n}.png"), np.full((24, 32, 3), gray(n), np.uint8))
    assert [p.name for p in image_files(tmp_path)] == [f"{n}.png" for n in range(1, 13)]
    frames = list(open_source(tmp_path))
    assert [(f.number, index_of(f.image)) for f in frames] == [(n, n) for n in range(1, 13)]


def test_an_unreadable_image_is_skipped_with_its_number_kept_free(tmp_path):
    for n in range(1, 6):
        cv2.imwrite(str(tmp_path / f"{n}.png"), np.full((24, 32, 3), gray(n), np.uint8))
    (tmp_path / "3.png").write_bytes(b"not a png")
    source = open_source(tmp_path)
    assert [(f.number, index_of(f.image)) for f in source] == [(1, 1), (2, 2), (4, 4), (5, 5)]
    assert source.unreadable == [3]
    assert source.warning() == f"{tmp_path}: 1 frame could not be read and has no result rows (frame 3); the first is 3.png"


def test_frames_after_a_damaged_stretch_of_a_video_keep_their_numbers(tmp_path):
    clean = write_avi(tmp_path / "clean.avi")
    assert [(f.number, index_of(f.image) + 1) for f in open_source(clean)] == [(n, n) for n in range(1, FRAMES + 1)]
    source = open_source(damage_avi(clean, tmp_path / "damaged.avi", range(16, 21)))
    read = [(f.number, index_of(f.image) + 1) for f in source]
    assert [number for number, _ in read] == [*range(1, 16), *range(21, FRAMES + 1)]
    assert all(number == content for number, content in read)  # each frame carries its true number
    assert source.unreadable == [16, 17, 18, 19, 20]
    assert source.warning() == f"{tmp_path / 'damaged.avi'}: 5 frames could not be read and have no result rows (frame 16-20)"


def test_a_video_whose_last_frames_are_damaged_says_where_it_ends(tmp_path):
    source = open_source(damage_avi(write_avi(tmp_path / "clean.avi"), tmp_path / "damaged.avi", range(38, 41)))
    assert [f.number for f in source] == list(range(1, 38))
    assert source.unreadable == [38, 39, 40]
    assert source.warning().endswith("(frame 38-40); the video ends at frame 37 of the 40 its container lists "
                                     "(frames lost mid-way without a decoding error would leave later numbers too low)")


def test_chunks_the_demuxer_skips_silently_are_counted_at_the_end(tmp_path):
    """Whole AVI chunks of frames 16-20 zeroed: the demuxer resyncs without an error and counts its
    timestamps on, so OpenCV cannot tell where; the shortfall is still counted and the caveat given."""
    clean = write_avi(tmp_path / "clean.avi")
    data = bytearray(clean.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xd8"]
    data[starts[15] - 8:starts[20] - 8] = bytes(starts[20] - starts[15])
    (tmp_path / "cut.avi").write_bytes(bytes(data))
    source = open_source(tmp_path / "cut.avi")
    assert [(f.number, index_of(f.image) + 1) for f in source][14:16] == [(15, 15), (16, 21)]  # shifted: a limit
    assert source.unreadable == [36, 37, 38, 39, 40]
    assert "5 frames could not be read" in source.warning() and "leave later numbers too low" in source.warning()


def test_a_video_read_whole_has_no_warning(tmp_path):
    source = open_source(write_avi(tmp_path / "clean.avi", frames=5))
    assert [f.number for f in source] == [1, 2, 3, 4, 5]
    assert source.unreadable == [] and source.warning() is None and source.frame_rate == 10


@pytest.mark.parametrize("bad", ["missing.avi"])
def test_a_missing_source_is_one_line(tmp_path, bad):
    from fairmot.errors import DataError

    with pytest.raises(DataError, match="no such video file or image folder"):
        open_source(tmp_path / bad)


def test_a_decoding_error_then_a_silent_skip_says_from_where_numbers_may_be_low(tmp_path):
    damaged = damage_avi(write_avi(tmp_path / "clean.avi"), tmp_path / "damaged.avi", range(16, 17))
    data = bytearray(damaged.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xd8"]
    data[starts[16] - 8:starts[20] - 8] = bytes(starts[20] - starts[16])  # chunks of frames 17-20
    damaged.write_bytes(bytes(data))
    source = open_source(damaged)
    assert [(f.number, index_of(f.image) + 1) for f in source][14:16] == [(15, 15), (17, 21)]
    assert source.unreadable == [16, 37, 38, 39, 40]
    assert source.warning() == (f"{damaged}: 5 frames could not be read and have no result rows (frame 16, 37-40); the "
                                "video ends at frame 36 of the 40 its container lists, so the numbers after frame 15 "
                                "may be up to 4 too low")

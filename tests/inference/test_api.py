"""The Python API: `from fairmot import Tracker`; streams tracked side by side keep their own identities."""

import subprocess
import sys
from itertools import zip_longest
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from tests.inference.clips import write_clip
from tests.stages.conftest import checkpoint  # noqa: F401 - the tiny checkpoint fixture

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tracker(checkpoint, tmp_path):  # noqa: F811
    from fairmot import Tracker

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"gpus": -1, "track": {"conf_thres": 0.3, "K": 6}}))
    return Tracker.from_checkpoint(checkpoint, params)


def _folder(path: Path, frames: int) -> Path:
    path.mkdir()
    for f in range(frames):
        img = np.full((96, 160, 3), 60, np.uint8)
        cv2.circle(img, (140 - 6 * f, 50), 12, (0, 200, 0), -1)
        cv2.imwrite(str(path / f"{f + 1}.png"), img)
    return path


def _summary(results):
    return [(r.frame, [(t.id, np.round(t.box, 4).tolist(), round(t.score, 4)) for t in r.tracks]) for r in results]


def test_import_fairmot_stays_light_and_tracker_comes_on_first_use():
    code = "import sys, fairmot; light = 'torch' not in sys.modules; from fairmot import Tracker; print(light, Tracker.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["True", "fairmot.inference.api"]


def test_a_stream_yields_frame_timestamp_and_tracks(tracker, tmp_path):
    results = list(tracker.stream(write_clip(tmp_path / "a.mp4", frames=5)))
    assert [r.frame for r in results] == [1, 2, 3, 4, 5]
    assert [r.timestamp for r in results] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4], abs=1e-6)  # the clip's 10 fps
    first = results[0].tracks[0]
    assert first.id == 1 and len(first.box) == 4 and isinstance(first.score, float)
    assert results[0].image.shape == (96, 160, 3) and all(r.latency > 0 for r in results)


def test_two_streams_iterated_in_turn_keep_separate_tracker_states(tracker, tmp_path):
    a, b = write_clip(tmp_path / "a.mp4", frames=6), _folder(tmp_path / "b", 8)
    alone_a, alone_b = _summary(tracker.stream(a)), _summary(tracker.stream(b))
    together_a, together_b = [], []
    for ra, rb in zip_longest(tracker.stream(a), tracker.stream(b)):
        together_a += [ra] if ra is not None else []
        together_b += [rb] if rb is not None else []
    assert _summary(together_a) == alone_a and _summary(together_b) == alone_b
    assert min(t[0] for _, tracks in alone_b for t in tracks) == 1  # b's ids start at 1, not after a's
    assert len(alone_a) == 6 and len(alone_b) == 8

"""The street preset: pedestrians, cyclists and cars, each class its own shapes, speeds, looks and ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fairmot.data.formats.mot import read_gt
from fairmot.data.synthetic import Figure, Scene, _draw_figure, _random_look, generate_synthetic
from fairmot.data.synthetic.figures import CarLook
from fairmot.data.synthetic.street import Traffic

PEDESTRIAN, CAR, CYCLIST = 1, 3, 4
STREET = dict(seed=0, train_sequences=1, val_sequences=1, frames=60, width=320, height=192, frame_rate=30,
              density=8.0, ignore_fraction=0.03, preset="street")


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> dict[str, np.ndarray]:
    root = tmp_path_factory.mktemp("street") / "dataset"
    generate_synthetic(root, **STREET)
    return {p.parents[1].name: read_gt(p) for p in sorted(root.glob("images/*/*/gt/gt.txt"))}


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_street_has_the_three_classes_each_with_its_own_box_shape(street):
    for name, gt in street.items():
        marked = gt[gt[:, 6] == 1]
        assert set(marked[:, 7].astype(int)) == {PEDESTRIAN, CAR, CYCLIST}, name
        aspect = marked[:, 4] / marked[:, 5]
        cls = marked[:, 7]
        assert (aspect[cls == CAR] > 1.55).all() and (aspect[cls == CAR] < 2.45).all()  # wider than tall
        assert (1 / aspect[cls == PEDESTRIAN] > 2.2).all()  # as in the default set: w/h 0.36-0.44
        assert (aspect[cls == CYCLIST] > 0.7).all() and (aspect[cls == CYCLIST] < 0.9).all()  # between the two
        assert marked[:, 5].min() >= 30  # every box large enough for a stride-4 heatmap at 320x192


def test_street_has_about_8_pedestrians_3_cyclists_and_3_cars_in_view(street):
    for name, gt in street.items():
        marked = gt[gt[:, 6] == 1]
        for cls, low, high in ((PEDESTRIAN, 5.0, 11.0), (CYCLIST, 1.8, 5.0), (CAR, 1.8, 5.0)):
            per_frame = np.bincount(marked[marked[:, 7] == cls, 0].astype(int), minlength=61)[1:]
            assert low <= per_frame.mean() <= high, (name, cls, per_frame.mean())


def test_ids_are_unique_in_the_sequence_and_never_shared_between_classes(street):
    for name, gt in street.items():
        assert len({(f, t) for f, t in gt[:, :2]}) == len(gt), name
        for tid in np.unique(gt[:, 1]):
            assert len(np.unique(gt[gt[:, 1] == tid, 7])) == 1, (name, tid)
        marked = gt[gt[:, 6] == 1]
        for cls in (PEDESTRIAN, CAR, CYCLIST):
            assert len(np.unique(marked[marked[:, 7] == cls, 1])) >= 2, (name, cls)


def _speeds(gt: np.ndarray, cls: int) -> tuple[float, float]:
    """(median |dx| of the box centre, max |d bottom|) between consecutive frames of each track of `cls`."""
    dx, dbottom = [], []
    rows = gt[(gt[:, 6] == 1) & (gt[:, 7] == cls)]
    for tid in np.unique(rows[:, 1]):
        track = rows[rows[:, 1] == tid]
        dx += list(np.abs(np.diff(track[:, 2] + track[:, 4] / 2)))
        dbottom += list(np.abs(np.diff(track[:, 3] + track[:, 5])))
    return float(np.median(dx)), float(max(dbottom))


def test_cars_drive_fastest_along_their_lane_and_cyclists_outpace_walkers(street):
    gt = street["SYN-01"]
    (car, car_dy), (cyclist, cyclist_dy), (walker, _) = (_speeds(gt, c) for c in (CAR, CYCLIST, PEDESTRIAN))
    assert car > 4 and 2 < cyclist < car and walker < 0.6 * cyclist
    assert car_dy == 0 and cyclist_dy == 0  # a lane is a row of the image: horizontal motion only


def test_every_class_is_sometimes_hidden_and_no_vehicle_is_hidden_for_its_whole_track(street):
    for name, gt in street.items():
        marked = gt[gt[:, 6] == 1]
        for cls in (PEDESTRIAN, CAR, CYCLIST):
            rows = marked[marked[:, 7] == cls]
            inside = (rows[:, 2] >= 0) & (rows[:, 2] + rows[:, 4] <= 320) & (rows[:, 3] + rows[:, 5] <= 192)
            assert (rows[inside, 8] < 0.9).any(), (name, cls)  # occlusion by a nearer object
            assert (rows[:, 8] < 0.5).mean() < 0.35, (name, cls)  # but not overwhelming
            if cls != PEDESTRIAN:  # (a track cut by the sequence's end may only have entered the image)
                for tid in np.unique(rows[:, 1]):
                    track = rows[rows[:, 1] == tid]
                    assert len(track) < 15 or track[:, 8].max() >= 0.5, (name, tid)


def test_street_ignore_rows_are_zero_marked_and_never_a_rider_that_looks_like_a_cyclist(street):
    for name, gt in street.items():
        ignored = gt[gt[:, 6] == 0]
        assert 8 <= len(ignored) <= round(0.03 * 8.0 * 60), name  # the budget: ignore_fraction * density * frames
        assert set(ignored[:, 7].astype(int)) <= {7, 8, 12}, name


def test_street_is_deterministic_and_the_seed_matters(tmp_path):
    small = {**STREET, "val_sequences": 0, "frames": 12}
    generate_synthetic(tmp_path / "a", **small)
    generate_synthetic(tmp_path / "b", **small)
    generate_synthetic(tmp_path / "c", **{**small, "seed": 1})
    a, b, c = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    assert len(a) == 14 and a == b
    assert a["images/train/SYN-01/gt/gt.txt"] != c["images/train/SYN-01/gt/gt.txt"]


def test_street_camera_is_static_by_default_and_pans_like_the_others(tmp_path):
    small = {**STREET, "val_sequences": 0, "frames": 6}
    generate_synthetic(tmp_path / "preset", **small)
    generate_synthetic(tmp_path / "static", camera="static", **small)
    generate_synthetic(tmp_path / "pan", camera="pan", **small)
    assert digests(tmp_path / "preset") == digests(tmp_path / "static")
    still, panned = (read_gt(tmp_path / m / "images/train/SYN-01/gt/gt.txt") for m in ("static", "pan"))
    for cls in (PEDESTRIAN, CAR, CYCLIST):
        ratio = np.median(panned[panned[:, 7] == cls, 5]) / np.median(still[still[:, 7] == cls, 5])
        assert 1.15 < ratio < 1.35, cls  # the pan's zoom of 1.19-1.31


@pytest.mark.parametrize("kind,shape,aspect", [("car", "sedan", 2.3), ("car", "hatch", 1.9), ("car", "van", 1.7),
                                               ("cyclist", None, 0.72), ("cyclist", None, 0.86)])
@pytest.mark.parametrize("h", [33, 47, 70])
@pytest.mark.parametrize("direction", [1, -1])
def test_drawn_vehicle_fills_its_box_exactly(kind, shape, aspect, h, direction):
    look = (CarLook((40, 40, 200), (60, 50, 40), (220, 220, 220), shape, True) if kind == "car"
            else _random_look(np.random.default_rng(0), 0.3))
    fig = Figure(kind=kind, cls=CAR, mark=1, look=look, x=0, foot=0, speed=0.1 * direction, vy=0, drift=0, stature=1,
                 aspect=aspect)
    box = (50, 40, int(round(aspect * h)), h)
    image = np.zeros((192, 320, 3), np.uint8)
    owner = np.zeros((192, 320), np.int16)
    _draw_figure(image, owner, 1, box, fig)
    ys, xs = np.nonzero(owner)
    assert (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == box
    assert owner.sum() / (box[2] * box[3]) > (0.6 if kind == "car" else 0.35)


def test_each_vehicle_has_its_own_look():
    traffic = Traffic(np.random.default_rng(0), Scene(320, 192))
    cars = [traffic._car_look() for _ in range(12)]
    riders = [traffic._rider_look() for _ in range(12)]
    assert len({c.body for c in cars}) == 12 and {c.shape for c in cars} == {"sedan", "hatch", "van"}
    assert len({(r.shirt, r.frame) for r in riders}) == 12

"""The annotated frames with several classes: coloured by class (a hue per class, a shade per id) and
labelled "<class> <id>"; with one class exactly today's drawing (a hue per id, the id alone)."""

from __future__ import annotations

import cv2
import numpy as np

from fairmot.inference.draw import class_color, draw_tracks, id_color
from fairmot.inference.video import AnnotatedVideo

BOXES = np.array([[10.0, 20, 50, 80], [100, 50, 40, 100]])
IDS = np.array([3, 17])


def background() -> np.ndarray:
    return np.full((200, 300, 3), 40, np.uint8)


def edge(canvas: np.ndarray, k: int) -> tuple[int, ...]:
    """The colour of box k's left edge, half-way down."""
    x, y, _, h = BOXES[k].astype(int)
    return tuple(int(v) for v in canvas[y + h // 2, x])


def test_one_class_draws_as_before_colour_per_id():
    plain = draw_tracks(background(), BOXES, IDS, caption="frame 1")
    named = draw_tracks(background(), BOXES, IDS, caption="frame 1", classes=[0, 0], names=("pedestrian",))
    assert np.array_equal(plain, named)
    assert edge(plain, 0) == id_color(3) == (240, 35, 255) and edge(plain, 1) == id_color(17) == (255, 255, 35)


def test_several_classes_colour_by_class_and_label_with_the_class_name():
    canvas = draw_tracks(background(), BOXES, IDS, classes=[0, 1], names=("pedestrian", "car"))
    assert edge(canvas, 0) == class_color(0, 3) and edge(canvas, 1) == class_color(1, 17)
    hue = [cv2.cvtColor(np.uint8([[class_color(c, t)]]), cv2.COLOR_BGR2HSV)[0, 0, 0] for c in range(3) for t in range(6)]
    assert [set(hue[6 * c:6 * c + 6]) for c in range(3)] == [{0}, {120}, {60}]  # one hue per class, whatever the id
    assert len({class_color(0, t) for t in range(6)}) == 6  # ids of one class in different shades
    # the label "pedestrian 3" reaches far beyond the id alone ("3") to the right of the box's corner
    plain = draw_tracks(background(), BOXES, IDS, classes=[0, 1], names=("pedestrian",))
    right_of_id = (slice(0, 20), slice(30, 95))
    assert (canvas[right_of_id] != 40).any() and not (plain[right_of_id] != 40).any()


def test_the_video_draws_the_classes(tmp_path):
    with AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video.write(background(), BOXES, IDS, classes=np.array([0, 1]), names=("pedestrian", "car"))
        video.write(background(), BOXES, IDS)
    assert video.frames == 2 and (tmp_path / "v.mp4").stat().st_size > 0

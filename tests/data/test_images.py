"""read_bgr gives cv2.imread(path, IMREAD_COLOR)'s pixels exactly, JPEGs through simplejpeg where that is
exact and through OpenCV where OpenCV would do something else (EXIF rotation, CMYK, damaged data)."""

from __future__ import annotations

import importlib
import sys

import cv2
import numpy as np
import pytest

from fairmot.data import images
from fairmot.data.dataset import JointDataset
from fairmot.errors import DataError
from fairmot.inference.sources import read_image
from tests.data.test_dataset import write_dataset

SAMPLING = {
    "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "411": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
}


def _texture(h: int = 61, w: int = 93) -> np.ndarray:
    """Smooth colour plus noise at an odd size (partial blocks), so chroma upsampling and IDCT rounding show."""
    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.add(base, rng.integers(0, 40, (h, w, 3), dtype=np.uint8))


def _opencv_reads(monkeypatch) -> list[str]:
    """Record the paths read_bgr hands to cv2.imread (from here on)."""
    calls: list[str] = []
    imread = cv2.imread

    def spy(path, flags=cv2.IMREAD_COLOR):
        calls.append(path)
        return imread(path, flags)

    monkeypatch.setattr(images.cv2, "imread", spy)
    return calls


def _exif_jpeg(jpeg: bytes, orientation: int, order: str = "II") -> bytes:
    """`jpeg` with an APP1 EXIF segment holding one IFD0 entry: Orientation (SHORT) = `orientation`."""
    e = "little" if order == "II" else "big"
    tiff = order.encode() + (42).to_bytes(2, e) + (8).to_bytes(4, e) + (1).to_bytes(2, e)
    tiff += (0x0112).to_bytes(2, e) + (3).to_bytes(2, e) + (1).to_bytes(4, e) + orientation.to_bytes(2, e) + b"\0\0"
    app1 = b"Exif\0\0" + tiff + (0).to_bytes(4, e)
    return jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg[2:]


@pytest.mark.parametrize("quality", [50, 95])
@pytest.mark.parametrize("kind", [*SAMPLING, "grey", "progressive"])
def test_jpegs_of_every_subsampling_decode_to_opencvs_pixels_without_opencv(tmp_path, monkeypatch, kind, quality):
    path = tmp_path / f"{kind}.jpg"
    if kind == "grey":
        cv2.imwrite(str(path), cv2.cvtColor(_texture(), cv2.COLOR_BGR2GRAY), [cv2.IMWRITE_JPEG_QUALITY, quality])
    elif kind == "progressive":
        cv2.imwrite(str(path), _texture(), [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    else:
        cv2.imwrite(str(path), _texture(), [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, SAMPLING[kind]])
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR)
    calls = _opencv_reads(monkeypatch)
    got = images.read_bgr(path)
    assert calls == []  # decoded by simplejpeg
    assert got.dtype == np.uint8 and got.shape == (61, 93, 3) and got.flags.writeable
    np.testing.assert_array_equal(got, expected)


def test_the_synthetic_datasets_frames_decode_to_opencvs_pixels(tiny_dataset, monkeypatch):
    frames = sorted(tiny_dataset.rglob("*.jpg"))
    expected = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in frames]
    calls = _opencv_reads(monkeypatch)
    assert len(frames) == 72
    for path, want in zip(frames, expected):
        np.testing.assert_array_equal(images.read_bgr(path), want)
    assert calls == []


def test_other_formats_go_through_opencv(tmp_path, monkeypatch):
    grey_png, rgba_png = tmp_path / "grey.png", tmp_path / "rgba.png"
    cv2.imwrite(str(grey_png), _texture()[:, :, 0])
    cv2.imwrite(str(rgba_png), np.dstack([_texture(), np.full((61, 93), 7, np.uint8)]))
    calls = _opencv_reads(monkeypatch)
    for path in (grey_png, rgba_png):
        got = images.read_bgr(path)
        assert got.shape == (61, 93, 3)
    np.testing.assert_array_equal(images.read_bgr(grey_png), np.repeat(_texture()[:, :, :1], 3, axis=2))
    assert calls == [str(grey_png), str(rgba_png), str(grey_png)]


@pytest.mark.parametrize("order", ["II", "MM"])
def test_exif_orientation_is_applied_as_opencv_does(tmp_path, monkeypatch, order):
    ok, buf = cv2.imencode(".jpg", _texture())
    upright, turned = tmp_path / "upright.jpg", tmp_path / "turned.jpg"
    upright.write_bytes(_exif_jpeg(buf.tobytes(), 1, order))
    turned.write_bytes(_exif_jpeg(buf.tobytes(), 6, order))
    want_upright, want_turned = cv2.imread(str(upright)), cv2.imread(str(turned))
    assert want_turned.shape == (93, 61, 3)  # OpenCV turns orientation 6 by 90 degrees
    calls = _opencv_reads(monkeypatch)
    np.testing.assert_array_equal(images.read_bgr(upright), want_upright)
    np.testing.assert_array_equal(images.read_bgr(turned), want_turned)
    assert calls == [str(turned)]


def test_truncated_and_cmyk_jpegs_are_decoded_by_opencv(tmp_path, monkeypatch):
    image = pytest.importorskip("PIL.Image")
    cmyk, truncated = tmp_path / "cmyk.jpg", tmp_path / "truncated.jpg"
    image.fromarray(_texture()[:, :, ::-1].copy()).convert("CMYK").save(cmyk, quality=90)
    ok, buf = cv2.imencode(".jpg", _texture())
    truncated.write_bytes(buf.tobytes()[: len(buf) // 2])
    want = {p: cv2.imread(str(p), cv2.IMREAD_COLOR) for p in (cmyk, truncated)}
    assert want[truncated] is not None  # libjpeg fills in the missing part with a warning; simplejpeg refuses
    calls = _opencv_reads(monkeypatch)
    for path, expected in want.items():
        np.testing.assert_array_equal(images.read_bgr(path), expected)
    assert calls == [str(cmyk), str(truncated)]


def test_unreadable_files_read_as_none_and_keep_their_errors(tmp_path):
    garbage, empty = tmp_path / "garbage.jpg", tmp_path / "empty.jpg"
    garbage.write_bytes(b"\xff\xd8\xff" + b"not a jpeg" * 8)
    empty.write_bytes(b"")
    for path in (garbage, empty, tmp_path / "missing.jpg", tmp_path):
        assert images.read_bgr(path) is None
    with pytest.raises(DataError, match=r"garbage.jpg: cannot read this image \(missing, empty or not an image\)"):
        read_image(garbage)
    frame = (_texture(192, 320), ["0 1 0.5 0.5 0.1 0.2"])
    dataset_root, labels_root, split = write_dataset(tmp_path / "set", [frame])
    (dataset_root / "images/train/SYN-01/img1/000001.png").write_bytes(b"\xff\xd8\xff\xe0 damaged")
    ds = JointDataset(dataset_root, labels_root, split, width=320, height=192)
    with pytest.raises(DataError, match=r"000001.png: image missing or unreadable; re-run the download stage"):
        ds[0]


@pytest.fixture
def without_simplejpeg(monkeypatch):
    """fairmot.data.images imported where simplejpeg is not installed; the real module is restored after."""
    monkeypatch.setitem(sys.modules, "simplejpeg", None)  # makes `import simplejpeg` raise ImportError
    importlib.reload(images)
    yield
    monkeypatch.undo()
    importlib.reload(images)
    assert images.simplejpeg is not None


def test_without_simplejpeg_every_image_goes_through_opencv(tmp_path, monkeypatch, without_simplejpeg, tiny_dataset):
    assert images.simplejpeg is None
    frame = next(iter(sorted(tiny_dataset.rglob("*.jpg"))))
    expected = cv2.imread(str(frame), cv2.IMREAD_COLOR)
    calls = _opencv_reads(monkeypatch)
    np.testing.assert_array_equal(images.read_bgr(frame), expected)
    assert images.read_bgr(tmp_path / "missing.jpg") is None
    assert calls == [str(frame), str(tmp_path / "missing.jpg")]


def test_a_training_sample_is_the_same_whichever_decoder_reads_it(tiny_dataset, tiny_labels, monkeypatch):
    labels_root, splits = tiny_labels
    ds = JointDataset(tiny_dataset, labels_root, splits / "train.txt", width=320, height=192, augment=True, seed=5)
    fast = ds[7]
    monkeypatch.setattr(images, "simplejpeg", None)
    slow = ds[7]
    assert fast.keys() == slow.keys()
    for key in fast:
        assert np.array_equal(np.asarray(fast[key]), np.asarray(slow[key])), key

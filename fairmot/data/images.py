"""One image reader for training and tracking: JPEGs through libjpeg-turbo's TurboJPEG API (simplejpeg), the rest through OpenCV.

`read_bgr(path)` returns exactly what `cv2.imread(path, cv2.IMREAD_COLOR)` returns (BGR uint8 HxWx3,
or None when the file cannot be read). simplejpeg with its accurate defaults (integer IDCT, fancy
upsampling; its `fastdct`/`fastupsample` change pixels by up to about 100) decodes with the same
libjpeg-turbo settings as OpenCV, to the same pixels, with less work around each call (OpenCV's
wheel decodes with libjpeg-turbo too; docs/performance.md has the gain). OpenCV still reads what it
would treat differently: non-JPEG files, an EXIF orientation other than 1 (OpenCV rotates the
image), CMYK/YCCK and non-8-bit JPEGs, any APP1 segment that is neither a plain EXIF block nor XMP,
and whatever simplejpeg refuses (corrupt or truncated data: libjpeg's warnings are errors in its
strict mode), so those decode exactly as before.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

try:  # optional: without it every image goes through OpenCV
    import simplejpeg
except ImportError:
    simplejpeg = None

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (C4/C8/CC are not)
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM carry no length
_ORIENTATION_TAG = 0x0112


def read_bgr(path: str | Path) -> np.ndarray | None:
    """The image at `path` as cv2.imread(path, IMREAD_COLOR) gives it, JPEGs decoded by libjpeg-turbo directly."""
    if simplejpeg is not None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        if _decodes_like_opencv(data):
            try:
                return simplejpeg.decode_jpeg(data, colorspace="BGR", fastdct=False, fastupsample=False, strict=True)
            except ValueError:
                pass  # corrupt, truncated or unsupported: OpenCV decides, as before
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def _decodes_like_opencv(data: bytes) -> bool:
    """Whether `data` is a JPEG that simplejpeg decodes to OpenCV's pixels: its segments before the
    scan show 8-bit samples, 1 or 3 components, and no EXIF orientation other than 1."""
    if data[:2] != b"\xff\xd8":
        return False
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: every header segment has been seen
            return True
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segment = data[pos + 4:pos + 2 + length]
        if marker in _SOF_MARKERS and (len(segment) < 6 or segment[0] != 8 or segment[5] not in (1, 3)):
            return False
        if marker == 0xE1 and not segment.startswith(b"http://ns.adobe.com/xap/1.0/\x00") and _exif_orientation(segment) != 1:
            return False
        pos += 2 + length
    return False


def _exif_orientation(segment: bytes) -> int | None:
    """The orientation an APP1 EXIF segment states (1 when it states none), or None when it is not plain EXIF."""
    if not segment.startswith(b"Exif\x00\x00"):
        return None
    tiff = segment[6:]
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return None
    count = int.from_bytes(tiff[ifd:ifd + 2], order)
    if ifd + 2 + 12 * count > len(tiff):
        return None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if int.from_bytes(tiff[entry:entry + 2], order) == _ORIENTATION_TAG:
            return int.from_bytes(tiff[entry + 8:entry + 10], order)  # a SHORT, left-justified in the value field
    return 1

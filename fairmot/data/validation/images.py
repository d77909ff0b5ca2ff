"""The images table: each frame present, decodable, and of the size seqinfo.ini states.

Sizes come from the JPEG frame header without decoding (fast for thousands of frames); a cheap
reduced decode and the end-of-image marker catch truncated files.
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def _image_table(images: list[tuple[str, int, Path, int, int]], dataset_root: Path):
    import pandas as pd

    def check(item: tuple[str, int, Path, int, int]) -> list[Any]:
        seq, frame, path, width, height = item
        exists = path.exists()
        size = _image_size(path) if exists else None
        # None (missing) where an earlier check already failed, so one fault is reported once
        readable = (size is not None and _decodes(path)) if exists else None
        w, h = size if size else (None, None)
        rel = str(path.relative_to(dataset_root)) if path.is_relative_to(dataset_root) else str(path)
        return [seq, frame, rel, exists, readable, w, h, width, height]

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        rows = list(pool.map(check, images))
    return pd.DataFrame(rows, columns=["sequence", "frame", "file", "exists", "readable", "width", "height",
                                       "expected_width", "expected_height"])


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header without decoding it; other formats via OpenCV."""
    with path.open("rb") as handle:
        data = handle.read(2)
        if data != b"\xff\xd8":
            return _decoded_size(path)
        while True:
            marker = handle.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            kind = marker[1]
            if kind == 0xFF:  # fill byte
                handle.seek(-1, 1)
                continue
            if kind in (0x01, *range(0xD0, 0xD8)):
                continue
            length_bytes = handle.read(2)
            if len(length_bytes) < 2:
                return None
            (length,) = struct.unpack(">H", length_bytes)
            if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
                header = handle.read(5)
                if len(header) < 5:
                    return None
                _, h, w = struct.unpack(">BHH", header)
                return w, h
            handle.seek(length - 2, 1)


def _decoded_size(path: Path) -> tuple[int, int] | None:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return None if image is None else (image.shape[1], image.shape[0])


def _decodes(path: Path) -> bool:
    """Decodes (at 1/8 scale, fast even for 1080p) and, for JPEG, is not truncated."""
    import cv2

    with path.open("rb") as handle:
        head = handle.read(2)
        handle.seek(-2, os.SEEK_END)
        tail = handle.read(2)
    if head == b"\xff\xd8" and tail != b"\xff\xd9":
        return False
    return cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_8) is not None

"""Shared fixtures: one tiny synthetic dataset and its labels, made once per test session.

Session-scoped and shared: tests must treat them as read-only (copy them to corrupt them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# 2 train + 1 held-out sequence of 24 frames; ignore_fraction high enough that every sequence
# holds a zero-marked ignore-class figure, so the MOT17 preprocessing paths are exercised too.
TINY_SYNTHETIC = dict(seed=7, train_sequences=2, val_sequences=1, frames=24, width=320, height=192,
                      frame_rate=30, density=6.0, ignore_fraction=0.1)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """Root of a tiny synthetic MOT17-layout dataset: images/train/SYN-01..02, images/test/SYN-03."""
    from fairmot.data.synthetic import generate_synthetic

    root = tmp_path_factory.mktemp("tiny") / "dataset"
    generate_synthetic(root, **TINY_SYNTHETIC)
    return root


@pytest.fixture(scope="session")
def tiny_labels(tiny_dataset, tmp_path_factory) -> tuple[Path, Path]:
    """(labels_root, splits_dir) generated from `tiny_dataset`."""
    from fairmot.data.labels import generate_labels

    base = tmp_path_factory.mktemp("tiny_labels")
    labels_root, splits_dir = base / "labels_with_ids", base / "splits"
    generate_labels(tiny_dataset, labels_root, splits_dir)
    return labels_root, splits_dir

"""The report's figures: training curves, per-sequence scores, and annotated frames of the results."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fairmot.data.formats.mot import read_results, read_seqinfo
from fairmot.evaluation.sequences import read_result_classes
from fairmot.inference.draw import draw_tracks
from fairmot.io import pyplot, save_figure

LOSS_KEYS = ("loss", "hm_loss", "wh_loss", "off_loss", "id_loss")


def read_history(plots_dir: Path) -> dict[str, pd.DataFrame]:
    """dvclive's per-metric TSV files (`<dir>/**/<name>.tsv`, columns step + value) by metric name."""
    history = {}
    for tsv in sorted(Path(plots_dir).rglob("*.tsv")):
        frame = pd.read_csv(tsv, sep="\t")
        if "step" in frame.columns and len(frame.columns) >= 2:
            value_col = [c for c in frame.columns if c not in ("step", "timestamp")][-1]
            history[tsv.stem] = frame[["step", value_col]].rename(columns={value_col: "value"})
    return history


def plot_training_curves(history: Mapping[str, pd.DataFrame], out_png: Path) -> Path | None:
    """Loss terms against step on one figure (log scale where every value is positive)."""
    plt = pyplot()
    names = [k for k in LOSS_KEYS if k in history] + [k for k in ("s_det", "s_id") if k in history]
    if not names:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in names:
        frame = history[name]
        ax = axes[1] if name.startswith("s_") else axes[0]
        ax.plot(frame["step"], frame["value"], label=name, linewidth=1.2)
    axes[0].set_title("losses")
    axes[1].set_title("uncertainty weights s_det / s_id")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_png)


def plot_per_sequence(per_sequence: pd.DataFrame, out_png: Path) -> Path | None:
    """Grouped bars of MOTA / IDF1 / HOTA per sequence (the OVERALL row included)."""
    plt = pyplot()
    columns = [c for c in ("MOTA", "IDF1", "HOTA") if c in per_sequence.columns]
    if per_sequence.empty or not columns:
        return None
    names = per_sequence["sequence"].astype(str).tolist()
    if "class" in per_sequence.columns:  # several classes: a row per sequence and class
        names = [f"{n} {c}" for n, c in zip(names, per_sequence["class"].astype(str))]
    x = np.arange(len(names))
    width = 0.8 / len(columns)
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(names) + 2), 3.4))
    for i, column in enumerate(columns):
        ax.bar(x + i * width - 0.4 + width / 2, per_sequence[column].astype(float), width, label=column)
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylim(min(0.0, float(per_sequence[columns].min().min())), 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_png)


def annotate_frames(dataset_split_dir: Path, results_dir: Path, count: int, out_dir: Path,
                    names: Sequence[str] = ()) -> list[Path]:
    """Draw the tracker's boxes and ids on `count` frames spread over the evaluated sequences; with
    several class `names`, coloured and labelled by class as `fairmot track`'s video."""
    import cv2

    results = sorted(Path(results_dir).glob("*.txt"))
    if not results or count <= 0:
        return []
    written = []
    picks = [(results[i % len(results)], i // len(results), math.ceil(count / len(results))) for i in range(count)]
    for result_file, nth, per_seq in picks:
        seq_dir = Path(dataset_split_dir) / result_file.stem
        info = read_seqinfo(seq_dir / "seqinfo.ini")
        rows = read_results(result_file)
        classes = read_result_classes(result_file) if len(names) > 1 else np.zeros(len(rows), dtype=np.int64)
        frames = np.unique(rows[:, 0]).astype(int) if len(rows) else np.array([1])
        frame = int(frames[min(len(frames) - 1, (nth + 1) * len(frames) // (per_seq + 1))])
        image = cv2.imread(str(info.frame_path(seq_dir, frame)))
        if image is None:
            continue
        here, here_classes = rows[rows[:, 0] == frame], classes[rows[:, 0] == frame]
        trails = {}
        for tid in here[:, 1].astype(int):
            past = rows[(rows[:, 1] == tid) & (rows[:, 0] <= frame) & (rows[:, 0] > frame - 30)]
            trails[tid] = [(x + w / 2, y + h) for x, y, w, h in past[:, 2:6]]
        canvas = draw_tracks(image, here[:, 2:6], here[:, 1].astype(int), trails=trails,
                             caption=f"{result_file.stem} #{frame}", classes=here_classes, names=names)
        if canvas.shape[1] < 640:  # small synthetic frames: enlarge for the page
            factor = 640 / canvas.shape[1]
            canvas = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        out = Path(out_dir) / f"frame_{result_file.stem}_{frame:06d}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        written.append(out)
    return written

"""The pipeline report: figures, a Markdown page, and a self-contained HTML twin.

Everything here takes plain values (dicts, DataFrames, paths) so the report can be rebuilt from
any run's outputs without the pipeline around it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.data.mot import read_results, read_seqinfo
from fairmot.visualize import draw_tracks

LOSS_KEYS = ("loss", "hm_loss", "wh_loss", "off_loss", "id_loss")
TRACKING_KEYS = ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "IDs", "FP", "FN", "MT", "ML", "frames")
FRACTION_KEYS = {"MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "LocA", "IDP", "IDR", "precision", "recall"}


@dataclass
class ReportInputs:
    params: Mapping[str, Any]
    validation: Mapping[str, Any]
    train: Mapping[str, Any]
    metrics: Mapping[str, Any]
    per_sequence: pd.DataFrame
    manifest: Mapping[str, Any] = field(default_factory=dict)


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def plot_per_sequence(per_sequence: pd.DataFrame, out_png: Path) -> Path | None:
    """Grouped bars of MOTA / IDF1 / HOTA per sequence (the OVERALL row included)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in ("MOTA", "IDF1", "HOTA") if c in per_sequence.columns]
    if per_sequence.empty or not columns:
        return None
    names = per_sequence["sequence"].astype(str).tolist()
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
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def annotate_frames(dataset_split_dir: Path, results_dir: Path, count: int, out_dir: Path) -> list[Path]:
    """Draw the tracker's boxes and ids on `count` frames spread over the evaluated sequences."""
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
        frames = np.unique(rows[:, 0]).astype(int) if len(rows) else np.array([1])
        frame = int(frames[min(len(frames) - 1, (nth + 1) * len(frames) // (per_seq + 1))])
        image = cv2.imread(str(info.frame_path(seq_dir, frame)))
        if image is None:
            continue
        here = rows[rows[:, 0] == frame]
        trails = {}
        for tid in here[:, 1].astype(int):
            past = rows[(rows[:, 1] == tid) & (rows[:, 0] <= frame) & (rows[:, 0] > frame - 30)]
            trails[tid] = [(x + w / 2, y + h) for x, y, w, h in past[:, 2:6]]
        canvas = draw_tracks(image, here[:, 2:6], here[:, 1].astype(int), trails=trails,
                             caption=f"{result_file.stem} #{frame}")
        if canvas.shape[1] < 640:  # small synthetic frames: enlarge for the page
            factor = 640 / canvas.shape[1]
            canvas = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        out = Path(out_dir) / f"frame_{result_file.stem}_{frame:06d}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        written.append(out)
    return written


def _fmt(key: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value)}"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "n/a"
        if key in FRACTION_KEYS:
            return f"{100 * value:.1f}"
        return f"{value:.4g}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(h, v) for h, v in zip(headers, row)) + " |" for row in rows]
    return "\n".join(lines)


def _batching(m: dict) -> str:
    """How the network pass ran, when it batched frames (eval.batch): its fps is then a throughput."""
    return f" in batches of {m['batch']} frames" if (m.get("batch") or 1) > 1 else ""


def render_markdown(inputs: ReportInputs, figures: Mapping[str, Path | None], frames: Sequence[Path],
                    base_dir: Path) -> str:
    """The report page; figure paths are written relative to `base_dir` (where report.md lives)."""
    p, v, t, m = inputs.params, inputs.validation, inputs.train, inputs.metrics

    def rel(path: Path) -> str:
        return Path(path).resolve().relative_to(Path(base_dir).resolve()).as_posix()

    data = p.get("data", {})
    out = ["# FairMOT pipeline report", ""]
    out += ["## Setup", "", _table(
        ["arch", "batch_size", "gpus", "epochs", "input", "data source", "train split", "eval split"],
        [[p.get("arch"), p.get("batch_size"), p.get("gpus"), p.get("num_epochs"),
          f"{p.get('input_w')}x{p.get('input_h')}", data.get("source"), data.get("train_split"),
          p.get("eval", {}).get("split")]]), ""]

    out += ["## Data", ""]
    if inputs.manifest:
        seqs = inputs.manifest.get("sequences", {})
        rows = [[name, s.get("split"), s.get("frames"), s.get("boxes"), s.get("identities"),
                 f"{s.get('width')}x{s.get('height')}"] for name, s in seqs.items()]
        out += [_table(["sequence", "split", "frames", "boxes", "identities", "size"], rows), "",
                (f"Identities across all sequences: {inputs.manifest.get('nID', 1) - 1}; the re-ID classifier "
                 f"learns the training split's: nID = {inputs.train.get('nID', 'n/a')}."), ""]
        mixed = inputs.manifest.get("datasets", {})  # data.datasets: counts and id block per dataset
        if mixed:
            rows = [[name, d["kind"], d["frames"], d["boxes"], d["identities"],
                     "-" if not d["ids"] else f"{d['ids'][0]}..{d['ids'][1]}", d["clipped"], d["outside"], d["ignored"]]
                    for name, d in mixed.items()]
            out += [_table(["dataset", "kind", "frames", "boxes", "identities", "ids", "clipped", "outside image",
                            "ignored"], rows), ""]
    status = "passed" if v.get("success") else "FAILED"
    out += [(f"Validation (great-expectations): **{status}** — "
             f"{v.get('expectations', 'n/a')} expectations, {v.get('failed', 'n/a')} failed."), ""]

    out += ["## Training", ""]
    if figures.get("training"):
        out += [f"![training curves]({rel(figures['training'])})", ""]
    keys = [k for k in LOSS_KEYS + ("s_det", "s_id") if k in t]
    if keys:
        out += ["Final epoch averages:", "", _table(keys, [[t[k] for k in keys]]), ""]
    out += [_table(["samples/s", "wall s", "epochs", "world size", "peak memory MB", "device"],
                   [[t.get("samples_per_s"), t.get("wall_s"), t.get("epochs"), t.get("world_size"),
                     t.get("peak_memory_mb"), t.get("device")]]), ""]

    out += ["## Tracking", "", "Percentages for MOTA, IDF1, HOTA, DetA, AssA, MOTP (an IoU); counts otherwise.", ""]
    keys = [k for k in TRACKING_KEYS if k in m]
    out += [_table(keys, [[m[k] for k in keys]]), ""]
    per = inputs.per_sequence
    if not per.empty:
        columns = ["sequence"] + [c for c in TRACKING_KEYS if c in per.columns]
        out += [_table(columns, per[columns].values.tolist()), ""]
    if figures.get("per_sequence"):
        out += [f"![per-sequence metrics]({rel(figures['per_sequence'])})", ""]
    tracker = (f"; the {m['method']} tracker over the cached detections {_fmt('fps', m['tracking_fps'])} FPS"
               if "tracking_fps" in m and "method" in m else "")
    out += [(f"Speed on **{m.get('device', 'n/a')}**: {_fmt('fps', m.get('fps'))} FPS end to end "
             f"for the network pass{_batching(m)} (image to device, forward, decode; after warm-up, device synchronised), "
             f"{_fmt('fps', m.get('fps_model'))} FPS for the forward pass alone{tracker}; "
             f"peak memory {_fmt('mb', m.get('peak_memory_mb'))} MB."), ""]

    if frames:
        out += ["## What the tracker sees", "", "Boxes and ids from the result files, with each track's last second as a trail.", ""]
        out += [f"![{Path(f).stem}]({rel(f)})" for f in frames]
        out += [""]
    return "\n".join(out)


_HTML_STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}img{max-width:100%;margin:.3em 0}code{background:#f3f3f3}"""


def markdown_to_html(markdown: str, base_dir: Path) -> str:
    """Render the report as one self-contained HTML file (images inlined as data URIs)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def inline(match: re.Match[str]) -> str:
        path = Path(base_dir) / match.group(1)
        if not path.exists():
            return match.group(0)
        mime = "image/png" if path.suffix == ".png" else "image/jpeg"
        return f'src="data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+)"', inline, body)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>FairMOT pipeline report</title>"
            f"<style>{_HTML_STYLE}</style></head><body>\n{body}</body></html>\n")

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

from fairmot.reporting.figures import LOSS_KEYS

TRACKING_KEYS = ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "IDs", "FP", "FN", "MT", "ML", "frames")
CLASS_KEYS = ("MOTA", "IDF1", "HOTA", "IDs", "FP", "FN")
FRACTION_KEYS = {"MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "LocA", "IDP", "IDR", "precision", "recall"}


@dataclass
class ReportInputs:
    params: Mapping[str, Any]
    validation: Mapping[str, Any]
    train: Mapping[str, Any]
    metrics: Mapping[str, Any]
    per_sequence: pd.DataFrame
    manifest: Mapping[str, Any] = field(default_factory=dict)
    history: str = ""  # reports/history.md of `fairmot history`, read when present (not a DVC dependency)


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

    def rel(path: Path) -> str:
        return Path(path).resolve().relative_to(Path(base_dir).resolve()).as_posix()

    out = ["# FairMOT pipeline report", ""]
    out += _setup_section(inputs.params)
    out += _data_section(inputs)
    out += _training_section(inputs.train, figures, rel)
    out += _tracking_section(inputs.metrics, inputs.per_sequence, figures, rel)
    out += _history_section(inputs.history, figures, rel)
    if frames:
        out += ["## What the tracker sees", "", "Boxes and ids from the result files, with each track's last second as a trail.", ""]
        out += [f"![{Path(f).stem}]({rel(f)})" for f in frames]
        out += [""]
    return "\n".join(out)


def _setup_section(p: Mapping[str, Any]) -> list[str]:
    data = p.get("data", {})
    return ["## Setup", "", _table(
        ["arch", "batch_size", "gpus", "epochs", "input", "data source", "train split", "eval split"],
        [[p.get("arch"), p.get("batch_size"), p.get("gpus"), p.get("num_epochs"),
          f"{p.get('input_w')}x{p.get('input_h')}", data.get("source"), data.get("train_split"),
          p.get("eval", {}).get("split")]]), ""]


def _data_section(inputs: ReportInputs) -> list[str]:
    out = ["## Data", ""]
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
                     "-" if not d["ids"] else f"{d['ids'][0]}..{d['ids'][1]}", d["clipped"], d["outside"], d["ignored"],
                     d.get("other_classes", "n/a")] for name, d in mixed.items()]
            out += [_table(["dataset", "kind", "frames", "boxes", "identities", "ids", "clipped", "outside image",
                            "ignored", "other classes"], rows), ""]
            definitions = inputs.manifest.get("count_definitions", {})
            out += [f"- {key}: {text}" for key, text in definitions.items()] + ([""] if definitions else [])
    v = inputs.validation
    status = "passed" if v.get("success") else "FAILED"
    out += [(f"Validation (great-expectations): **{status}** — "
             f"{v.get('expectations', 'n/a')} expectations, {v.get('failed', 'n/a')} failed."), ""]
    return out


def _training_section(t: Mapping[str, Any], figures: Mapping[str, Path | None], rel: Any) -> list[str]:
    out = ["## Training", ""]
    if figures.get("training"):
        out += [f"![training curves]({rel(figures['training'])})", ""]
    keys = [k for k in LOSS_KEYS + ("s_det", "s_id") if k in t]
    if keys:
        out += ["Final epoch averages:", "", _table(keys, [[t[k] for k in keys]]), ""]
    out += [_table(["samples/s", "wall s", "epochs", "world size", "peak memory MB", "device"],
                   [[t.get("samples_per_s"), t.get("wall_s"), t.get("epochs"), t.get("world_size"),
                     t.get("peak_memory_mb"), t.get("device")]]), ""]
    return out


def _tracking_section(m: Mapping[str, Any], per: pd.DataFrame, figures: Mapping[str, Path | None],
                      rel: Any) -> list[str]:
    out = ["## Tracking", "", "Percentages for MOTA, IDF1, HOTA, DetA, AssA, MOTP (an IoU); counts otherwise.", ""]
    keys = [k for k in TRACKING_KEYS if k in m]
    out += [_table(keys, [[m[k] for k in keys]]), ""]
    out += _class_table(m)
    if not per.empty:
        columns = [c for c in ("sequence", "class") if c in per.columns] + [c for c in TRACKING_KEYS if c in per.columns]
        out += [_table(columns, per[columns].values.tolist()), ""]
    if figures.get("per_sequence"):
        out += [f"![per-sequence metrics]({rel(figures['per_sequence'])})", ""]
    tracker = (f"; the {m['method']} tracker over the cached detections {_fmt('fps', m['tracking_fps'])} FPS"
               if "tracking_fps" in m and "method" in m else "")
    out += [(f"Speed on **{m.get('device', 'n/a')}**: {_fmt('fps', m.get('fps'))} FPS end to end "
             f"for the network pass{_batching(m)} (image to device, forward, decode; after warm-up, device synchronised), "
             f"{_fmt('fps', m.get('fps_model'))} FPS for the forward pass alone{tracker}; "
             f"peak memory {_fmt('mb', m.get('peak_memory_mb'))} MB."), ""]
    return out


def _class_table(m: Mapping[str, Any]) -> list[str]:
    """Each class's figures and their average (counts summed), when several classes were scored;
    the figures above pool every class."""
    classes = m.get("classes")
    if not isinstance(classes, Mapping) or not classes:
        return []
    rows = [[name, *(figures.get(k) for k in CLASS_KEYS)] for name, figures in classes.items()]
    rows.append(["class average", *(m.get("class_average", {}).get(k) for k in CLASS_KEYS)])
    return ["Per class (the figures above pool every class; the CI gate reads the class average):", "",
            _table(["class", *CLASS_KEYS], rows), ""]


def _history_section(history_md: str, figures: Mapping[str, Path | None], rel: Any, last: int = 10) -> list[str]:
    """The figure, the note and the last rows of `fairmot history`'s table, as it was when the report ran."""
    out = ["## Across commits", ""]
    if not history_md.strip():
        return out + ["Run `fairmot history` (it reads the metrics committed in git), then `dvc repro -f report`.", ""]
    if figures.get("history"):
        out += [f"![metrics across commits]({rel(figures['history'])})", ""]
    lines = history_md.splitlines()
    for line in lines:
        if line.strip() and not line.startswith(("#", "|")):
            out += [line, ""]
    table = [line for line in lines if line.startswith("|")]
    if len(table) > 2 + last:
        out += [f"The last {last} of {len(table) - 2} rows ([history.md](history.md) has them all):", ""]
    return out + table[:2] + table[2:][-last:] + [""]


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

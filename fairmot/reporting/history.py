"""Metrics across commits: the committed reports/*.json read back through git, as a table and a figure.

Git history is not a DVC dependency, so this is a tool (`fairmot history`), not a pipeline stage;
the report includes what it wrote when it is there (docs/evaluation.md).
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.errors import DataError
from fairmot.io import pyplot, save_figure

log = logging.getLogger(__name__)

HISTORY_FILES = {"metrics": "reports/metrics.json", "detect": "reports/detect.json", "train": "reports/train.json"}
WORKTREE = "working tree"
COLUMNS = ("commit", "date", "subject", "MOTA", "IDF1", "HOTA", "fps", "memory_mb", "device",
           "train_memory_mb", "train_device")
_TABLE = {"commit": "commit", "date": "date", "subject": "subject", "MOTA": "MOTA", "IDF1": "IDF1", "HOTA": "HOTA",
          "fps": "FPS", "memory_mb": "memory MB", "train_memory_mb": "train MB", "device": "device"}
_SPARKS = "▁▂▃▄▅▆▇█"
_MARKERS = "osD^vP*X<>"


@dataclass
class History:
    """One row per commit that changed a metrics file (oldest first), and what git could see."""

    rows: pd.DataFrame
    visible: int  # commits reachable from HEAD in this clone
    shallow: bool

    def note(self) -> str:
        seen = f"{self.visible} commit{'s' if self.visible != 1 else ''} visible"
        seen += " (shallow clone: `git fetch --unshallow` shows the rest)" if self.shallow else ""
        committed = int((self.rows["commit"] != WORKTREE).sum()) if len(self.rows) else 0
        extra = ", plus the working tree" if committed < len(self.rows) else ""
        return f"{seen}; {committed} of them changed {', '.join(HISTORY_FILES.values())}{extra}."


def _git(repo: Path, *args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise DataError("git is not on PATH; `fairmot history` reads the metrics committed in git") from None
    if check and done.returncode != 0:
        why = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise DataError(f"git {args[0]} failed in {repo}: {why}")
    return done


def _cat_files(repo: Path, specs: list[str]) -> list[bytes | None]:
    """`git cat-file --batch` over REV:path specs, in one process; None where the path is absent at REV."""
    if not specs:
        return []
    out = _git(repo, "cat-file", "--batch", stdin="".join(s + "\n" for s in specs).encode()).stdout
    found: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found.append(out[pos:pos + size])
            pos += size + 1
        else:  # "<spec> missing" (or not a blob)
            found.append(None)
    return found


def _parse(raw: bytes | None, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("%s: not JSON, left out of the history", where)
        return {}
    return data if isinstance(data, dict) else {}


def _row(commit: str, date: str, subject: str, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The table's figures from one commit's files: the network pass from detect.json (metrics.json before it existed)."""
    metrics, detect, train = files["metrics"], files["detect"], files["train"]
    run = detect or metrics
    return {"commit": commit, "date": date, "subject": subject,
            **{k: metrics.get(k, math.nan) for k in ("MOTA", "IDF1", "HOTA")},
            "fps": run.get("fps", math.nan), "memory_mb": run.get("peak_memory_mb", math.nan),
            "device": run.get("device") or "unknown",
            "train_memory_mb": train.get("peak_memory_mb", math.nan), "train_device": train.get("device") or "unknown"}


def _commits(repo: Path, since: str | None, max_count: int) -> list[tuple[str, str, str]]:
    """(hash, date, subject) of the newest `max_count` commits after `since` that changed a metrics file, oldest first."""
    revs = [f"{since}..HEAD"] if since else ["HEAD"]
    out = _git(repo, "log", f"--max-count={max_count}", "--date=format:%Y-%m-%d %H:%M", "--format=%H%x1f%cd%x1f%s",
               *revs, "--", *HISTORY_FILES.values()).stdout.decode(errors="replace")
    return [tuple(line.split("\x1f", 2)) for line in reversed(out.splitlines()) if line]  # type: ignore[misc]


def read_history(repo: Path, *, since: str | None = None, max_count: int = 50) -> History:
    """The metrics at each commit that changed reports/{metrics,detect,train}.json, plus the working tree where it
    differs from HEAD (so a repository without history, or a run not yet committed, is one point)."""
    repo = Path(repo)
    shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
    has_head = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode == 0
    if since is not None and not has_head:
        raise DataError(f"--since {since}: the repository in {repo} has no commits yet")
    commits = _commits(repo, since, max_count) if has_head else []
    names = list(HISTORY_FILES)
    specs = [f"{rev}:{HISTORY_FILES[n]}" for rev, _, _ in commits for n in names]
    specs += [f"HEAD:{HISTORY_FILES[n]}" for n in names] if has_head else []
    blobs = _cat_files(repo, specs)
    rows = []
    for i, (rev, date, subject) in enumerate(commits):
        files = {n: _parse(blobs[3 * i + j], f"{rev[:8]}:{HISTORY_FILES[n]}") for j, n in enumerate(names)}
        rows.append(_row(rev[:8], date, subject, files))
    head = {n: _parse(b, f"HEAD:{HISTORY_FILES[n]}") for n, b in zip(names, blobs[3 * len(commits):])} if has_head else {}
    work = {n: _parse((repo / p).read_bytes() if (repo / p).is_file() else None, p) for n, p in HISTORY_FILES.items()}
    if any(work.values()) and work != {n: head.get(n, {}) for n in names}:
        rows.append(_row(WORKTREE, "", "(not committed)", work))
    visible = int(_git(repo, "rev-list", "--count", "HEAD").stdout) if has_head else 0
    return History(pd.DataFrame(rows, columns=list(COLUMNS)), visible, shallow)


def _cell(column: str, value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{100 * value:.1f}" if column in ("MOTA", "IDF1", "HOTA") else f"{value:.4g}"
    text = str(value) if len(str(value)) <= 72 else str(value)[:71] + "…"  # long commit subjects
    return text.replace("|", "\\|")


def sparkline(values: Any) -> str:
    """A text trend for places that show no images (a PR comment): one block per value, n/a as a space."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if not len(finite):
        return ""
    low, span = finite.min(), max(finite.max() - finite.min(), 1e-12)
    return "".join(" " if not np.isfinite(v) else _SPARKS[int(round((v - low) / span * (len(_SPARKS) - 1)))]
                   for v in array)


def history_markdown(history: History) -> str:
    """The history page: what git could see, a text trend per quality metric, and the table (oldest first)."""
    rows = history.rows
    out = ["# Metrics across commits", "", history.note(), ""]
    if rows.empty:
        return "\n".join(out + ["No commit changed the metrics files and the working tree has none.", ""])
    trends = []
    for name in ("MOTA", "IDF1", "HOTA"):
        known = rows[name].dropna()
        if len(known):
            trends.append(f"{name} `{sparkline(rows[name])}` {_cell(name, known.iloc[0])} → {_cell(name, known.iloc[-1])}")
    out += [" · ".join(trends), ""] if trends else []
    out += ["| " + " | ".join(_TABLE.values()) + " |", "|" + "---|" * len(_TABLE)]
    out += ["| " + " | ".join(_cell(c, row[c]) for c in _TABLE) + " |" for _, row in rows.iterrows()]
    return "\n".join(out + [""])


def _plot_by_device(ax: Any, x: np.ndarray, values: pd.Series, devices: pd.Series, order: list[str],
                    color: str, label: str | None, style: str = "-") -> None:
    """One series, its points marked by device; a line joins only the points of one device."""
    for i, device in enumerate(order):
        mask = (devices == device).to_numpy() & values.notna().to_numpy()
        if mask.any():
            ax.plot(x[mask], values[mask].astype(float), linestyle=style, marker=_MARKERS[i % len(_MARKERS)],
                    color=color, label=label)
            label = None  # one legend entry per series


def plot_history(rows: pd.DataFrame, out_png: Path) -> Path | None:
    """Quality, FPS and peak memory against commit, on three axes sharing the commits; None without rows."""
    if rows.empty:
        return None
    plt = pyplot()
    from matplotlib.lines import Line2D

    x = np.arange(len(rows))
    order = list(dict.fromkeys([*rows["device"], *rows["train_device"]]))
    fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.45 * len(rows) + 3), 7.5), sharex=True)
    for i, name in enumerate(("MOTA", "IDF1", "HOTA")):
        _plot_by_device(axes[0], x, rows[name], rows["device"], order, f"C{i}", name)
    _plot_by_device(axes[1], x, rows["fps"], rows["device"], order, "C3", "end to end")
    _plot_by_device(axes[2], x, rows["memory_mb"], rows["device"], order, "C4", "inference")
    _plot_by_device(axes[2], x, rows["train_memory_mb"], rows["train_device"], order, "C5", "training", "--")
    for ax, title in zip(axes, ("quality (fraction)", "FPS", "peak memory MB")):
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="best")
    markers = [Line2D([], [], color="0.3", linestyle="", marker=_MARKERS[i % len(_MARKERS)], label=d)
               for i, d in enumerate(order)]
    fig.legend(handles=markers, fontsize=7, loc="lower center", ncol=2, title="device (marker)", title_fontsize=7)
    axes[-1].set_xticks(x, [c if c != WORKTREE else "work" for c in rows["commit"]], rotation=45, ha="right", fontsize=7)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * math.ceil(len(order) / 2), 1, 1))
    return save_figure(fig, out_png)

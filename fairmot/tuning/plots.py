"""Figures of a tuning run: the objective per trial, and each param's importance."""

from __future__ import annotations

from pathlib import Path

from fairmot.io import pyplot, save_figure
from fairmot.tuning.search import TuneResult


def plot_history(result: TuneResult, path: Path) -> None:
    """The objective of every trial, the best so far, and the defaults' value."""
    plt = pyplot()
    df = result.trials
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(df["number"], df["value"], "o", ms=4, label="trial")
    ax.plot(df["number"], df["value"].cummax(), "-", label="best so far")
    ax.axhline(result.baseline_value, color="grey", ls="--", label="params.yaml")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{result.objective} (validation split)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)


def plot_importances(result: TuneResult, path: Path) -> None:
    """PED-ANOVA importance of each tuned param for the objective (a note when none could be estimated)."""
    plt = pyplot()
    items = sorted(result.importances.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6, 3))
    if items:
        ax.barh([k for k, _ in items], [v for _, v in items])
        ax.set_xlabel(f"importance for {result.objective}")
    else:
        ax.text(0.5, 0.5, "too few trials to estimate importances", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    save_figure(fig, path)

"""The CI metric gate: tracking quality may not drop more than a tolerance below a baseline.

FPS and memory depend on the hardware, so they are shown in the diff but never gated. A run scored
with several classes is gated on its class average.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GATED_METRICS = ("MOTA", "IDF1", "HOTA")


@dataclass(frozen=True)
class GateResult:
    metric: str
    baseline: float | None
    current: float | None
    passed: bool

    def describe(self) -> str:
        if self.baseline is None:
            return f"{self.metric}: no baseline, current {self.current}"
        if self.current is None:
            return f"{self.metric}: missing from the current metrics (baseline {self.baseline:.4f})"
        return f"{self.metric}: {self.baseline:.4f} -> {self.current:.4f} ({self.current - self.baseline:+.4f})"


def gated_figures(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """The figures the gate reads: the class average of a run scored with several classes (a class
    that fails pulls it down), else the overall figures."""
    average = metrics.get("class_average")
    return average if isinstance(average, Mapping) else metrics


def check_gate(baseline: Mapping[str, Any], current: Mapping[str, Any], tolerance: float) -> list[GateResult]:
    """One result per gated metric (of gated_figures); a metric fails when it is missing, NaN, or drops
    more than `tolerance`."""
    baseline, current = gated_figures(baseline), gated_figures(current)
    results = []
    for name in GATED_METRICS:
        old, new = baseline.get(name), current.get(name)
        if old is None:
            passed = new is not None
        elif new is None or (isinstance(new, float) and math.isnan(new)):
            passed = False
        else:
            passed = old - new <= tolerance
        results.append(GateResult(name, old, new, passed))
    return results


def gate_markdown(rev: str, diff_table: str, results: list[GateResult], tolerance: float) -> str:
    """The gate's verdict and `dvc metrics diff --md`, as the PR comment and the job summary show them."""
    verdict = "passed" if all(r.passed for r in results) else "FAILED"
    out = [f"### Metric gate against `{rev}`: {verdict}", "",
           f"MOTA, IDF1 and HOTA (the class average where several classes are scored) may drop at most {tolerance} "
           "(FPS and memory depend on the machine: shown, never gated).", ""]
    out += [f"- {'ok' if r.passed else '**FAIL**'} {r.describe()}" for r in results]
    out += ["", f"#### `dvc metrics diff {rev}`", "", diff_table.strip() or "No metric changed.", ""]
    return "\n".join(out)

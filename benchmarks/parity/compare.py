"""Row-by-row comparison of two trackers' outputs: rows (frame, id, x, y, w, h)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def relabel(ids: np.ndarray) -> np.ndarray:
    """Ids renumbered 1, 2, ... in order of first appearance (row order)."""
    seen: dict[int, int] = {}
    return np.array([seen.setdefault(int(i), len(seen) + 1) for i in ids], dtype=np.int64)


def as_arrays(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, ids, tlwh boxes) arrays from rows."""
    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2:6]


@dataclass
class Comparison:
    identical: bool
    first_divergence: str | None
    max_box_diff: float
    rows: tuple[int, int]
    ids: tuple[int, int]

    def __str__(self) -> str:
        verdict = "identical" if self.identical else f"DIVERGE: {self.first_divergence}"
        return (f"rows {self.rows[0]} / {self.rows[1]}, ids {self.ids[0]} / {self.ids[1]}, "
                f"max |box diff| {self.max_box_diff:.2e} px: {verdict}")


def compare(expected: tuple, actual: tuple, tol: float = 1e-3) -> Comparison:
    """Same rows in the same order per frame, boxes within `tol` px, ids equal after relabelling
    both sides by first appearance. `expected`/`actual` are (frames, ids, boxes) arrays."""
    (fe, ie, be), (fa, ia, ba) = expected, actual
    ie, ia = relabel(ie), relabel(ia)
    counts = (len(fe), len(fa))
    n_ids = (len(set(ie.tolist())), len(set(ia.tolist())))
    first = None
    for f in sorted(set(fe.tolist()) | set(fa.tolist())):
        e, a = fe == f, fa == f
        if e.sum() != a.sum():
            first = f"frame {f}: {e.sum()} rows expected, {a.sum()} got"
            break
        diff = np.abs(be[e] - ba[a]).max(initial=0.0)
        if diff > tol:
            first = f"frame {f}: boxes differ by {diff:.3f} px"
            break
        if not np.array_equal(ie[e], ia[a]):
            first = f"frame {f}: ids {ie[e].tolist()} expected, {ia[a].tolist()} got (relabelled)"
            break
    max_diff = float(np.abs(be - ba).max(initial=0.0)) if first is None else float("nan")
    return Comparison(first is None, first, max_diff, counts, n_ids)

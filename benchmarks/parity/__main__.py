"""python -m benchmarks.parity {compare,fixtures,bench}: see benchmarks/parity/__init__.py.

  compare [SCENE ...]        our decode + tracker on the standard scenes, against the reference
                             when FAIRMOT_REF is set, else against the committed fixtures
  fixtures [--out DIR]       (needs FAIRMOT_REF) write the tracker and per-frame fixtures
  bench [--objects 10 50 200] [--frames 100] [--repeat 2]
                             ms per frame of decode + association (network excluded), ours and
                             (with FAIRMOT_REF) the reference's, alternating in one process
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 -- after the thread caps above
import torch  # noqa: E402 -- after the thread caps above

from benchmarks.parity import fixtures, reference, scenes  # noqa: E402 -- after the thread caps above
from benchmarks.parity.compare import as_arrays, compare  # noqa: E402 -- after the thread caps above
from benchmarks.parity.ours import run_ours  # noqa: E402 -- after the thread caps above


def cmd_compare(names: list[str]) -> int:
    failures = 0
    for name in names or list(fixtures.SCENES):
        kind, params = fixtures.SCENES[name]
        dets = scenes.build(kind, **params)
        ours, seconds = run_ours(dets)
        if reference.available():
            ref, ref_seconds = reference.run_reference(dets)
            expected, source = as_arrays(ref), f"reference ({1000 * ref_seconds.mean():.2f} ms/frame)"
        else:
            expected, source = fixtures.load_tracking(name)[1], "fixture"
        result = compare(expected, as_arrays(ours))
        failures += not result.identical
        print(f"{name:10s} vs {source}, ours {1000 * seconds.mean():.2f} ms/frame: {result}")
    return 1 if failures else 0


def cmd_bench(objects: list[int], frames: int, repeat: int, seed: int) -> int:
    with_ref = reference.available()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); decode + association + output "
          f"filter per frame, network excluded; {frames} frames, seed {seed}; mean over frames 6..end")
    for n in objects:
        dets = scenes.walking(n, frames, seed)
        per_frame = len(dets) / frames
        times: dict[str, list[float]] = {"ours": [], "reference": []}
        for k in range(repeat):
            sides = ["ours", "reference"] if with_ref else ["ours"]
            for side in (sides if k % 2 == 0 else sides[::-1]):
                run = run_ours if side == "ours" else reference.run_reference
                _, seconds = run(dets)
                times[side].append(1000 * float(np.mean(seconds[5:])))
        line = f"{n:4d} objects ({per_frame:.1f} detections/frame): ours {min(times['ours']):.2f} ms"
        if with_ref:
            ref = min(times["reference"])
            line += f", reference {ref:.2f} ms ({ref / min(times['ours']):.1f}x)"
        print(line + f"  [best of {repeat}]")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.parity", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("scenes", nargs="*")
    f = sub.add_parser("fixtures")
    f.add_argument("--out", default=str(fixtures.FIXTURES))
    f.add_argument("--only", choices=["tracking", "frame_path"], help="write one kind of fixture only")
    b = sub.add_parser("bench")
    b.add_argument("--objects", type=int, nargs="+", default=[10, 50, 200])
    b.add_argument("--frames", type=int, default=100)
    b.add_argument("--repeat", type=int, default=2)
    b.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "compare":
        return cmd_compare(args.scenes)
    if args.cmd == "fixtures":
        fixtures.write_all(args.out, args.only)
        return 0
    return cmd_bench(args.objects, args.frames, args.repeat, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: `fairmot track` on a loopback MJPEG camera, capture-to-result latency p50/p95 and drops.

A sequence's frames are served like a camera (frame i due i / fps seconds after the first request,
tests/inference/stream_servers.py) and tracked twice, without and with `--live`; each run's summary
line (fps, latency p50/p95, dropped frames) is printed.

    python benchmarks/stream_latency.py --frames data/dataset/images/test/SYN-05 --model data/model/model.pt
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fairmot.inference.sources import image_files, read_image  # noqa: E402
from tests.inference.stream_servers import MjpegServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=Path, required=True, help="an image folder (or MOT sequence folder) to serve")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--fps", type=float, default=25.0, help="the camera's frame rate")
    parser.add_argument("--limit", type=int, default=0, help="serve only the first N frames (0: all)")
    args = parser.parse_args()
    files = image_files(args.frames)
    frames = [read_image(p) for p in files[: args.limit or None]]
    fairmot = Path(sys.executable).parent / "fairmot"
    with tempfile.TemporaryDirectory() as tmp:
        for live in (False, True):
            with MjpegServer(frames, fps=args.fps) as server:
                out = Path(tmp) / f"live-{live}"
                done = subprocess.run(
                    [str(fairmot), "track", server.url, "--model", str(args.model), "--out", str(out), "--no-video",
                     "--reconnect-s", "0", "--frame-rate", str(args.fps), "--stats-json", str(out / "stats.json"),
                     *(["--live"] if live else [])], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr.strip().splitlines()[-1])
            stats = json.loads((out / "stats.json").read_text())
            print(f"{'--live' if live else 'no --live'}: {stats['frames']} frames of {len(frames)} at {args.fps:g} fps, "
                  f"tracker {stats['fps']:.1f} fps, latency p50 {stats['latency_ms_p50']:.1f} ms, "
                  f"p95 {stats['latency_ms_p95']:.1f} ms, {stats['dropped']} dropped")


if __name__ == "__main__":
    main()

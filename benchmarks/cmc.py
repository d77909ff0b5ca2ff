"""Camera motion estimation: milliseconds per frame and accuracy of each `track.cmc` method on this CPU.

A textured world filmed by a camera that pans, zooms and rolls slightly (a known affine per frame),
with walkers (flat-coloured boxes) moving across it and sensor noise. Each method runs over the
sequence as `detect` and `fairmot track` run it (CameraMotion.apply per frame: grey, shrink,
estimate); the figures are the mean milliseconds per frame after the first (wall clock, and this
process's CPU time, which other processes on a shared machine do not inflate) and the worst and
median error, in pixels, at the four frame corners of the estimated frame-to-frame warp against
the true one.

    python benchmarks/cmc.py                      # 1920x1080, 60 frames
    python benchmarks/cmc.py --width 640 --height 360 --frames 10
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from fairmot.inference.camera_motion import METHODS, CameraMotion


def texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A grey street-like world: smooth noise at three scales plus flat rectangles (edges and corners)."""
    world = np.full((height, width), 128, np.float32)
    for k in (4, 16, 64):
        noise = rng.standard_normal((height // k + 2, width // k + 2)).astype(np.float32)
        world += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) * 25
    for _ in range(width * height // 20000):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(8, max(9, width // 20)))
        cv2.rectangle(world, (x, y), (x + size, y + int(rng.integers(8, size + 9))), float(rng.integers(40, 220)), -1)
    return np.clip(cv2.GaussianBlur(world, (0, 0), 1.0), 0, 255).astype(np.uint8)


def camera(frame: int, width: int, height: int) -> np.ndarray:
    """The 3x3 map from the frame's pixels into the world's: a slow pan, a zoom of a few percent, a slight roll."""
    t = frame / 30.0
    scale = 1.0 + 0.04 * np.sin(2 * np.pi * t / 3.0)
    angle = np.deg2rad(0.8 * np.sin(2 * np.pi * t / 4.0))
    cx = 0.5 * width + 0.12 * width * np.sin(2 * np.pi * t / 5.0) + width * 0.2
    cy = 0.5 * height + 0.06 * height * np.sin(2 * np.pi * t / 4.0) + height * 0.2
    c, s = np.cos(angle) / scale, np.sin(angle) / scale
    return np.array([[c, -s, cx - c * width / 2 + s * height / 2], [s, c, cy - s * width / 2 - c * height / 2], [0, 0, 1]])


def panning_frames(width: int, height: int, frames: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """BGR frames of the world through `camera`, walkers and noise on top; the true warp into each frame."""
    rng = np.random.default_rng(seed)
    world = texture(int(width * 1.4), int(height * 1.4), rng)
    walkers = [(rng.uniform(0, width), rng.uniform(0.3, 0.8) * height, rng.uniform(-4, 4), rng.integers(30, 220))
               for _ in range(20)]
    images, warps = [], [np.eye(3)[:2]]
    for f in range(frames):
        to_world = camera(f, width, height)
        image = cv2.warpAffine(world, to_world[:2], (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        for x, y, vx, shade in walkers:
            w, h = 0.03 * height, 0.1 * height
            x0 = int((x + vx * f * width / 640) % width)
            cv2.rectangle(image, (x0, int(y)), (int(x0 + w), int(y + h)), int(shade), -1)
        noisy = np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
        images.append(cv2.cvtColor(noisy, cv2.COLOR_GRAY2BGR))
        if f:
            warps.append((np.linalg.inv(to_world) @ camera(f - 1, width, height))[:2])
    return images, warps


def corner_error(estimate: np.ndarray, truth: np.ndarray, width: int, height: int) -> float:
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], np.float64)
    return float(np.abs(corners @ (estimate[:, :2] - truth[:, :2]).T + (estimate[:, 2] - truth[:, 2])).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=0, help="OpenCV threads (0 = its default)")
    args = parser.parse_args()
    if args.threads:
        cv2.setNumThreads(args.threads)
    images, truth = panning_frames(args.width, args.height, args.frames)
    print(f"{args.width}x{args.height}, {args.frames} frames, OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads")
    print(f"{'method':8s} {'ms/frame':>9s} {'cpu ms':>7s} {'worst corner error px':>22s} {'median':>7s}")
    for method in METHODS:
        motion = CameraMotion(method)
        motion.apply(images[0])
        errors = []
        wall, cpu = time.perf_counter(), time.process_time()
        for image in images[1:]:
            errors.append(motion.apply(image))
        wall, cpu = (time.perf_counter() - wall) / len(errors), (time.process_time() - cpu) / len(errors)
        errors = [corner_error(e, w, args.width, args.height) for e, w in zip(errors, truth[1:])]
        print(f"{method:8s} {1000 * wall:9.2f} {1000 * cpu:7.2f} {max(errors):22.3f} {np.median(errors):7.3f}")


if __name__ == "__main__":
    main()

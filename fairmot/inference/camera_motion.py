"""Camera motion between consecutive frames, as a 2x3 affine for the trackers' motion compensation.

`CameraMotion(method).apply(frame)` returns the warp that maps the previous frame's pixel
coordinates to this frame's (identity for the first frame of a sequence, and whenever the estimate
fails), in full-resolution pixels. The trackers (fairmot.tracking.compensation) move their Kalman
states by it before association. The estimate runs on a grey image shrunk by a whole factor (each
block sampled at its centre, so the two coordinate systems are related exactly) to about
PROCESS_WIDTH pixels wide:
- sparse: Shi-Tomasi corners of the previous frame followed by pyramidal Lucas-Kanade optical flow,
  then a RANSAC similarity (cv2.estimateAffinePartial2D: rotation, uniform scale, translation); the
  inlier corners carry on to the next frame until fewer than half are left (new corners only then);
- ecc: OpenCV's ECC image alignment (cv2.findTransformECC, MOTION_AFFINE: zooms need the scale),
  started from the last estimate, since camera motion changes slowly;
- orb: ORB keypoints matched by Hamming distance (cross-checked), then the RANSAC similarity.
People move too: RANSAC (sparse, orb) and the background's majority of pixels (ecc) keep their
motion out of the camera's. As BoT-SORT's GMC (NirAharon/BoT-SORT tracker/gmc.py) does, less the
detection masks (the warp is computed before detection, so `detect` and `track` share it).
"""

from __future__ import annotations

import cv2
import numpy as np

METHODS = ("sparse", "ecc", "orb")
# The estimate runs at about this width (1920 -> 480: factor 4; ECC, which warps the whole image per
# iteration, at 320: factor 6); benchmarks/cmc.py measures the time and error of each
PROCESS_WIDTH = {"sparse": 480, "ecc": 320, "orb": 480}
MAX_CORNERS, MIN_POINTS, KEEP_CORNERS = 150, 8, 0.5
LK_WINDOW, LK_LEVELS = (11, 11), 2
RANSAC_PX = 1.0  # inlier distance in the shrunk image
ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 15, 1e-3)
ECC_BLUR = 1  # Gaussian pre-blur of ECC (odd; 1 = none: it biased the estimate on the benchmark)
# One pyramid level (keypoints at whole pixels of the shrunk image), 200 keypoints: 3x faster than
# ORB's defaults (500 keypoints, 8 levels) and 3x more accurate on the benchmark
ORB_SETTINGS = dict(nfeatures=200, nlevels=1, fastThreshold=20, edgeThreshold=15, patchSize=15)


def identity() -> np.ndarray:
    return np.eye(2, 3)


def shrink_factor(width: int, method: str) -> int:
    """The whole factor that brings `width` to about the method's PROCESS_WIDTH (1 for small frames)."""
    return max(1, int(round(width / PROCESS_WIDTH[method])))


def to_full_resolution(warp: np.ndarray, factor: int) -> np.ndarray:
    """A warp between shrunk images (pixel centres) as one between the full frames' pixel centres.

    Full pixel p and shrunk pixel q = (p - c) / f with c = (f - 1) / 2 (each f x f block at its centre);
    q' = A q + t becomes p' = A p + f t + (I - A) c.
    """
    full = np.asarray(warp, dtype=np.float64).copy()
    c = (factor - 1) / 2.0
    full[:, 2] = factor * full[:, 2] + c - full[:, :2] @ np.array([c, c])
    return full


class CameraMotion:
    """Frame-to-frame camera motion of one sequence; `reset` before the next one."""

    def __init__(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown camera motion method {method!r}; choose one of {', '.join(METHODS)}")
        self.method = method
        self._detector = cv2.ORB_create(**ORB_SETTINGS) if method == "orb" else None
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True) if method == "orb" else None
        self.reset()

    def reset(self) -> None:
        self._prev: tuple[np.ndarray, object] | None = None  # the last frame's grey image and its features
        self._last = identity().astype(np.float32)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """The (2, 3) float64 warp from the previous frame given to this one (identity for the first)."""
        factor = shrink_factor(frame.shape[1], self.method)
        grey = _grey(frame, factor)
        warp, features = None, None
        if self._prev is not None and self._prev[0].shape == grey.shape:
            warp, features = getattr(self, f"_estimate_{self.method}")(*self._prev, grey)
        self._prev = (grey, features if features is not None else self._features(grey))
        return identity() if warp is None else to_full_resolution(warp, factor)

    def _features(self, grey: np.ndarray) -> object:
        """What the next frame is matched against: corners (sparse), keypoints and descriptors (orb)."""
        if self.method == "sparse":
            return cv2.goodFeaturesToTrack(grey, MAX_CORNERS, qualityLevel=0.01, minDistance=5, blockSize=3)
        if self.method == "orb":
            return self._detector.detectAndCompute(grey, None)
        return None

    def _estimate_sparse(self, prev_grey: np.ndarray, points: np.ndarray | None, grey: np.ndarray) -> tuple:
        """Optical flow of the previous frame's corners; the inliers carry on as the next frame's corners
        while at least KEEP_CORNERS of them are left (new corners only then: the costliest step)."""
        if points is None or len(points) < MIN_POINTS:
            return None, None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(prev_grey, grey, points, None, winSize=LK_WINDOW, maxLevel=LK_LEVELS)
        ok = status.reshape(-1) == 1
        warp, inliers = _similarity(points.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok])
        if warp is None or len(inliers) < KEEP_CORNERS * MAX_CORNERS:
            return warp, None
        return warp, moved.reshape(-1, 1, 2)[ok][inliers]

    def _estimate_ecc(self, prev_grey: np.ndarray, _features: None, grey: np.ndarray) -> tuple:
        try:
            _, warp = cv2.findTransformECC(prev_grey, grey, self._last.copy(), cv2.MOTION_AFFINE, ECC_CRITERIA, None,
                                           ECC_BLUR)
        except cv2.error:  # did not converge (a cut, a blank frame): no compensation this frame
            self._last = identity().astype(np.float32)
            return None, None
        self._last = warp
        return warp, None

    def _estimate_orb(self, _prev_grey: np.ndarray, previous: tuple, grey: np.ndarray) -> tuple:
        (prev_points, prev_desc), current = previous, self._features(grey)
        points, desc = current
        if prev_desc is None or desc is None or len(prev_points) < MIN_POINTS or len(points) < MIN_POINTS:
            return None, current
        matches = self._matcher.match(prev_desc, desc)
        src = np.float32([prev_points[m.queryIdx].pt for m in matches]).reshape(-1, 2)
        dst = np.float32([points[m.trainIdx].pt for m in matches]).reshape(-1, 2)
        return _similarity(src, dst)[0], current


def _grey(frame: np.ndarray, factor: int) -> np.ndarray:
    """Shrunk by `factor`, then grey. Bilinear resizing by a whole factor samples each f x f block at its
    centre (the frame's last rows and columns short of a whole block are dropped); it reads 4 pixels a
    block instead of all, several times faster than block averages on a 1080p frame, and shrinking first
    leaves cvtColor a small image."""
    if factor > 1:
        h, w = frame.shape[0] // factor, frame.shape[1] // factor
        frame = cv2.resize(frame[: h * factor, : w * factor], (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """RANSAC rotation + uniform scale + translation from point pairs, and the inliers' indices;
    (None, []) with too few pairs or no consensus."""
    if len(src) < MIN_POINTS:
        return None, np.zeros(0, np.int64)
    warp, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                                maxIters=2000, confidence=0.995, refineIters=10)
    inliers = np.flatnonzero(inliers.reshape(-1)) if inliers is not None else np.zeros(0, np.int64)
    if warp is None or len(inliers) < MIN_POINTS:
        return None, np.zeros(0, np.int64)
    return warp, inliers

"""How the network runs, decided once: built from Params by a stage, passed to the runner and the checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fairmot.config import Params

DEFAULT_ONNX = Path("data/export/model.onnx")


@dataclass(frozen=True)
class InferenceSettings:
    """Everything but the tracker's own params (`track.*`) that decides how frames become detections.

    `input_w` x `input_h` is the size for a released checkpoint, which records none (ours run at the
    size they were trained at); `engine` None runs the model as it is, without an engine; `batch` is
    frames per network pass (offline passes only: online tracking goes frame by frame); `cmc` the camera
    motion estimators whose warps an offline pass caches (eval.cmc; online tracking estimates track.cmc's).
    """

    input_w: int = 1088
    input_h: int = 608
    device: str = "cpu"
    amp: str | bool | None = None
    engine: str | None = "torch"
    precision: str = "fp32"
    onnx_path: Path = DEFAULT_ONNX
    threads: int = 0
    batch: int = 1
    warmup: int = 5
    arch: str | None = None
    cmc: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Params, *, device: str, amp: str | bool | None = None,
                    onnx_path: Path = DEFAULT_ONNX, arch: str | None = None, batch: int | None = None) -> InferenceSettings:
        """The `eval.*` section and the input size of params; `batch` None takes eval.batch."""
        return cls(input_w=params.input_w, input_h=params.input_h, device=device, amp=amp, engine=params.eval.engine,
                   precision=params.eval.precision,
                   onnx_path=Path(onnx_path), threads=params.eval.threads,
                   batch=params.eval.batch if batch is None else batch, warmup=params.eval.warmup_frames, arch=arch,
                   cmc=tuple(params.eval.cmc))

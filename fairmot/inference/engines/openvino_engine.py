"""OpenVINO engine over the IR `fairmot export` writes beside model.onnx (model.xml/.bin, and the int8
model_int8.xml/.bin): fp32, bf16 (the fp32 IR compiled with a bf16 inference-precision hint, on a CPU
that has BF16) or int8 (NNCF's post-training quantization of the fp32 IR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fairmot.errors import ConfigError, DataError, first_line
from fairmot.inference.engines.base import as_batch, refuse_other_source
from fairmot.inference.engines.onnx_engine import INPUT_NAME, OUTPUT_NAMES

PRECISIONS = ("fp32", "bf16", "int8")
# Where in the IR's rt_info `fairmot export` records the sha256 of the checkpoint it came from
IR_SOURCE_KEY = ("fairmot", "checkpoint_sha256")
_HINT = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # int8 layers stay int8; the rest in float32


def ir_path(onnx_path: Path | str, precision: str) -> Path:
    """The IR a precision runs, named after the ONNX graph beside it: model.xml (fp32 and bf16), model_int8.xml."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(f"{onnx_path.stem}_int8.xml") if precision == "int8" else onnx_path.with_suffix(".xml")


def cpu_capabilities() -> list[str]:
    """What OpenVINO's CPU plugin reports it can compute in (FP32, BF16, INT8, ...)."""
    import openvino as ov

    return list(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def check_precision(precision: str, key: str = "eval.precision") -> None:
    """Refuse an unknown precision, and bf16 on a CPU without it (OpenVINO would emulate it, slower)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"{key}: {precision!r} is not a precision; choose one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and "BF16" not in (capabilities := cpu_capabilities()):
        raise ConfigError(f"{key}: bf16 needs a CPU with BF16 (this one offers {', '.join(capabilities)}); "
                          "use fp32 or int8")


class OpenVinoEngine:
    """A compiled IR at a fixed batch; head maps come back as CPU tensors over the request's own buffers,
    valid until the next call. A shorter last batch is padded to the compiled one."""

    name = "openvino"

    def __init__(self, path: Path | str, *, precision: str = "fp32", threads: int = 0, batch: int = 1) -> None:
        import openvino as ov

        check_precision(precision)
        self.path, self.precision, self.batch = Path(path), precision, batch
        self.device = torch.device("cpu")
        if not self.path.is_file() or not self.path.with_suffix(".bin").is_file():
            raise DataError(f"{self.path}: OpenVINO model (.xml/.bin) not found; run `fairmot export` first")
        core = ov.Core()
        try:
            model = core.read_model(str(self.path))
        except RuntimeError as exc:
            raise DataError(f"{self.path}: OpenVINO cannot read this model ({first_line(exc)})") from None
        outputs = {name for port in model.outputs for name in port.get_names()}
        inputs = model.inputs[0].get_names() if len(model.inputs) == 1 else set()
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if INPUT_NAME not in inputs or missing:
            raise DataError(f"{self.path}: not an IR of `fairmot export` (missing outputs {', '.join(missing) or 'none'}"
                            f"{'' if INPUT_NAME in inputs else ', no input ' + repr(INPUT_NAME)}); re-run `fairmot export`")
        shape = model.input(INPUT_NAME).get_partial_shape()
        self.size = (shape[2].get_length(), shape[3].get_length())
        self.shape = (1, 3, *self.size)
        self.channels = {name: model.output(name).get_partial_shape()[1].get_length() for name in OUTPUT_NAMES}
        self.source = model.get_rt_info(list(IR_SOURCE_KEY)).astype(str) if model.has_rt_info(list(IR_SOURCE_KEY)) else ""
        model.reshape({INPUT_NAME: [batch, 3, *self.size]})
        config = {"INFERENCE_PRECISION_HINT": _HINT[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads > 0:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.input = np.zeros((batch, 3, *self.size), dtype=np.float32)

    def check_heads(self, expected: dict[str, int]) -> None:
        """Refuse an IR whose heads have other channel counts than the network's (another reid_dim, ...)."""
        wrong = [f"{name} {self.channels[name]} (the network's {count})" for name, count in expected.items()
                 if self.channels.get(name) != count]
        if wrong:
            raise DataError(f"{self.path}: head channels {', '.join(wrong)} differ; re-run `fairmot export` for this checkpoint")

    def check_source(self, checkpoint_sha256: str, checkpoint: Path | str) -> None:
        """Refuse an IR exported from another checkpoint (or an older one of the same path)."""
        refuse_other_source(self.path, self.source, checkpoint_sha256, checkpoint)

    def __call__(self, blob: np.ndarray) -> dict[str, torch.Tensor]:
        frames = as_batch(blob, self.batch, self.size)
        n = len(frames)
        self.input[:n] = frames
        results = self.request.infer({INPUT_NAME: self.input}, share_inputs=True, share_outputs=True)
        return {name: torch.from_numpy(results[self.compiled.output(name)][:n]) for name in OUTPUT_NAMES}

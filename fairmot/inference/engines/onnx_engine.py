"""ONNX Runtime engine over an exported graph (`fairmot export`): the session, its input and output names.

The names live here, on the inference floor, so the exporter (fairmot.export) imports them from the
engine that runs its graph, never the reverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fairmot.errors import ConfigError, DataError, first_line
from fairmot.inference.engines.base import as_batch, refuse_other_source

# Output order of the exported graph (and of ONNX Runtime's results)
OUTPUT_NAMES = ("hm", "wh", "reg", "id")
INPUT_NAME = "input"
# Graph metadata key holding the sha256 of the checkpoint the graph was exported from
SOURCE_KEY = "fairmot.checkpoint_sha256"


def onnx_session(path: Path | str, *, device: Any = "cpu", threads: int = 0) -> Any:
    """An ONNX Runtime session: CUDA provider first when asked for and available, CPU otherwise.

    threads > 0 sets ONNX Runtime's intra-op threads (0 = its default, one per core).
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ONNX model not found; run `fairmot export` first")
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting between runs: the tracker works on the CPU between frames, and spinning
    # threads would take the cores from it (and from a PyTorch model in the same process)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError(f"device {device}: this onnxruntime has no CUDAExecutionProvider "
                              "(install onnxruntime-gpu) ; use --device cpu or --engine torch")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Exception subclasses only
        raise DataError(f"{path}: ONNX Runtime cannot load this model ({first_line(exc)})") from None


class OnnxEngine:
    """ONNX Runtime over an exported graph; head maps come back as CPU tensors (zero-copy).

    The exported graph takes one frame (its batch axis is fixed at 1), so a batch runs frame by frame.
    """

    name = "onnx"

    def __init__(self, path: Path | str, *, device: Any = "cpu", threads: int = 0, batch: int = 1) -> None:
        self.path = Path(path)
        self.batch = batch
        self.session = onnx_session(path, device=device, threads=threads)
        # Results are read back to the host, where decoding then runs
        self.device = torch.device("cpu")
        spec = self.session.get_inputs()[0]
        self.dtype = np.float16 if "float16" in spec.type else np.float32
        self.shape = tuple(spec.shape)
        # (height, width) of a fixed-size export; None for a dynamic one (names instead of numbers)
        self.size = tuple(self.shape[2:]) if all(isinstance(d, int) for d in self.shape) else None
        # sha256 of the checkpoint `fairmot export` made the graph from ("" when it recorded none)
        self.source = self.session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY, "")
        outputs = {out.name: out.shape for out in self.session.get_outputs()}
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if spec.name != INPUT_NAME or missing:
            raise DataError(f"{self.path}: not a graph of `fairmot export` (input {spec.name!r}, missing outputs "
                            f"{', '.join(missing) or 'none'}); re-run `fairmot export`")
        self.channels = {name: outputs[name][1] if len(outputs[name]) > 1 else None for name in OUTPUT_NAMES}

    def check_heads(self, expected: dict[str, int]) -> None:
        """Refuse a graph whose heads have other channel counts than the network's (another reid_dim, ...)."""
        wrong = [f"{name} {self.channels[name]} (the network's {count})" for name, count in expected.items()
                 if isinstance(self.channels.get(name), int) and self.channels[name] != count]
        if wrong:
            raise DataError(f"{self.path}: head channels {', '.join(wrong)} differ; re-run `fairmot export` "
                            "for this checkpoint")

    def check_source(self, checkpoint_sha256: str, checkpoint: Path | str) -> None:
        """Refuse a graph exported from another checkpoint (or an older one of the same path)."""
        refuse_other_source(self.path, self.source, checkpoint_sha256, checkpoint)

    def __call__(self, blob: np.ndarray) -> dict[str, torch.Tensor]:
        frames = as_batch(blob, self.batch, self.size)
        runs = [self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: frame[None].astype(self.dtype, copy=False)})
                for frame in frames]
        return {name: torch.from_numpy(np.concatenate([run[i] for run in runs]) if len(runs) > 1 else runs[0][i])
                for i, name in enumerate(OUTPUT_NAMES)}

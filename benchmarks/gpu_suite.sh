#!/usr/bin/env bash
# The GPU checks in one call (for a lent CUDA machine whose python already has torch):
# CUDA tests, forward / train-step / FPS benchmarks for DLA-34 at 1088x608 with and without AMP,
# and the synthetic pipeline trained and evaluated on the GPU. Wheels for what the GPU image
# lacks (lap, motmetrics, trackeval) are carried in .gpu_wheels/. Figures land in $OUT.
set -euo pipefail
OUT=${OUT:-/tmp/gpu_suite}
mkdir -p "$OUT"
export PYTHONPATH=$PWD
PY=${PY:-python3}
if compgen -G ".gpu_wheels/*.whl" > /dev/null; then
    $PY -m pip install -q --no-deps .gpu_wheels/*.whl
else  # the lent machine reaches no index: fill .gpu_wheels/ here first (pip download lap motmetrics trackeval)
    echo "note: no .gpu_wheels/*.whl; the pipeline step needs lap, motmetrics and trackeval in $PY" >&2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$PY -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)" | tee -a "$OUT/gpu.txt"

echo "== CUDA tests"
# the files whose tests need CUDA (they skip on the CPU), plus the models they build on
$PY -m pytest -q -p no:cacheprovider tests/test_engines.py tests/models/test_dcn.py tests/models/test_decode.py \
    tests/models/test_models.py tests/models/test_losses.py tests/training/test_train_ddp.py \
    tests/training/test_train_errors.py 2>&1 | tail -3

echo "== forward, 1088x608 and 320x192"
$PY benchmarks/forward.py --archs dla34 dlaconv hrnet18 hrnet32 dla_tiny --device cuda --repeats 20 --json "$OUT/forward_fp32.json" | tail -8
$PY benchmarks/forward.py --archs dla34 hrnet18 --device cuda --amp --repeats 20 --json "$OUT/forward_amp.json" | tail -4

echo "== train step, dla34 1088x608 batch 18"
$PY benchmarks/train_step.py --arch dla34 --batch-size 18 --width 1088 --height 608 --device cuda --data random --steps 10 --warmup 3 --json "$OUT/train_fp32.json" | tail -4
$PY benchmarks/train_step.py --arch dla34 --batch-size 18 --width 1088 --height 608 --device cuda --data random --steps 10 --warmup 3 --amp auto --json "$OUT/train_amp.json" | tail -4

echo "== end-to-end FPS, dla34 1088x608 (1920x1080 source frames)"
$PY benchmarks/fps.py --arch dla34 --width 1088 --height 608 --source 1920x1080 --device cuda --frames 200 | tail -3
$PY benchmarks/fps.py --arch dla34 --width 1088 --height 608 --source 1920x1080 --device cuda --frames 200 --amp bf16 | tail -3

echo "== inference engines side by side (baseline, lean PyTorch, lean + AMP, ONNX Runtime), end to end per engine"
$PY benchmarks/engines.py --device cuda --repeats 20 --frames 200 | tee "$OUT/engines_cuda.txt" | tail -16

echo "== synthetic pipeline on the GPU: generate, label, train (gpus 0, amp), evaluate on cuda"
D=$(mktemp -d)
$PY - "$D" <<'PYEOF'
import sys
from pathlib import Path
from fairmot.config import load_params
from fairmot.data.synthetic import generate_synthetic
from fairmot.data.labels import generate_labels
from fairmot.training import config_from_params, run_worker
import dataclasses, time
d = Path(sys.argv[1])
p = load_params("params.yaml", {"gpus": 0, "amp": True, "num_workers": 6})
generate_synthetic(d / "dataset", **dataclasses.asdict(p.synthetic))
generate_labels(d / "dataset", d / "labels", d / "splits")
cfg = config_from_params(p, dataset_root=d / "dataset", labels_root=d / "labels", splits_dir=d / "splits",
                         out_dir=d / "model")
t = time.perf_counter()
s = run_worker(cfg)
print(f"GPU train: {s.epochs} epochs in {time.perf_counter() - t:.1f} s, {s.samples_per_s:.1f} samples/s, "
      f"peak {s.peak_memory_mb:.0f} MB, loss {s.losses['loss']:.3f}")
PYEOF
$PY -m stages detect --model "$D/model/model.pt" --dataset "$D/dataset" --out "$D/detections" --reports "$OUT" --device cuda 2>&1 | tail -2
$PY -m stages evaluate --dataset "$D/dataset" --detections "$D/detections" --results "$D/results" --reports "$OUT" 2>&1 | tail -6
cp "$OUT/metrics.json" "$OUT/gpu_pipeline_metrics.json"

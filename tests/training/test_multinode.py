"""The README's multi-node recipe, for real: two torchrun "nodes" of one process each, on this machine.

Each node is its own `torchrun --nnodes 2 --nproc-per-node 1 --rdzv-backend c10d` (gloo on the CPU), with
its own output folders as on separate machines; the c10d rendezvous on 127.0.0.1 decides which becomes
rank 0. Both must finish, and only rank 0's node holds the checkpoints and reports/train.json.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_torchrun_nodes_train_together_and_rank_0_alone_writes_the_checkpoint(tmp_path, tiny_dataset, tiny_labels):
    labels, splits = tiny_labels
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(batch_size=2, num_epochs=1, num_iters=3, num_workers=0, lr_step=[5], gpus=-1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    endpoint, run_id = f"127.0.0.1:{free_port()}", uuid.uuid4().hex[:8]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "COLUMNS": "400"}
    nodes = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", run_id,
               "-m", "stages", "train", "--params", str(tmp_path / "params.yaml"), "--gpus", "-1",
               "--dataset", str(tiny_dataset), "--labels", str(labels), "--splits", str(splits),
               "--out", str(tmp_path / f"node{node}" / "model"), "--reports", str(tmp_path / f"node{node}" / "reports")]
        nodes.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    try:
        for proc in nodes:
            logs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in nodes:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in nodes] == [0, 0], "\n\n".join(logs)
    # the rendezvous picks rank 0: the node that says it joined (only rank 0 logs) is the one that wrote
    leaders = [node for node, log in enumerate(logs) if "joining the torchrun group: world size 2 (CPU)" in log]
    assert len(leaders) == 1, "\n\n".join(logs)
    leader, other = tmp_path / f"node{leaders[0]}", tmp_path / f"node{1 - leaders[0]}"
    assert sorted(p.name for p in (leader / "model").iterdir()) == ["model.pt", "model_last.pt"]
    assert not (other / "model").exists() or not any((other / "model").iterdir())
    assert not (other / "reports" / "train.json").exists()
    report = json.loads((leader / "reports" / "train.json").read_text())
    assert (report["world_size"], report["steps"], report["epochs"]) == (2, 3, 1)
    final = torch.load(leader / "model" / "model.pt", weights_only=True)
    assert final["progress"]["global_step"] == 3

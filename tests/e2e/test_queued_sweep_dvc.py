"""docs/experiments.md's sweep recipe through real DVC: `dvc exp run --queue -S 'lr=...,...'` queues one
experiment per value, `dvc queue start -j 2` runs them two at a time, each ends with its own metrics."""

import json
import time

import pytest
import yaml

from tests.e2e.test_pipeline_e2e import REPO, TINY, copy_project, merge, run

pytestmark = pytest.mark.slow


def queue_states(root, env) -> list[str]:
    """The status column of `dvc queue status`, one entry per queued experiment."""
    out = run(["dvc", "queue", "status"], root, env)
    states = ("Queued", "Running", "Success", "Failed")
    return [word for line in out.splitlines()[1:] for word in line.split() if word in states]


def experiments(root, env) -> list[dict]:
    """(name, lr, trained steps) of every experiment `dvc exp show --json` lists."""
    found = []
    for baseline in json.loads(run(["dvc", "exp", "show", "--json", "--force"], root, env)):
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                data = rev["data"]
                train = data["metrics"].get("reports/train.json", {}).get("data", {})
                found.append({"name": rev.get("name"), "lr": data["params"]["params.yaml"]["data"]["lr"],
                              "steps": train.get("steps"), "loss": train.get("loss")})
    return found


def test_a_queued_two_value_lr_sweep_runs_two_workers_and_records_both(tmp_path):
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), {**TINY, "num_iters": 2})
    root, env = copy_project(tmp_path / "clone", params)
    run(["dvc", "repro", "validate"], root, env)  # the data stages once; the experiments restore them from the cache
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "data"], root, env)

    run(["dvc", "exp", "run", "--queue", "train", "-S", "lr=0.001,0.002"], root, env)
    assert queue_states(root, env) == ["Queued", "Queued"]
    run(["dvc", "queue", "start", "-j", "2"], root, env)
    deadline = time.monotonic() + 900
    while (states := queue_states(root, env)) and any(s in ("Queued", "Running") for s in states):
        assert time.monotonic() < deadline, f"the queue did not finish: {states}"
        time.sleep(2)
    assert states == ["Success", "Success"], run(["dvc", "queue", "status"], root, env)

    found = experiments(root, env)
    assert sorted(e["lr"] for e in found) == [0.001, 0.002]
    assert all(e["steps"] == 2 and e["loss"] is not None for e in found), found
    assert found[0]["loss"] != found[1]["loss"]  # two trainings, not one result shown twice
    assert len({e["name"] for e in found}) == 2

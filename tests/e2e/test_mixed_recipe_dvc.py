"""The README's mixed-data recipe (MOT17 + CrowdHuman + a CVAT export) as one real `dvc exp run`."""

import json
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.data.kinds import crowdhuman_folder, cvat_zip
from tests.e2e.test_pipeline_e2e import TINY, copy_project, merge, run

pytestmark = pytest.mark.slow

# MOT17 stand-in: synthetic sequences under MOT17's own names and archive layout.
MOT17_NAMES = {"train/SYN-01": "train/MOT17-02-SDP", "train/SYN-02": "train/MOT17-04-SDP", "test/SYN-03": "test/MOT17-01-SDP"}


def mot17_standin_zip(path: Path, tmp: Path) -> Path:
    from fairmot.data.synthetic import generate_synthetic

    generate_synthetic(tmp / "syn", seed=3, train_sequences=2, val_sequences=1, frames=12, width=320, height=192,
                       frame_rate=30, density=4.0, ignore_fraction=0.0)
    with zipfile.ZipFile(path, "w") as zf:
        for old, new in MOT17_NAMES.items():
            folder = tmp / "syn" / "images" / old
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    data = file.read_bytes()
                    if file.name == "seqinfo.ini":
                        data = data.replace(f"name={Path(old).name}".encode(), f"name={Path(new).name}".encode())
                    zf.writestr(f"MOT17/{new}/{file.relative_to(folder)}", data)
    return path


def test_readme_mixed_recipe_trains_on_mot17_crowdhuman_and_a_cvat_export_in_one_exp_run(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    mot17 = mot17_standin_zip(sources / "MOT17.zip", tmp_path)
    crowd = crowdhuman_folder(sources / "CrowdHuman")
    cvat = cvat_zip(sources / "shop_mot11.zip")
    root, env = copy_project(tmp_path / "clone", merge(yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text()), TINY))
    # The README's command, word for word but for the paths
    run(["dvc", "exp", "run", "-n", "mixed",
         "-S", f"data.datasets=[{{name:mot17,kind:mot,path:{mot17}}},{{name:crowdhuman,kind:detection,path:{crowd}}},"
               f"{{name:shop,kind:mot,path:{cvat}}}]",
         "-S", "data.train_split=half", "-S", "eval.split=val"], root, env)
    manifest = json.loads((root / "data" / "splits" / "manifest.json").read_text())["datasets"]
    assert {name: d["kind"] for name, d in manifest.items()} == {"mot17": "mot", "crowdhuman": "detection", "shop": "mot"}
    assert manifest["crowdhuman"]["identities"] == 0 and manifest["mot17"]["identities"] > 0
    assert (manifest["mot17"]["ids"], manifest["shop"]["ids"]) == ([1, 13], [14, 14])  # identity spaces kept apart
    train = json.loads((root / "reports" / "train.json").read_text())
    assert train["nID"] == 1 + sum(d["identities"] for d in manifest.values())  # max id + 1
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert metrics["frames"] == 6 + 6 + 2  # val: second halves of MOT17-02, MOT17-04 and the 3-frame CVAT shop
    shown = json.loads(run(["dvc", "exp", "show", "--json"], root, env).strip())
    names = [exp.get("name") for entry in shown for exp in (entry.get("experiments") or [])]
    assert "mixed" in names

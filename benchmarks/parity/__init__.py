"""Parity harness: this project's decode + tracker next to the reference FairMOT on identical head maps.

`python -m benchmarks.parity --help` lists the commands. Scenes (`scenes.py`) are detections;
`maps.py` turns one frame's detections into head maps that decode to exactly them; `ours.py`
runs them through `fairmot.inference.runner.OnlineTracker`; `reference.py` through the reference's
`JDETracker` when FAIRMOT_REF names a checkout of ifzhang/FairMOT (development only, never a
dependency); `compare.py` compares the two row by row. tests/tracking/test_parity_fixtures.py
replays the committed fixtures without the reference.
"""

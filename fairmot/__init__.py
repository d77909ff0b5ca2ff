"""FairMOT: one-shot multi-object tracking (detection + re-ID on one stride-4 map).

The library knows nothing of params.yaml, DVC or the CLI: plain typed arguments in, values out.
"""

__version__ = "0.1.0"

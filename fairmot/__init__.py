"""FairMOT: one-shot multi-object tracking (detection + re-ID on one stride-4 map).

The library knows nothing of params.yaml, DVC or the CLI: plain typed arguments in, values out.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and IDEs; at run time `__getattr__` imports it on first use
    from fairmot.inference.api import Tracker

__version__ = "0.1.0"
__all__ = ["Tracker", "__version__"]


def __getattr__(name: str) -> object:
    """`fairmot.Tracker`, imported on first use: `import fairmot` stays light (no torch, no upper floor)."""
    if name == "Tracker":
        from fairmot.inference.api import Tracker

        return Tracker
    raise AttributeError(f"module 'fairmot' has no attribute {name!r}")

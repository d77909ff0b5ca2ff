"""Atomic writes: an interrupted stage never leaves a half-written output that looks complete.

Each write goes to a temporary sibling `.<name>.<host>-<pid>.<random>.tmp` and is renamed over
the target when complete. The pid in the name is what lets a later write of the same target
remove the temporaries of a process that was killed (`kill -9`, OOM, power loss) instead of
leaving them inside DVC-tracked folders forever; a temporary whose owner cannot be checked
(another host, or the older nameless `mkstemp` form) is removed once it is `STALE_AFTER` old.
Temporaries are created with `os.open`/`os.mkdir`, not `mkstemp`/`mkdtemp`, so outputs get the
modes the user's umask gives an ordinary write (0644/0755 under umask 022), not 0600/0700.

Nothing a user owns is replaced: a folder is replaced only when it is absent, empty or holds
MARKER (written into every folder `atomic_dir` makes), and with replace=OURS a file only when
MANIFEST beside it lists it as written here; the current folder, its parents, the root, the home
folder and a project folder are never replaced. Callers check an output (`check_output_dir`,
`check_output_file`) before long work, and the swap itself runs under a lock file
`.<name>.lock`, so concurrent writers of one target take turns and the last one wins. A full
disk or a read-only place while writing becomes one OutputError line naming the target. A file
written as it goes (`appending_file`) lives as `<name>.partial` until closed cleanly, so a killed
run keeps its lines without leaving a complete-looking output.
"""

from fairmot.io.appending import PARTIAL_SUFFIX, appending_file, partial_path
from fairmot.io.atomic import atomic_dir, atomic_file, atomic_path, file_sha256, pyplot, save_figure, write_json, write_text
from fairmot.io.ownership import (
    ANY,
    MANIFEST,
    MARKER,
    MARKER_TEXT,
    OURS,
    OVERWRITE,
    POLICIES,
    check_output_dir,
    check_output_file,
    check_writable,
    foreign_entries,
    unsafe_folder,
)
from fairmot.io.temps import STALE_AFTER, remove_stale_temps, temp_sibling

__all__ = [
    "ANY", "MANIFEST", "MARKER", "MARKER_TEXT", "OURS", "OVERWRITE", "PARTIAL_SUFFIX", "POLICIES", "STALE_AFTER",
    "appending_file", "atomic_dir", "partial_path",
    "atomic_file", "atomic_path", "check_output_dir", "check_output_file", "check_writable", "file_sha256",
    "foreign_entries", "pyplot", "remove_stale_temps", "save_figure", "temp_sibling", "unsafe_folder", "write_json",
    "write_text",
]

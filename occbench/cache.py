"""Where occbench keeps what it can recompute: ``$OCCBENCH_CACHE``, else ``$XDG_CACHE_HOME/occbench``
(default ``~/.cache/occbench``). Deleting the folder only costs time."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "OCCBENCH_CACHE"


def cache_root() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "occbench"

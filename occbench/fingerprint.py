"""Fingerprints: short digests of everything that determines a dataset's or a run's content.

A build records the fingerprint of its inputs (the source folder's listing, the generator's files) and a
resumed or sharded build must see the same inputs; a finished dataset records the sha256 of its manifest
(which holds the sha256 of every file), and a prediction run records the method, its parameters, the
weight files it loaded and that dataset digest. Work whose fingerprint differs is refused, never mixed in.

A listing fingerprint covers relative paths and sizes, not absolute paths or modification times: the same
files copied elsewhere match, a file added, removed, renamed or rewritten to another size does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def digest(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (hex)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def listing(paths: Iterable[Path], root: Path | None = None) -> dict[str, Any]:
    """``{"files": n, "sha256": …}`` over (relative path, size) of ``paths`` (missing files count as size -1)."""
    entries = []
    for path in paths:
        try:
            size = os.stat(path).st_size
        except OSError:
            size = -1
        entries.append((_relative(Path(path), root), size))
    entries.sort()
    return {"files": len(entries), "sha256": digest(entries)}


def folder_listing(root: Path) -> dict[str, Any]:
    """:func:`listing` of every regular file under ``root`` (hidden files and folders excluded)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        files.extend(Path(dirpath) / f for f in filenames if not f.startswith("."))
    return listing(files, root)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (hex)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
    return sha.hexdigest()

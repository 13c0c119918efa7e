"""Per-sample random number generators (docs/conventions.md §3). Never use numpy's or Python's global RNG.

``sample_rng(seed, key...)`` is ``numpy.random.default_rng(SeedSequence([seed, *words]))`` where
string key parts are turned into 32-bit words through SHA-256, so the stream depends only on the
protocol seed and the sample's identity, never on run order or worker count.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _words(part: int | str) -> list[int]:
    if isinstance(part, (int, np.integer)):
        if part < 0:
            raise ValueError(f"Expected a non-negative integer key, but got {part}")
        return [int(part)]
    digest = hashlib.sha256(str(part).encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def sample_rng(seed: int, *key: int | str) -> np.random.Generator:
    """Generator seeded by the protocol seed and a sample key (e.g. the sample id and a stream name)."""
    entropy = _words(seed)
    for part in key:
        entropy += _words(part)
    return np.random.default_rng(np.random.SeedSequence(entropy))

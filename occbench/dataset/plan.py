"""Which samples a build produces: stable ids, ``--limit`` and ``--shard i/N``.

A work unit is one source item with the variant indices to draw for it (the image is loaded once).
Sample ids are the item id, plus ``_v<k>`` when the protocol draws several variants per image, so an
id never depends on run order. ``--limit N`` keeps the first N samples in id order; ``--shard i/N``
(0-based ``i``) keeps every N-th unit starting at ``i``, so N array jobs cover the plan exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from occbench.errors import OccbenchError
from occbench.sources.base import SourceItem


@dataclass(frozen=True)
class WorkUnit:
    item: SourceItem
    variants: tuple[int, ...]


def sample_id(item_id: str, variant: int, n_variants: int) -> str:
    return item_id if n_variants == 1 else f"{item_id}_v{variant}"


def plan_units(items: list[SourceItem], n_variants: int, limit: int | None = None) -> list[WorkUnit]:
    """Units for all items (in id order), truncated to ``limit`` samples."""
    if len({item.id for item in items}) != len(items):
        raise OccbenchError("source returned duplicate ids; every item id must be unique")
    units, remaining = [], limit if limit is not None else len(items) * n_variants
    for item in sorted(items, key=lambda i: i.id):
        if remaining <= 0:
            break
        take = min(n_variants, remaining)
        units.append(WorkUnit(item, tuple(range(take))))
        remaining -= take
    return units


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` → ``(i, N)`` with ``0 <= i < N``."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise OccbenchError(f"--shard: Expected 'i/N' with 0 <= i < N (e.g. 0/4), but got {text!r}")
    return int(match[1]), int(match[2])


def shard_units(units: list[WorkUnit], index: int, count: int) -> list[WorkUnit]:
    return units[index::count]

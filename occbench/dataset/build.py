"""``occbench build-dataset``: run a protocol over a source and write DESIGN §3 to disk.

Resumable (finished samples are read back from ``.build/progress-*.csv`` and not redone), shardable
(``--shard i/N`` for cluster array jobs; the last shard to finish merges everything into one
manifest), parallel (``--workers``) and deterministic: outputs do not depend on worker count, shard
count or interruptions, because each sample's randomness comes from ``(protocol seed, sample id)``.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from occbench import __version__
from occbench.dataset.layout import DATASET_FORMAT, KINDS, DatasetLayout
from occbench.dataset.manifest import ProgressLog, read_rows, write_manifest
from occbench.dataset.plan import WorkUnit, plan_units, sample_id, shard_units
from occbench.dataset.sample import SampleContext, produce_unit
from occbench.errors import OccbenchError
from occbench.image_io import write_atomic
from occbench.params import public_params
from occbench.protocol import Protocol


@dataclass(frozen=True)
class BuildConfig:
    protocol: Protocol
    out: Path
    source_dir: Path | None = None
    mask_dir: Path | None = None
    workers: int = 1
    limit: int | None = None
    shard: tuple[int, int] = (0, 1)
    retry_skipped: bool = False
    progress: bool = True


@dataclass(frozen=True)
class BuildReport:
    planned: int
    produced_now: int
    ok: int | None  # None while other shards are unfinished
    skipped: int | None
    complete: bool


_WORKER_CTX: SampleContext | None = None


def _make_context(config: BuildConfig) -> SampleContext:
    return SampleContext(config.protocol, config.protocol.make_source(config.source_dir),
                         config.protocol.ready_generator(config.mask_dir), DatasetLayout(config.out))


def _init_worker(config: BuildConfig) -> None:
    global _WORKER_CTX
    import cv2

    cv2.setNumThreads(1)
    _WORKER_CTX = _make_context(config)


def _work(unit: WorkUnit) -> list[dict[str, str]]:
    assert _WORKER_CTX is not None
    return produce_unit(_WORKER_CTX, unit)


def _run_units(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit]) -> Iterator[list[dict[str, str]]]:
    if config.workers <= 1 or len(units) <= 1:
        for unit in units:
            yield produce_unit(ctx, unit)
        return
    # spawn, not fork: a forked child inherits OpenCV's and torch's thread pools mid-state and can deadlock
    with multiprocessing.get_context("spawn").Pool(config.workers, _init_worker, (config,)) as pool:
        yield from pool.imap_unordered(_work, units, chunksize=max(1, min(16, len(units) // (config.workers * 8))))


def _build_settings(config: BuildConfig) -> dict:
    return {"protocol": config.protocol.name, "content_hash": config.protocol.content_hash,
            "limit": config.limit, "shards": config.shard[1]}


def _check_settings(config: BuildConfig, layout: DatasetLayout) -> None:
    """Refuse to mix builds of different protocols, limits or shard counts in one folder."""
    path = layout.build_dir / "build.json"
    settings = _build_settings(config)
    if path.is_file():
        previous = json.loads(path.read_text())
        if previous != settings:
            diff = ", ".join(f"{k}: {previous.get(k)!r} → {v!r}" for k, v in settings.items() if previous.get(k) != v)
            raise OccbenchError(f"{config.out}: already holds a build with other settings ({diff}); "
                                "use another --out or delete the folder")
    elif layout.dataset_json.is_file():
        info = json.loads(layout.dataset_json.read_text())
        if info.get("protocol", {}).get("content_hash") != config.protocol.content_hash:
            raise OccbenchError(f"{config.out}: holds a dataset of another protocol; use another --out")
    write_atomic(path, json.dumps(settings, indent=2, sort_keys=True).encode())


def _done_ids(layout: DatasetLayout, retry_skipped: bool) -> set[str]:
    done = set()
    for path in sorted(layout.build_dir.glob("progress-*.csv")):
        for row in read_rows(path):
            if row["status"] == "ok":
                if all(layout.file(kind, row["id"]).is_file() for kind in ("target", "occluded", "mask")):
                    done.add(row["id"])
            elif not retry_skipped:
                done.add(row["id"])
    return done


def _remove_stale_temp_files(layout: DatasetLayout) -> None:
    for kind in KINDS:
        for tmp in (layout.root / kind).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def build_dataset(config: BuildConfig) -> BuildReport:
    """Build (or resume) the dataset; finalise when every shard is done."""
    layout = DatasetLayout(config.out)
    ctx = _make_context(config)  # validates the generator's files before any work starts
    layout.build_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(config, layout)
    _remove_stale_temp_files(layout)
    units = plan_units(ctx.source.items(), config.protocol.variants, config.limit)
    index, count = config.shard
    done = _done_ids(layout, config.retry_skipped)
    todo = []
    for unit in shard_units(units, index, count):
        left = tuple(v for v in unit.variants if sample_id(unit.item.id, v, config.protocol.variants) not in done)
        if left:
            todo.append(WorkUnit(unit.item, left))
    shard_total = sum(len(u.variants) for u in shard_units(units, index, count))
    log = ProgressLog(layout.build_dir / f"progress-{index}-of-{count}.csv")
    produced = 0
    try:
        with tqdm(total=shard_total, initial=shard_total - sum(len(u.variants) for u in todo),
                  desc=f"build {config.protocol.name}", unit="img", disable=not config.progress) as bar:
            for rows in _run_units(config, ctx, todo):
                for row in rows:
                    log.append(row)
                produced += len(rows)
                bar.update(len(rows))
    finally:
        log.close()
    write_atomic(layout.build_dir / f"shard-{index}-of-{count}.done", b"")
    planned = sum(len(u.variants) for u in units)
    if not all((layout.build_dir / f"shard-{i}-of-{count}.done").is_file() for i in range(count)):
        return BuildReport(planned, produced, None, None, complete=False)
    ok, skipped = finalize(config, ctx, units)
    return BuildReport(planned, produced, ok, skipped, complete=True)


def finalize(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit]) -> tuple[int, int]:
    """Merge all progress logs into manifest.csv / skipped.csv and write dataset.json."""
    layout = DatasetLayout(config.out)
    planned = {sample_id(u.item.id, v, config.protocol.variants) for u in units for v in u.variants}
    latest: dict[str, dict[str, str]] = {}
    for path in sorted(layout.build_dir.glob("progress-*.csv")):
        for row in read_rows(path):
            if row["id"] in planned:
                latest[row["id"]] = row
    missing = planned - set(latest)
    if missing:
        raise OccbenchError(f"{config.out}: {len(missing)} planned samples have no record (e.g. {sorted(missing)[0]}); "
                            "rerun build-dataset to finish them")
    ok, skipped = write_manifest(layout.root, list(latest.values()))
    protocol = config.protocol
    info = {
        "format": DATASET_FORMAT,
        "protocol": {"name": protocol.name, "version": protocol.version, "content_hash": protocol.content_hash,
                     "file": protocol.path.name, "resolved": protocol.resolved},
        "seed": protocol.seed,
        "resolution": protocol.resolution,
        "occbench_version": __version__,
        "counts": {"planned": len(planned), "ok": ok, "skipped": skipped},
        "limit": config.limit,
        "labels": ctx.source.provides_labels(),
        "source": ctx.source.describe(),
        "generator": {"name": protocol.generator_name, **public_params(ctx.generator)},
        "mask_dir": str(config.mask_dir) if config.mask_dir else None,
    }
    write_atomic(layout.dataset_json, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return ok, skipped

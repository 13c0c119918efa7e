"""``occbench build-dataset``: run a protocol over a source and write the dataset layout to disk.

Resumable (finished samples are read back from ``.build/progress-*.csv``, their files checked against the
recorded sha256, and not redone), shardable (``--shard i/N`` for cluster array jobs; the last shard to finish
merges everything into one manifest), parallel (``--workers``) and deterministic: outputs do not depend on
worker count, shard count or interruptions, because each sample's randomness comes from ``(protocol seed,
sample id)``.

What a build refuses or survives:

- inputs that changed: ``.build/build.json`` records the protocol, limit, shard count and the fingerprints of
  the source listing and the generator's files; a resumed or sharded build with other inputs is refused;
- an ``--out`` inside the source or generator folder (the build would read its own outputs back);
- a sample that kills its worker (out of memory, a crash in a C library): the pool is rebuilt, the samples in
  flight are retried one at a time in a fresh worker, and the one that kills it again is skipped with the
  reason; a build killed outright names, on its next run, the unit it was producing and retries it alone;
- machine conditions (disk full, I/O errors: :func:`occbench.errors.is_transient`) are never recorded as
  skips: those samples are left for the next run, which retries them, and the build reports itself partial.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from occbench import __version__
from occbench.dataset.layout import DATASET_FORMAT, KINDS, DatasetLayout, read_json
from occbench.dataset.manifest import ProgressLog, read_rows, write_manifest
from occbench.dataset.plan import WorkUnit, plan_units, sample_id, shard_units
from occbench.dataset.sample import SampleContext, produce_unit, unit_rows
from occbench.errors import OccbenchError
from occbench.fingerprint import digest, folder_listing, listing, sha256_file
from occbench.image_io import temp_file_owner, write_atomic
from occbench.params import public_params
from occbench.protocol import Protocol

MAX_TRANSIENT_IN_A_ROW = 20  # consecutive machine-condition failures before the build stops (disk full)
STALE_TEMP_SECONDS = 3600  # another host's temp files older than this are leftovers, not work in progress


@dataclass(frozen=True)
class BuildConfig:
    protocol: Protocol
    out: Path
    source_dir: Path | None = None
    assets_dir: Path | None = None
    workers: int = 1
    limit: int | None = None
    shard: tuple[int, int] = (0, 1)
    retry_skipped: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.workers < 1 or (self.limit is not None and self.limit < 1):
            raise OccbenchError(f"Expected --workers >= 1 and --limit >= 1, but got {self.workers} and {self.limit}")


@dataclass(frozen=True)
class BuildReport:
    planned: int
    produced_now: int
    ok: int | None  # None while other shards (or failed samples) are unfinished
    skipped: int | None
    complete: bool
    failed: int = 0  # samples of this run left for the next one (machine conditions)
    first_failure: str = ""
    source_problems: tuple[str, ...] = field(default_factory=tuple)


_WORKER_CTX: SampleContext | None = None


def _make_context(config: BuildConfig) -> SampleContext:
    protocol = config.protocol
    source, generator = protocol.make_source(config.source_dir), protocol.ready_generator(config.assets_dir)
    if generator.uses_given and not source.provides_given():
        raise OccbenchError(f"{protocol.path}: generator {protocol.generator_name!r} takes the occlusion distributed "
                            f"with the data, but source {protocol.source_name!r} has none; use source 'paired'")
    if generator.uses_given and protocol.variants != 1:
        raise OccbenchError(f"{protocol.path}: variants: Expected 1 with generator {protocol.generator_name!r} (a "
                            f"given occlusion is one sample), but got {protocol.variants}")
    return SampleContext(protocol, source, generator, DatasetLayout(config.out))


def _init_worker(config: BuildConfig) -> None:
    global _WORKER_CTX
    import cv2

    cv2.setNumThreads(1)
    _WORKER_CTX = _make_context(config)


def _work(unit: WorkUnit) -> list[dict[str, str]]:
    assert _WORKER_CTX is not None
    return produce_unit(_WORKER_CTX, unit)


def _new_pool(config: BuildConfig, workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: a forked child inherits OpenCV's and torch's thread pools mid-state and can deadlock
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=(config,))


def _died(unit: WorkUnit, ctx: SampleContext, detail: str) -> list[dict[str, str]]:
    reason = (f"{unit.item.image_path}: the process producing this sample died ({detail}); it was retried alone "
              "and died again, most likely out of memory on this image")
    return unit_rows(ctx, unit, "skipped", reason)


def _isolated(config: BuildConfig, ctx: SampleContext, unit: WorkUnit) -> list[dict[str, str]]:
    """Produce ``unit`` alone in a fresh worker process; a worker death becomes a skip naming the file."""
    with _new_pool(config, 1) as pool:
        try:
            return pool.submit(_work, unit).result()
        except BrokenProcessPool:
            return _died(unit, ctx, "a worker process was killed")


def _pooled(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit]) -> Iterator[list[dict[str, str]]]:
    """Units through a process pool; after a worker death the units in flight are retried in isolation."""
    pending = list(reversed(units))
    while pending:
        pool = _new_pool(config, config.workers)
        in_flight: dict[Future, WorkUnit] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < 2 * config.workers:
                    unit = pending.pop()
                    in_flight[pool.submit(_work, unit)] = unit
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    rows = future.result()  # raises BrokenProcessPool while the unit is still in flight
                    del in_flight[future]
                    yield rows
        except BrokenProcessPool:
            suspects = list(in_flight.values())
            pool.shutdown(wait=False, cancel_futures=True)
            for unit in suspects:
                yield _isolated(config, ctx, unit)
            continue
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _in_process(ctx: SampleContext, units: list[WorkUnit], marker: Path) -> Iterator[list[dict[str, str]]]:
    """One worker: units in this process, each named in ``marker`` while it runs (see :func:`_crashed_unit`)."""
    for unit in units:
        write_atomic(marker, unit.item.id.encode())
        rows = produce_unit(ctx, unit)
        marker.unlink(missing_ok=True)
        yield rows


def _crashed_unit(marker: Path, units: list[WorkUnit]) -> WorkUnit | None:
    """The unit an earlier single-worker run was producing when it died (its marker is still there)."""
    if not marker.is_file():
        return None
    item_id = marker.read_text(errors="replace").strip()
    return next((u for u in units if u.item.id == item_id), None)


def _run_units(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit],
               marker: Path) -> Iterator[list[dict[str, str]]]:
    crashed = _crashed_unit(marker, units)
    if crashed is not None:  # it may have killed the last run: produce it where it cannot do that again
        yield _isolated(config, ctx, crashed)
        marker.unlink(missing_ok=True)
        units = [u for u in units if u is not crashed]
    if config.workers <= 1 or len(units) <= 1:
        yield from _in_process(ctx, units, marker)
    else:
        yield from _pooled(config, ctx, units)


def _check_out_outside_inputs(config: BuildConfig) -> None:
    out = Path(config.out).resolve()
    for flag, folder in (("--source-dir", config.source_dir), ("--assets-dir", config.assets_dir)):
        if folder is not None and out.is_relative_to(Path(folder).resolve()):
            raise OccbenchError(f"--out {config.out} is inside {flag} {folder}: the build would read its own outputs "
                                "as inputs; choose an --out outside it")


def _input_fingerprints(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit]) -> dict:
    """Fingerprints of what the build reads: the source's files and the generator's folder."""
    root = Path(config.source_dir).resolve() if config.source_dir else None
    files = [p for u in units for p in (u.item.image_path, u.item.label_path, *(f for _, f in u.item.label_parts),
                                        *(f for _, f in u.item.paired_paths)) if p is not None]
    inputs = {"source": {"dir": str(root) if root else None, **listing(files, root)}}
    if config.assets_dir is not None:
        inputs["generator_files"] = {"dir": str(Path(config.assets_dir).resolve()),
                                     **folder_listing(Path(config.assets_dir))}
    return inputs


def _build_settings(config: BuildConfig, inputs: dict) -> dict:
    return {"protocol": config.protocol.name, "content_hash": config.protocol.content_hash,
            "limit": config.limit, "shards": config.shard[1], "inputs": inputs}


def _describe_change(key: str, before: object, now: object) -> str:
    if key == "inputs" and isinstance(before, dict) and isinstance(now, dict):
        parts = []
        for name in sorted(set(before) | set(now)):
            old, new = before.get(name) or {}, now.get(name) or {}
            if old.get("sha256") != new.get("sha256"):
                parts.append(f"{name}: {old.get('dir')} ({old.get('files')} files) → {new.get('dir')} "
                             f"({new.get('files')} files, another listing)")
        return "; ".join(parts) or "inputs"
    return f"{key}: {before!r} → {now!r}"


def _comparable(settings: dict) -> dict:
    """Settings without the input folders' paths (the same files elsewhere are the same inputs)."""
    inputs = settings.get("inputs") or {}
    return {**settings, "inputs": {k: {kk: vv for kk, vv in v.items() if kk != "dir"} for k, v in inputs.items()}}


def _check_settings(config: BuildConfig, layout: DatasetLayout, inputs: dict) -> None:
    """Refuse to mix builds of different protocols, limits, shard counts or inputs in one folder."""
    path = layout.build_dir / "build.json"
    settings = _build_settings(config, inputs)
    if path.is_file():
        previous = read_json(path)
        if not isinstance(previous, dict):
            raise OccbenchError(f"{path}: Expected a JSON object, but got {type(previous).__name__}; delete the file")
        if "inputs" not in previous:  # written before inputs were recorded: adopt this run's
            previous = {**previous, "inputs": inputs}
        before, now = _comparable(previous), _comparable(settings)
        if before != now:
            diff = ", ".join(_describe_change(k, previous.get(k), settings[k]) for k in settings
                             if before.get(k) != now[k])
            raise OccbenchError(f"{config.out}: already holds a build with other settings or inputs ({diff}); "
                                "use another --out, or delete the folder to start again")
    elif layout.dataset_json.is_file():
        info = read_json(layout.dataset_json)
        if not isinstance(info, dict) or info.get("protocol", {}).get("content_hash") != config.protocol.content_hash:
            raise OccbenchError(f"{config.out}: holds a dataset of another protocol; use another --out")
    write_atomic(path, json.dumps(settings, indent=2, sort_keys=True).encode())


def _files_intact(layout: DatasetLayout, row: dict[str, str]) -> bool:
    for kind in KINDS:
        expected = row.get(f"sha256_{kind}")
        if not expected:
            continue
        path = layout.file(kind, row["id"])
        try:
            if sha256_file(path) != expected:
                return False
        except OSError:
            return False
    return bool(row.get("sha256_target"))


def _done_ids(layout: DatasetLayout, retry_skipped: bool) -> set[str]:
    """Samples finished earlier: produced (files present and unchanged) or skipped (unless retried).

    Rows of status ``failed`` (machine conditions) are never done: the next run retries them.
    """
    done = set()
    for path in sorted(layout.build_dir.glob("progress-*.csv")):
        for row in read_rows(path):
            if row["status"] == "ok":
                if _files_intact(layout, row):
                    done.add(row["id"])
                else:
                    done.discard(row["id"])
            elif row["status"] == "skipped" and not retry_skipped:
                done.add(row["id"])
    return done


def _remove_stale_temp_files(layout: DatasetLayout) -> None:
    """Delete temp files left by dead writers, never another live process's work in progress: on this host a
    writer is alive while its pid is; another host's temp file is a leftover once it is an hour old. Temp
    files named by older occbench versions (no owner in the name) are leftovers."""
    import socket

    host, now = socket.gethostname(), time.time()
    for kind in KINDS:
        for tmp in (layout.root / kind).glob(".*.tmp"):
            owner = temp_file_owner(tmp.name)
            try:
                age = now - tmp.stat().st_mtime
            except OSError:
                continue
            if owner is None:
                stale = True
            elif owner[1] == host:
                stale = not _pid_alive(owner[0])
            else:
                stale = age > STALE_TEMP_SECONDS
            if stale:
                tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def build_dataset(config: BuildConfig) -> BuildReport:
    """Build (or resume) the dataset; finalise when every shard is done."""
    layout = DatasetLayout(config.out)
    _check_out_outside_inputs(config)
    ctx = _make_context(config)  # validates the generator's files before any work starts
    units = plan_units(ctx.source.items(), config.protocol.variants, config.limit)
    layout.build_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(config, layout, _input_fingerprints(config, ctx, units))
    _remove_stale_temp_files(layout)
    index, count = config.shard
    done = _done_ids(layout, config.retry_skipped)
    todo = []
    for unit in shard_units(units, index, count):
        left = tuple(v for v in unit.variants if sample_id(unit.item.id, v, config.protocol.variants) not in done)
        if left:
            todo.append(WorkUnit(unit.item, left))
    shard_total = sum(len(u.variants) for u in shard_units(units, index, count))
    log = ProgressLog(layout.build_dir / f"progress-{index}-of-{count}.csv")
    produced, failed, in_a_row, first_failure = 0, 0, 0, ""
    problems = tuple(ctx.source.problems())
    try:
        with tqdm(total=shard_total, initial=shard_total - sum(len(u.variants) for u in todo),
                  desc=f"build {config.protocol.name}", unit="img", disable=not config.progress) as bar:
            for rows in _run_units(config, ctx, todo, layout.build_dir / f"inflight-{index}-of-{count}"):
                for row in rows:
                    log.append(row)
                    if row["status"] == "failed":
                        failed, in_a_row = failed + 1, in_a_row + 1
                        first_failure = first_failure or row["reason"]
                    else:
                        in_a_row = 0
                produced += len(rows)
                bar.update(len(rows))
                if in_a_row >= MAX_TRANSIENT_IN_A_ROW:
                    raise OccbenchError(f"{config.out}: stopped after {in_a_row} samples in a row failed for a reason "
                                        f"outside the data ({first_failure}); fix it and rerun to continue")
    finally:
        log.close()
    planned = sum(len(u.variants) for u in units)
    if failed:
        return BuildReport(planned, produced, None, None, False, failed, first_failure, problems)
    write_atomic(layout.build_dir / f"shard-{index}-of-{count}.done", b"")
    if not all((layout.build_dir / f"shard-{i}-of-{count}.done").is_file() for i in range(count)):
        return BuildReport(planned, produced, None, None, complete=False, source_problems=problems)
    ok, skipped = finalize(config, ctx, units, problems)
    return BuildReport(planned, produced, ok, skipped, complete=True, source_problems=problems)


def finalize(config: BuildConfig, ctx: SampleContext, units: list[WorkUnit],
             problems: tuple[str, ...] = ()) -> tuple[int, int]:
    """Merge all progress logs into manifest.csv / skipped.csv and write dataset.json."""
    layout = DatasetLayout(config.out)
    planned = {sample_id(u.item.id, v, config.protocol.variants) for u in units for v in u.variants}
    latest: dict[str, dict[str, str]] = {}
    for path in sorted(layout.build_dir.glob("progress-*.csv")):
        for row in read_rows(path):
            if row["id"] in planned:
                latest[row["id"]] = row
    missing = planned - {k for k, row in latest.items() if row["status"] in ("ok", "skipped")}
    if missing:
        raise OccbenchError(f"{config.out}: {len(missing)} planned samples are not finished "
                            f"(e.g. {sorted(missing)[0]}); "
                            "rerun build-dataset to finish them")
    ok, skipped = write_manifest(layout.root, list(latest.values()))
    protocol = config.protocol
    settings = read_json(layout.build_dir / "build.json")
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
        **({"label_scheme": ctx.scheme.name} if ctx.source.provides_labels() else {}),
        "source": ctx.source.describe(),
        "generator": {"name": protocol.generator_name, **public_params(ctx.generator)},
        "assets_dir": str(config.assets_dir) if config.assets_dir else None,
        "inputs": settings.get("inputs"),
        "source_problems": list(problems),
        "content_sha256": sha256_file(layout.manifest),
    }
    info["fingerprint"] = digest({"protocol": protocol.content_hash, "content": info["content_sha256"]})
    write_atomic(layout.dataset_json, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return ok, skipped


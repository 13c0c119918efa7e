"""``occbench predict``: run a method over a built dataset and write ``<run>/pred/<id>.png`` (and, for methods
that find the holes or segment the image themselves, ``pred_mask/<id>.png`` and ``pred_seg/<id>.png``).

Resumable: predictions already on disk are kept unless ``overwrite``. ``<run>/run.json`` records the
method, its parameters, the mask mode and the dataset's protocol hash; a sample that fails is written
to ``<run>/failed.csv`` with the reason and the run goes on. Under ``torchrun`` the processes split the samples
(one block of batches each, :mod:`occbench.distributed`).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from occbench import __version__
from occbench.dataset.layout import DatasetLayout, dataset_fingerprint, read_dataset_info, read_json, read_manifest
from occbench.dataset.tensors import images_uint8, label_tensor, load_images, load_masks
from occbench.distributed import Dist, barrier, gather_objects, leave, setup_distributed, shard_batches
from occbench.errors import OccbenchError, SampleError
from occbench.fingerprint import digest
from occbench.image_io import read_gray, write_atomic, write_png
from occbench.methods.base import Method
from occbench.params import build_component, public_params
from occbench.prefetch import prefetch
from occbench.registry import METHODS


@dataclass(frozen=True)
class PredictConfig:
    method: str
    data: Path
    out: Path
    params: dict[str, Any] | None = None
    limit: int | None = None
    batch_size: int = 8
    device: str = "cpu"
    overwrite: bool = False
    progress: bool = True


def make_method(name: str, params: dict[str, Any] | None, where: str = "--param") -> Method:
    return build_component(METHODS.get(name), params, where)


def _load_batch(layout: DatasetLayout, rows: list[dict[str, str]],
                with_labels: bool) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """A batch's inputs, each file checked against the sha256 the manifest records."""
    occluded = load_images([layout.file("occluded", r["id"]) for r in rows], [r["sha256_occluded"] for r in rows])
    mask = load_masks([layout.file("mask", r["id"]) for r in rows], [r["sha256_mask"] for r in rows])
    extras = {}
    if with_labels:
        extras["label"] = torch.stack([label_tensor(read_gray(layout.file("label", r["id"]), r["sha256_label"]))
                                       for r in rows])
    return occluded, mask, extras


def _batches(rows: list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _load_ahead(layout: DatasetLayout, batch: list[dict[str, str]], with_labels: bool):
    """A batch's tensors, or None when loading fails (the batch is then retried sample by sample)."""
    try:
        return _load_batch(layout, batch, with_labels)
    except (SampleError, ValueError, RuntimeError):
        return None


def _predict_batch(method: Method, layout: DatasetLayout, pred_dir: Path, batch: list[dict[str, str]], device: str,
                   with_labels: bool, loaded=None) -> list[dict[str, str]]:
    """Predict and write one batch; a failing batch is retried sample by sample to isolate the bad one."""
    try:
        occluded, mask, extras = loaded if loaded is not None else _load_batch(layout, batch, with_labels)
        segment = getattr(method, "predict_segmentation", None)  # methods that also segment (SGE-Net)
        segmentation = None
        if segment is not None:
            output, segmentation = segment(occluded.to(device), mask.to(device), extras)
            used = mask
        else:
            output, used = method.predict_with_mask(occluded.to(device), mask.to(device), extras)
        outputs = images_uint8(output)
    except (SampleError, ValueError, RuntimeError) as exc:
        if len(batch) > 1:
            return [row for r in batch for row in _predict_batch(method, layout, pred_dir, [r], device, with_labels)]
        return [{"id": batch[0]["id"], "reason": str(exc) if isinstance(exc, SampleError)
                 else f"{type(exc).__name__}: {exc}"}]
    if getattr(method, "mask", "given") == "predicted":  # the holes the method found: composite and score with them
        holes = ((used.detach().cpu()[:, 0] > 0.5).to(torch.uint8) * 255).numpy()
        for row, hole in zip(batch, holes):
            write_png(pred_dir.parent / "pred_mask" / f"{row['id']}.png", hole)
    if segmentation is not None:  # class values of the method's label scheme (run.json: label_scheme)
        for row, classes in zip(batch, segmentation.detach().cpu().to(torch.uint8).numpy()):
            write_png(pred_dir.parent / "pred_seg" / f"{row['id']}.png", classes)
    for row, output in zip(batch, outputs):
        write_png(pred_dir / f"{row['id']}.png", output)
    return []


def run_identity(name: str, method: Method, dataset: str) -> dict[str, Any]:
    """Everything that determines a run's predictions: method, parameters, mask mode, weight files, dataset."""
    provenance = getattr(method, "provenance", {})
    return {"method": name, "params": public_params(method), "mask": getattr(method, "mask", "given"),
            "weights": {k: v for k, v in provenance.items() if k.endswith("sha256")}, "dataset": dataset}


def _describe(run: dict[str, Any]) -> str:
    params = json.dumps(run.get("params", {}), sort_keys=True, default=str)
    return f"{run.get('method', '?')} {params} on {run.get('dataset_path', run.get('dataset', '?'))}"


def claim_run_folder(out: Path, run_info: dict[str, Any], overwrite: bool) -> None:
    """Make ``out`` hold only this run's predictions: resume a run with the same fingerprint, refuse (or with
    ``overwrite``, clear) predictions made by another method, other parameters, weights or dataset."""
    run_json, pred_dir = out / "run.json", out / "pred"
    previous = read_json(run_json) if run_json.is_file() else None
    existing = sum(1 for _ in pred_dir.glob("*.png")) if pred_dir.is_dir() else 0
    same = isinstance(previous, dict) and previous.get("fingerprint") == run_info["fingerprint"]
    if not same and (previous is not None or existing):
        if not overwrite:
            origin = _describe(previous) if isinstance(previous, dict) else "unknown origin (no run.json)"
            raise OccbenchError(f"{out}: holds {existing} predictions of {origin}; this run is {_describe(run_info)}. "
                                "Use another --out, or pass --overwrite to replace them")
        shutil.rmtree(pred_dir, ignore_errors=True)
        shutil.rmtree(out / "pred_mask", ignore_errors=True)
        shutil.rmtree(out / "pred_seg", ignore_errors=True)
    (out / "failed.csv").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(run_json, (json.dumps(run_info, indent=2, sort_keys=True) + "\n").encode())


def predict(config: PredictConfig) -> dict[str, int]:
    """Run ``config.method`` on every sample of ``config.data``; returns counts.

    Under ``torchrun`` each process predicts its block of batches (:func:`occbench.distributed.shard_batches`) on
    its own device; process 0 claims the run folder first and writes ``failed.csv`` for all of them.
    """
    ddp = setup_distributed(config.device)
    try:
        return _predict(config, ddp)
    finally:
        leave(ddp)


def _predict(config: PredictConfig, ddp: Dist) -> dict[str, int]:
    device = str(ddp.device)
    method = make_method(config.method, config.params).to(device)
    info = read_dataset_info(config.data)
    layout = DatasetLayout(config.data)
    rows = read_manifest(config.data, info)[: config.limit]
    ids = [row["id"] for row in rows]
    if not ids:
        raise OccbenchError(f"{layout.manifest}: no samples to predict")
    check = getattr(method, "check_dataset", None)  # e.g. a method reading the labels in one scheme
    if check is not None:
        check(info, config.data)
    identity = run_identity(config.method, method, dataset_fingerprint(config.data, info))
    run_info = {**identity, "fingerprint": digest(identity), "dataset_path": str(Path(config.data).resolve()),
                "protocol": info["protocol"]["name"], "protocol_hash": info["protocol"]["content_hash"],
                "occbench_version": __version__, **getattr(method, "provenance", {})}
    if ddp.is_main:
        claim_run_folder(config.out, run_info, config.overwrite)
    barrier(ddp)  # the folder is claimed (and emptied with overwrite) before any process writes into it
    pred_dir = config.out / "pred"
    mine = rows[shard_batches(len(rows), config.batch_size, ddp.rank, ddp.world_size)]
    todo = [row for row in mine if not (pred_dir / f"{row['id']}.png").is_file()]
    failed: list[dict[str, str]] = []
    where = f" [process {ddp.rank + 1}/{ddp.world_size}]" if ddp.world_size > 1 else ""
    with tqdm(total=len(mine), initial=len(mine) - len(todo), desc=f"predict {config.method}{where}", unit="img",
              disable=not config.progress or not ddp.is_main) as bar:
        labels = bool(info.get("labels"))
        loaded = prefetch((batch, _load_ahead(layout, batch, labels)) for batch in _batches(todo, config.batch_size))
        for batch, tensors in loaded:
            failed += _predict_batch(method, layout, pred_dir, batch, device, labels, tensors)
            bar.update(len(batch))
    gathered = gather_objects((len(todo), failed), ddp)  # every process's (attempted, failed), in rank order
    failed = [row for _, part in gathered for row in part]
    if failed and ddp.is_main:
        with (config.out / "failed.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "reason"])
            writer.writeheader()
            writer.writerows(failed)
    done = sum(n for n, _ in gathered)
    return {"samples": len(ids), "predicted": done - len(failed), "failed": len(failed)}

"""``occbench predict``: run a method over a built dataset and write ``<run>/pred/<id>.png``.

Resumable: predictions already on disk are kept unless ``overwrite``. ``<run>/run.json`` records the
method, its parameters, the mask mode and the dataset's protocol hash; a sample that fails is written
to ``<run>/failed.csv`` with the reason and the run goes on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from occbench import __version__
from occbench.dataset.layout import DatasetLayout, read_dataset_info
from occbench.dataset.manifest import read_rows
from occbench.dataset.tensors import images_uint8, label_tensor, load_images, load_masks
from occbench.errors import OccbenchError, SampleError
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


def _load_batch(layout: DatasetLayout, ids: list[str], with_labels: bool) -> tuple[torch.Tensor, torch.Tensor, dict]:
    occluded = load_images([layout.file("occluded", i) for i in ids])
    mask = load_masks([layout.file("mask", i) for i in ids])
    extras = {}
    if with_labels:
        extras["label"] = torch.stack([label_tensor(read_gray(layout.file("label", i))) for i in ids])
    return occluded, mask, extras


def _batches(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _load_ahead(layout: DatasetLayout, batch: list[str], with_labels: bool):
    """A batch's tensors, or None when loading fails (the batch is then retried sample by sample)."""
    try:
        return _load_batch(layout, batch, with_labels)
    except (SampleError, ValueError, RuntimeError):
        return None


def _predict_batch(method: Method, layout: DatasetLayout, pred_dir: Path, batch: list[str], device: str,
                   with_labels: bool, loaded=None) -> list[dict[str, str]]:
    """Predict and write one batch; a failing batch is retried sample by sample to isolate the bad one."""
    try:
        occluded, mask, extras = loaded if loaded is not None else _load_batch(layout, batch, with_labels)
        outputs = images_uint8(method.predict(occluded.to(device), mask.to(device), extras))
    except (SampleError, ValueError, RuntimeError) as exc:
        if len(batch) > 1:
            return [row for i in batch for row in _predict_batch(method, layout, pred_dir, [i], device, with_labels)]
        return [{"id": batch[0], "reason": f"{type(exc).__name__}: {exc}"}]
    for sample_id, output in zip(batch, outputs):
        write_png(pred_dir / f"{sample_id}.png", output)
    return []


def predict(config: PredictConfig) -> dict[str, int]:
    """Run ``config.method`` on every sample of ``config.data``; returns counts."""
    method = make_method(config.method, config.params).to(config.device)
    info = read_dataset_info(config.data)
    layout = DatasetLayout(config.data)
    ids = [row["id"] for row in read_rows(layout.manifest)][: config.limit]
    pred_dir = config.out / "pred"
    todo = ids if config.overwrite else [i for i in ids if not (pred_dir / f"{i}.png").is_file()]
    run_info = {"method": config.method, "params": public_params(method), "mask": getattr(method, "mask", "given"),
                "dataset": str(config.data), "protocol": info["protocol"]["name"],
                "protocol_hash": info["protocol"]["content_hash"], "occbench_version": __version__,
                **getattr(method, "provenance", {})}
    config.out.mkdir(parents=True, exist_ok=True)
    write_atomic(config.out / "run.json", (json.dumps(run_info, indent=2, sort_keys=True) + "\n").encode())
    failed: list[dict[str, str]] = []
    with tqdm(total=len(ids), initial=len(ids) - len(todo), desc=f"predict {config.method}", unit="img",
              disable=not config.progress) as bar:
        labels = bool(info.get("labels"))
        loaded = prefetch((batch, _load_ahead(layout, batch, labels)) for batch in _batches(todo, config.batch_size))
        for batch, tensors in loaded:
            failed += _predict_batch(method, layout, pred_dir, batch, config.device, labels, tensors)
            bar.update(len(batch))
    if failed:
        with (config.out / "failed.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "reason"])
            writer.writeheader()
            writer.writerows(failed)
    if not ids:
        raise OccbenchError(f"{layout.manifest}: no samples to predict")
    return {"samples": len(ids), "predicted": len(todo) - len(failed), "failed": len(failed)}

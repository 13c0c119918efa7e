"""``occbench evaluate``: load → (predict) → score → aggregate → write (docs/results.md).

Streaming: batches are read, scored and appended to ``scores.csv`` one at a time, aggregates are
running statistics and FID keeps feature sums, so memory does not grow with the number of samples
(KID keeps its features: 8 KB per image per feature set).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from occbench import __version__
from occbench.compat import torchvision_status
from occbench.dataset.layout import DatasetLayout, dataset_fingerprint, read_dataset_info, read_json, read_manifest
from occbench.dataset.tensors import fg_tensor, image_tensor, load_images, load_masks
from occbench.devices import describe_device
from occbench.errors import OccbenchError
from occbench.evaluate.aggregate import StreamingAggregates
from occbench.evaluate.checks import check_predictions
from occbench.evaluate.scoring import Scorer, ScoreSettings
from occbench.image_io import read_gray, read_image, write_atomic
from occbench.metrics import METRIC_INFO, MIN_SAMPLES_FID
from occbench.prefetch import prefetch

RESULTS_FORMAT = "occbench-results/1"
SCORE_COLUMNS = ("id", "generator", "hole_ratio", "metric", "region", "mode", "value")


@dataclass(frozen=True)
class EvaluateConfig:
    data: Path
    out: Path
    method: str | None = None
    predictions: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    batch_size: int = 8
    progress: bool = True
    overwrite: bool = False  # replace predictions in ``out`` made by another method, parameters or dataset
    score: ScoreSettings = ScoreSettings()

    def __post_init__(self) -> None:
        if self.batch_size < 1 or (self.limit is not None and self.limit < 1):
            raise OccbenchError(f"Expected --batch-size >= 1 and --limit >= 1, but got {self.batch_size} and "
                                f"{self.limit}")


def _git_commit() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _predictions(config: EvaluateConfig) -> tuple[Path, dict[str, Any]]:
    """Run the method when asked; returns the predictions folder and the method description."""
    if (config.method is None) == (config.predictions is None):
        raise OccbenchError("evaluate: pass exactly one of --method NAME or --predictions DIR")
    if config.predictions is not None:
        run_json = config.predictions / "run.json"
        recorded = read_json(run_json) if run_json.is_file() else {}
        return config.predictions, {"name": recorded.get("method", config.predictions.name),
                                    "params": recorded.get("params", {}), "mask": recorded.get("mask", "given"),
                                    "checkpoint": None, "checkpoint_sha256": None,
                                    "predictions": str(config.predictions), "external": not recorded}
    from occbench.methods.predict import PredictConfig, predict

    predict(PredictConfig(method=config.method, data=config.data, out=config.out, params=config.params,
                          limit=config.limit, batch_size=config.batch_size, device=config.score.device,
                          overwrite=config.overwrite, progress=config.progress))
    recorded = read_json(config.out / "run.json")
    return config.out / "pred", {"name": config.method, "params": recorded["params"], "mask": recorded["mask"],
                                 "checkpoint": recorded.get("checkpoint"),
                                 "checkpoint_sha256": recorded.get("checkpoint_sha256"),
                                 "predictions": str(config.out / "pred"), "external": False,
                                 **{k: v for k, v in recorded.items() if k.startswith(("trained_", "segmenter"))}}


def _load_batch(layout: DatasetLayout, pred_dir: Path, rows: list[dict[str, str]], labels: bool):
    """Predictions (with the conversions their files needed) and the dataset files, each dataset file checked
    against the sha256 the manifest records."""
    ids = [r["id"] for r in rows]
    target = load_images([layout.file("target", i) for i in ids], [r["sha256_target"] for r in rows])
    notes: list[list[str]] = [[] for _ in ids]
    pred = torch.stack([image_tensor(read_image(pred_dir / f"{i}.png", n)) for i, n in zip(ids, notes)])
    mask = load_masks([layout.file("mask", i) for i in ids], [r["sha256_mask"] for r in rows])
    fg = torch.stack([fg_tensor(read_gray(layout.file("label", r["id"]), r["sha256_label"] or None))
                      for r in rows]) if labels else None
    return (pred, target, mask, fg), {i: n for i, n in zip(ids, notes) if n}


def _score_all(config: EvaluateConfig, scorer: Scorer, rows: list[dict[str, str]], pred_dir: Path,
               labels: bool) -> tuple[StreamingAggregates, dict[str, list[str]]]:
    layout = DatasetLayout(config.data)
    aggregates = StreamingAggregates()
    converted: dict[str, list[str]] = {}
    device = config.score.device
    tmp = config.out / ".scores.csv.tmp"
    batches = [rows[start : start + config.batch_size] for start in range(0, len(rows), config.batch_size)]
    loaded = prefetch((batch, _load_batch(layout, pred_dir, batch, labels)) for batch in batches)
    with tmp.open("w", newline="") as handle, tqdm(total=len(rows), desc="evaluate", unit="img",
                                                   disable=not config.progress) as bar:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        for batch, (tensors, notes) in loaded:
            converted.update(notes)
            pred, target, mask, fg = (t.to(device) if t is not None else None for t in tensors)
            with torch.no_grad():
                scores = scorer.score_batch(pred, target, mask, fg)
            for (metric, region, mode), values in sorted(scores.items()):
                for row, value in zip(batch, values.detach().cpu().double().tolist()):
                    ratio = float(row["hole_ratio"])
                    writer.writerow((row["id"], row["generator"], row["hole_ratio"], metric, region, mode,
                                     "" if math.isnan(value) else repr(value)))
                    aggregates.add(generator=row["generator"], hole_ratio=ratio, metric=metric, region=region,
                                   mode=mode, value=value)
            bar.update(len(batch))
    tmp.replace(config.out / "scores.csv")
    return aggregates, converted


def evaluate(config: EvaluateConfig) -> dict[str, Any]:
    """Score one method on one dataset; writes scores.csv and results.json into ``config.out``."""
    info = read_dataset_info(config.data)
    rows = read_manifest(config.data, info)[: config.limit]
    if not rows:
        raise OccbenchError(f"{config.data}: the dataset has no samples to evaluate")
    scorer = Scorer(config.score)  # fail on missing weights before predicting
    config.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pred_dir, method = _predictions(config)
    predicted = time.perf_counter()
    protocol = info["protocol"]
    warnings = check_predictions(pred_dir, [r["id"] for r in rows], info["resolution"], protocol["content_hash"],
                                 dataset_fingerprint(config.data, info))
    aggregates, converted = _score_all(config, scorer, rows, pred_dir, bool(info.get("labels")))
    if converted:
        kinds = sorted({note for notes in converted.values() for note in notes})
        warnings.append(f"{len(converted)} prediction files were not 8-bit RGB and were converted "
                        f"({', '.join(kinds)}), e.g. {sorted(converted)[0]}.png")
    dataset_metrics = scorer.dataset_metrics()
    timing = {"predict_s": round(predicted - started, 3), "score_s": round(time.perf_counter() - predicted, 3)}
    timing["scored_images_per_s"] = round(len(rows) / max(timing["score_s"], 1e-9), 3)
    if torch.device(config.score.device).type == "cuda":
        timing["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if dataset_metrics and len(rows) < MIN_SAMPLES_FID:
        warnings.append(f"FID/KID rest on {len(rows)} samples (< {MIN_SAMPLES_FID}): biased and not comparable "
                        "to published values")
    if not info.get("labels") and {"fg", "hole_fg"} & set(config.score.regions):
        warnings.append("the dataset has no parsing labels: fg and hole_fg regions were not scored")
    results = {
        "format": RESULTS_FORMAT,
        "method": method,
        "dataset": {"path": str(config.data), "protocol": protocol["name"], "version": protocol["version"],
                    "content_hash": protocol["content_hash"], "samples": len(rows),
                    "labels": bool(info.get("labels"))},
        "settings": {**{k: v for k, v in asdict(config.score).items() if k not in ("weights_dir", "explicit")},
                     "metrics": scorer.metrics, "min_samples_fid": MIN_SAMPLES_FID, "limit": config.limit},
        "provenance": {"occbench_version": __version__, "git_commit": _git_commit(), "torch": torch.__version__,
                       "torchvision": torchvision_status().as_dict(),
                       "device": describe_device(config.score.device), "weights": scorer.weights,
                       "timing": timing,
                       "shared_work": {"raw_equals_composite": scorer.raw_equals_composite,
                                       "reference_cache": scorer.cache_stats},
                       "random_weights": scorer.random_weights
                       + (["training VGG (the checkpoint was trained with random VGG weights)"]
                          if method.get("trained_random_vgg") else [])},
        "warnings": scorer.warnings + warnings,
        **aggregates.to_results({name: info_.better for name, info_ in METRIC_INFO.items()}),
        "dataset_metrics": dataset_metrics,
    }
    write_atomic(config.out / "results.json", (json.dumps(results, indent=2, default=str) + "\n").encode())
    return results

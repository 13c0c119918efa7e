"""``occbench evaluate``: load → (predict) → score → aggregate → write (docs/results.md).

Streaming: batches are read, scored and appended to ``scores.csv`` one at a time, aggregates are
running statistics and FID keeps feature sums, so memory does not grow with the number of samples
(KID keeps its features: 8 KB per image per feature set).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm import tqdm

from occbench import __version__
from occbench.compat import torchvision_status
from occbench.dataset.layout import DatasetLayout, dataset_fingerprint, read_dataset_info, read_json, read_manifest
from occbench.dataset.tensors import fg_tensor, image_tensor, load_images, load_masks, parts_tensor
from occbench.devices import describe_device
from occbench.distributed import Dist, gather_objects, leave, setup_distributed, shard_batches
from occbench.errors import OccbenchError
from occbench.evaluate.aggregate import StreamingAggregates
from occbench.evaluate.checks import (
    BAND_FRACTION,
    COPY_MIN,
    REGENERATE_MAX,
    check_predictions,
    classify_agreement,
    known_pixel_agreement,
)
from occbench.evaluate.scoring import Scorer, ScoreSettings
from occbench.image_io import read_gray, read_image, write_atomic
from occbench.labels import LabelScheme, dataset_scheme, schemes_with_parts
from occbench.metrics import MIN_SAMPLES_FID, PART_REGIONS
from occbench.prefetch import prefetch
from occbench.results_schema import RESULTS_FORMAT, SCORE_COLUMNS


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
    name: str | None = None  # display name of the method in tables and plots (results: method.display_name)
    allow_pixel_mismatch: bool = False  # score predictions whose known pixels disagree with the dataset's
    predicted_masks: Path | None = None  # --predictions made on these masks (a detector's), not the dataset's
    score: ScoreSettings = ScoreSettings()

    def __post_init__(self) -> None:
        if self.predicted_masks is not None and self.predictions is None:
            raise OccbenchError("--predicted-masks goes with --predictions (a method run by occbench records its own "
                                "masks in pred_mask/)")
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
        pred_dir = Path(config.predictions).resolve()
        run_json = next((p for p in (pred_dir / "run.json", pred_dir.parent / "run.json") if p.is_file()), None)
        recorded = read_json(run_json) if run_json else {}
        recorded = recorded if isinstance(recorded, dict) else {}
        masks = {"mask": "predicted", "predicted_masks": str(Path(config.predicted_masks).resolve())} \
            if config.predicted_masks is not None else {"mask": recorded.get("mask", "given")}
        return pred_dir, {"name": recorded.get("method", pred_dir.name), "params": recorded.get("params", {}),
                          **masks, "checkpoint": None, "checkpoint_sha256": None,
                          "predictions": str(pred_dir), "external": not recorded,
                          **({"label_scheme": recorded["label_scheme"]} if "label_scheme" in recorded else {})}
    from occbench.methods.predict import PredictConfig, predict

    predict(PredictConfig(method=config.method, data=config.data, out=config.out, params=config.params,
                          limit=config.limit, batch_size=config.batch_size, device=config.score.device,
                          overwrite=config.overwrite, progress=config.progress))
    recorded = read_json(config.out / "run.json")
    pred_dir = (config.out / "pred").resolve()
    provenance = {k: v for k, v in recorded.items() if k not in _RUN_ONLY_KEYS}  # checkpoints, modes, training
    return pred_dir, {"name": config.method, "params": recorded["params"], "mask": recorded["mask"],
                      "checkpoint": recorded.get("checkpoint"), "checkpoint_sha256": recorded.get("checkpoint_sha256"),
                      "predictions": str(pred_dir), "external": False, **provenance}


# run.json keys about the run itself (the dataset is recorded separately in results); the rest is the method's
_RUN_ONLY_KEYS = frozenset({"dataset", "dataset_path", "fingerprint", "method", "occbench_version", "params",
                            "protocol", "protocol_hash", "weights"})


def _segmentation(pred_dir: Path, data: Path, rows: list[dict[str, str]], info: dict[str, Any],
                  method: dict[str, Any], warnings: list[str]) -> dict[str, Any] | None:
    """Scores of the method's own segmentation (``pred_seg/``) when it made one and the dataset's labels use the
    scheme it was trained on; otherwise a warning says why they are missing."""
    seg_dir = pred_dir.parent / "pred_seg"
    if not seg_dir.is_dir():
        return None
    from occbench.evaluate.segmentation import score_segmentation
    from occbench.labels import dataset_scheme

    if not info.get("labels"):
        warnings.append("the method predicted segmentations but the dataset has no labels: not scored")
        return None
    scheme = dataset_scheme(info)
    if method.get("label_scheme") != scheme.name:
        warnings.append(f"the method segments in {method.get('label_scheme')!r} classes, the dataset's labels are "
                        f"{scheme.name!r}: segmentation not scored")
        return None
    return score_segmentation(seg_dir, DatasetLayout(data), rows, scheme)


def _predicted_masks(pred_dir: Path, method: dict[str, Any], ids: list[str]) -> Path | None:
    """The masks of a run whose method did not get the dataset's holes (``mask=predicted``): the ``pred_mask/``
    folder beside its predictions, or the folder ``--predicted-masks`` named (external predictions made on the
    masks a detector found). One ``<id>.png`` per sample, 255 = hole, at the dataset's resolution."""
    if method.get("mask") != "predicted":
        return None
    given = method.get("predicted_masks")
    folder = Path(given) if given else pred_dir.parent / "pred_mask"
    if not folder.is_dir():
        if given:
            raise OccbenchError(f"--predicted-masks {folder}: not a folder; Expected one <id>.png per sample "
                                "(255 = hole), e.g. the pred_mask/ folder of an occbench run with mask=predicted")
        raise OccbenchError(f"{folder}: not found, but {pred_dir} holds predictions made with mask=predicted; the "
                            "masks the method used are needed to composite and to score them (predict again)")
    missing = [folder / f"{i}.png" for i in ids if not (folder / f"{i}.png").is_file()]
    if missing:
        raise OccbenchError(f"{len(missing)} of {len(ids)} predicted masks are missing: "
                            f"{', '.join(map(str, missing[:3]))}{' …' if len(missing) > 3 else ''}; Expected "
                            f"<id>.png for every sample in {folder}")
    return folder


def _label_scheme(info: dict[str, Any], settings: ScoreSettings) -> tuple[LabelScheme | None, str | None]:
    """The dataset's label scheme as the loader uses it: its foreground gives ``fg`` and ``hole_fg``, its face parts
    the ``hole_<part>`` regions (parts dropped when none is asked for, so nothing is derived); None when it gives
    no region. And why fg/hole_fg are left out when the dataset cannot give them (no labels, or a scheme without
    a foreground such as Cityscapes'). Asked for with ``--regions`` their absence is an error; part regions the
    dataset cannot give always are (they are never scored by default)."""
    labelled = dataset_scheme(info) if info.get("labels") else None
    dataset = f"dataset {info.get('protocol', {}).get('name', '?')!r}"
    parts = [r for r in settings.regions if r in PART_REGIONS]
    if parts and (labelled is None or labelled.parts is None):
        reason = (f"{dataset} has no parsing labels" if labelled is None
                  else f"the label scheme {labelled.name!r} of {dataset} has no face parts")
        raise OccbenchError(f"--parts / --regions {' '.join(parts)}: {reason}; Expected a dataset with face parsing "
                            f"labels (label scheme {' or '.join(schemes_with_parts())}) for the hole_<part> regions")
    scheme = labelled if parts or labelled is None else replace(labelled, parts=None)
    if scheme is not None and scheme.foreground is None and scheme.parts is None:
        scheme = None
    wanted = [r for r in settings.regions if r in ("fg", "hole_fg")]
    if not wanted or (labelled is not None and labelled.foreground is not None):
        return scheme, None
    reason = (f"the dataset's label scheme {labelled.name!r} has no foreground" if labelled is not None
              else "the dataset has no parsing labels")
    if settings.explicit_regions:
        raise OccbenchError(f"--regions {' '.join(wanted)}: {reason}; Expected regions without fg and hole_fg for "
                            "this dataset")
    return scheme, f"{reason}: fg and hole_fg regions were not scored"


@dataclass
class _Batch:
    rows: list[dict[str, str]]
    pred: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    fg: torch.Tensor | None
    occluded: torch.Tensor
    predicted_mask: torch.Tensor | None
    notes: dict[str, list[str]]
    parts: torch.Tensor | None = None  # (B, 5, H, W) face-part maps of the target's labels (hole_<part> regions)


def _load_batch(layout: DatasetLayout, files: dict[str, Path], rows: list[dict[str, str]],
                scheme: LabelScheme | None, mask_dir: Path | None) -> _Batch:
    """Predictions (with the conversions their files needed) and the dataset files, each dataset file checked
    against the sha256 the manifest records. ``scheme`` (from :func:`_label_scheme`): the foreground map and the
    face-part maps, those it has, are derived from one read of each label file."""
    ids = [r["id"] for r in rows]
    notes: list[list[str]] = [[] for _ in ids]
    pred = torch.stack([image_tensor(read_image(files[i], n)) for i, n in zip(ids, notes)])
    has_fg, has_parts = (scheme is not None and getattr(scheme, key) is not None for key in ("foreground", "parts"))
    labels = ([read_gray(layout.file("label", r["id"]), r["sha256_label"] or None) for r in rows]
              if has_fg or has_parts else [])
    return _Batch(
        rows=rows, pred=pred,
        target=load_images([layout.file("target", i) for i in ids], [r["sha256_target"] for r in rows]),
        mask=load_masks([layout.file("mask", i) for i in ids], [r["sha256_mask"] for r in rows]),
        fg=torch.stack([fg_tensor(label, scheme) for label in labels]) if has_fg else None,
        occluded=load_images([layout.file("occluded", i) for i in ids], [r["sha256_occluded"] for r in rows]),
        predicted_mask=load_masks([mask_dir / f"{i}.png" for i in ids]) if mask_dir is not None else None,
        notes={i: n for i, n in zip(ids, notes) if n},
        parts=torch.stack([parts_tensor(label, scheme) for label in labels]) if has_parts else None)


@dataclass
class _PixelCheck:
    """Tally of :func:`occbench.evaluate.checks.known_pixel_agreement` over the samples."""

    allow_mismatch: bool
    counts: dict[str, int] = field(default_factory=lambda: {"copies": 0, "regenerates": 0, "disagrees": 0})
    disagreeing: list[str] = field(default_factory=list)

    def add(self, batch: _Batch, pred_dir: Path) -> None:
        hole = batch.mask if batch.predicted_mask is None else torch.maximum(batch.mask, batch.predicted_mask)
        shares = known_pixel_agreement(batch.pred, batch.occluded, hole).tolist()
        found = []
        for row, share in zip(batch.rows, shares):
            kind = classify_agreement(share)
            self.counts[kind] += 1
            if kind == "disagrees":
                found.append(f"{row['id']} ({share:.1%})")
        self.disagreeing += found
        if found and not self.allow_mismatch:
            raise OccbenchError(
                f"{pred_dir}: the known pixels of {len(found)} predictions differ from this dataset's inputs in a "
                f"region while matching elsewhere ({', '.join(found[:5])} of the pixels match): they were made for "
                "other holes, most likely on another dataset. Predict on this dataset, or pass "
                "--allow-pixel-mismatch to score them anyway (recorded)")

    def merge(self, other: _PixelCheck) -> None:
        """Add another process's tally (torchrun)."""
        for kind, count in other.counts.items():
            self.counts[kind] += count
        self.disagreeing += other.disagreeing

    def record(self) -> dict[str, Any]:
        return {"copies_known_pixels": self.counts["copies"], "regenerates": self.counts["regenerates"],
                "disagrees": self.counts["disagrees"], "disagreeing_ids": self.disagreeing[:50],
                "allowed": self.allow_mismatch,
                "rule": f"exact match on known pixels farther than {BAND_FRACTION:.4g} of the image side from the "
                        f"hole: >= {COPY_MIN:.1%} copies, < {REGENERATE_MAX:.0%} regenerates, otherwise disagrees"}


def _scores_part(out: Path, ddp: Dist, rank: int | None = None) -> Path:
    """The file a process writes its rows of ``scores.csv`` to while it scores."""
    return out / (".scores.csv.tmp" if ddp.world_size == 1 else f".scores.rank{ddp.rank if rank is None else rank}"
                                                                 ".csv.tmp")


def _join_scores(out: Path, ddp: Dist) -> None:
    """``scores.csv`` from every process's part in rank order, which is the single-process order (process 0,
    once every process has written its part)."""
    if ddp.world_size == 1:
        _scores_part(out, ddp).replace(out / "scores.csv")
        return
    joined = out / ".scores.csv.tmp"
    with joined.open("wb") as handle:
        for rank in range(ddp.world_size):
            part = _scores_part(out, ddp, rank)
            if not part.is_file():
                raise OccbenchError(f"{part}: process {rank}'s scores are not there; under torchrun --out must be a "
                                    "folder every process writes to (a shared filesystem), as --data is one every "
                                    "process reads")
            with part.open("rb") as source:
                header = source.readline()
                if rank == 0:
                    handle.write(header)
                shutil.copyfileobj(source, handle)
    joined.replace(out / "scores.csv")
    for rank in range(ddp.world_size):
        _scores_part(out, ddp, rank).unlink()


def _score_all(config: EvaluateConfig, scorer: Scorer, rows: list[dict[str, str]], files: dict[str, Path],
               scheme: LabelScheme | None, mask_dir: Path | None, check: _PixelCheck, ddp: Dist
               ) -> tuple[StreamingAggregates, dict[str, list[str]]]:
    """Score ``rows`` (this process's block) batch by batch; their rows of scores.csv go to
    :func:`_scores_part`."""
    layout = DatasetLayout(config.data)
    aggregates = StreamingAggregates()
    converted: dict[str, list[str]] = {}
    device = config.score.device
    tmp = _scores_part(config.out, ddp)
    pred_dir = next(iter(files.values())).parent
    batches = [rows[start : start + config.batch_size] for start in range(0, len(rows), config.batch_size)]
    loaded = prefetch(_load_batch(layout, files, batch, scheme, mask_dir) for batch in batches)
    where = f" [process {ddp.rank + 1}/{ddp.world_size}]" if ddp.world_size > 1 else ""
    with tmp.open("w", newline="") as handle, tqdm(total=len(rows), desc=f"evaluate{where}", unit="img",
                                                   disable=not config.progress or not ddp.is_main) as bar:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        for batch in loaded:
            converted.update(batch.notes)
            check.add(batch, pred_dir)
            pred, target, mask = (t.to(device) for t in (batch.pred, batch.target, batch.mask))
            fg_map = batch.fg.to(device) if batch.fg is not None else None
            parts = batch.parts.to(device) if batch.parts is not None else None
            pm = batch.predicted_mask.to(device) if batch.predicted_mask is not None else None
            with torch.no_grad():
                scores = scorer.score_batch(pred, target, mask, fg_map, pm, parts=parts)
            for (metric, region, mode), values in sorted(scores.items()):
                for row, value in zip(batch.rows, values.detach().cpu().double().tolist()):
                    ratio = float(row["hole_ratio"])
                    writer.writerow((row["id"], row["generator"], row["hole_ratio"], metric, region, mode,
                                     "" if math.isnan(value) else repr(value)))
                    aggregates.add(generator=row["generator"], hole_ratio=ratio, metric=metric, region=region,
                                   mode=mode, value=value)
            bar.update(len(batch.rows))
    return aggregates, converted


def evaluate(config: EvaluateConfig) -> dict[str, Any]:
    """Score one method on one dataset; writes scores.csv and results.json into ``config.out``.

    A failure leaves no new empty ``out`` folder behind. Under ``torchrun`` each process scores a block of whole
    batches (:func:`occbench.distributed.shard_batches`; with ``--method`` it also predicts them), then process 0
    gathers the statistics (torchmetrics' gather for the Inception features), joins scores.csv, writes
    results.json and returns the results; the other processes return None. The values equal a single process's
    (same batches, same order; means merged pairwise, equal up to rounding).
    """
    existed = config.out.exists()
    ddp = setup_distributed(config.score.device)
    try:
        return _evaluate(replace(config, score=replace(config.score, device=str(ddp.device))), ddp)
    except BaseException:
        for part in config.out.glob(".scores*.csv.tmp"):
            part.unlink(missing_ok=True)
        if not existed and config.out.is_dir() and not any(config.out.iterdir()):
            config.out.rmdir()
        raise
    finally:
        leave(ddp)


def _evaluate(config: EvaluateConfig, ddp: Dist) -> dict[str, Any] | None:
    info = read_dataset_info(config.data)
    rows = read_manifest(config.data, info)[: config.limit]
    if not rows:
        raise OccbenchError(f"{config.data}: the dataset has no samples to evaluate")
    fg_scheme, fg_missing = _label_scheme(info, config.score)  # fails on regions it cannot give before predicting
    scorer = Scorer(config.score)  # fail on missing weights before predicting
    started = time.perf_counter()
    pred_dir, method = _predictions(config)
    predicted = time.perf_counter()
    protocol = info["protocol"]
    content = dataset_fingerprint(config.data, info)
    warnings, files = check_predictions(pred_dir, [r["id"] for r in rows], info["resolution"],
                                        protocol["content_hash"], content)
    mask_dir = _predicted_masks(pred_dir, method, [r["id"] for r in rows])
    if config.name:
        method["display_name"] = config.name
    config.out.mkdir(parents=True, exist_ok=True)
    check = _PixelCheck(config.allow_pixel_mismatch)
    mine = rows[shard_batches(len(rows), config.batch_size, ddp.rank, ddp.world_size)]
    aggregates, converted = _score_all(config, scorer, mine, files, fg_scheme, mask_dir, check, ddp)
    scorer.gather(ddp)
    gathered = gather_objects((len(mine), aggregates, converted, check), ddp)  # every process's, in rank order
    if not ddp.is_main:
        return None
    for _, other_aggregates, other_converted, other_check in gathered[1:]:
        aggregates.merge(other_aggregates)
        converted.update(other_converted)
        check.merge(other_check)
    _join_scores(config.out, ddp)
    if check.disagreeing:
        warnings.append(f"{len(check.disagreeing)} predictions' known pixels disagree with this dataset's inputs "
                        f"(--allow-pixel-mismatch), e.g. {check.disagreeing[0]}")
    if converted:
        kinds = sorted({note for notes in converted.values() for note in notes})
        warnings.append(f"{len(converted)} prediction files were not 8-bit RGB and were converted "
                        f"({', '.join(kinds)}), e.g. {sorted(converted)[0]}")
    dataset_metrics = scorer.dataset_metrics()
    timing = {"predict_s": round(predicted - started, 3), "score_s": round(time.perf_counter() - predicted, 3)}
    timing["scored_images_per_s"] = round(len(rows) / max(timing["score_s"], 1e-9), 3)
    if torch.device(config.score.device).type == "cuda":
        timing["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if dataset_metrics and len(rows) < MIN_SAMPLES_FID:
        warnings.append(f"FID/KID rest on {len(rows)} samples (< {MIN_SAMPLES_FID}): biased and not comparable "
                        "to published values")
    segmentation = _segmentation(pred_dir, config.data, rows, info, method, warnings)
    warnings += [fg_missing] if fg_missing else []
    if (method.get("trained_recorded") or {}).get("fg_fallback"):
        warnings.append("the checkpoint was trained without a foreground map (fg_fallback: the whole image stood in "
                        "for the face), not the paper's setting")
    results = {
        "format": RESULTS_FORMAT,
        "method": method,
        "dataset": {"path": str(Path(config.data).resolve()), "protocol": protocol["name"],
                    "version": protocol["version"], "content_hash": protocol["content_hash"],
                    "content_sha256": content, "samples": len(rows), "labels": bool(info.get("labels")),
                    "label_scheme": dataset_scheme(info).name if info.get("labels") else None},
        "settings": {**{k: v for k, v in asdict(config.score).items()
                        if k not in ("weights_dir", "explicit", "explicit_regions")},
                     "metrics": scorer.metrics, "min_samples_fid": MIN_SAMPLES_FID, "limit": config.limit,
                     "part_classes": {part: list(classes) for part, classes in fg_scheme.part_classes().items()}
                     if fg_scheme is not None and fg_scheme.parts is not None else None},
        "provenance": {"occbench_version": __version__, "git_commit": _git_commit(), "torch": torch.__version__,
                       "torchvision": torchvision_status().as_dict(),
                       "device": describe_device(config.score.device), "weights": scorer.weights,
                       "processes": {"world_size": ddp.world_size,
                                     "backend": dist.get_backend() if ddp.active else None,
                                     "samples": [part[0] for part in gathered]},
                       "timing": timing,
                       "shared_work": {"raw_equals_composite": scorer.raw_equals_composite,
                                       "reference_cache": scorer.cache_stats},
                       "random_weights": scorer.random_weights
                       + (["training backbones (the checkpoint was trained with random ImageNet backbones)"]
                          if method.get("trained_random_backbones") else [])},
        "pixel_check": check.record(),
        "warnings": scorer.warnings + warnings,
        **aggregates.to_results(),
        "dataset_metrics": dataset_metrics,
        **({"segmentation": segmentation} if segmentation else {}),
    }
    write_atomic(config.out / "results.json", (json.dumps(results, indent=2, default=str) + "\n").encode())
    return results

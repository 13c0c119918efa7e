"""Scores of a method's own segmentation (``<run>/pred_seg/<id>.png``, class values of the scheme it was trained
on) against the dataset's labels: per-class IoU, mIoU and pixel accuracy from one confusion matrix over all
samples (the Cityscapes / PASCAL convention: IoU = TP / (TP + FP + FN) summed over the whole set, pixels whose
label is the scheme's ignore value left out, mIoU over the classes present in the labels or the predictions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from occbench.dataset.layout import DatasetLayout
from occbench.errors import OccbenchError
from occbench.image_io import read_gray
from occbench.labels import LabelScheme


def confusion(pred: np.ndarray, label: np.ndarray, scheme: LabelScheme) -> np.ndarray:
    """``(K, K)`` int64 counts, rows = label class, columns = predicted class; ignored and out-of-range label
    pixels are left out, out-of-range predictions count as wrong (column K is dropped)."""
    k = scheme.num_classes
    valid = label < k
    if scheme.ignore is not None:
        valid &= label != scheme.ignore
    pred = np.where(pred < k, pred, k).astype(np.int64)
    counts = np.bincount(label[valid].astype(np.int64) * (k + 1) + pred[valid], minlength=k * (k + 1))
    return counts.reshape(k, k + 1)[:, :k]


def summarize(matrix: np.ndarray, scheme: LabelScheme, missed: np.ndarray | None = None) -> dict[str, Any]:
    """Per-class IoU, mIoU and pixel accuracy of a confusion matrix (``missed``: per label class, pixels
    predicted as a value outside the scheme, counted as false negatives)."""
    missed = np.zeros(matrix.shape[0], np.int64) if missed is None else missed
    tp = np.diag(matrix).astype(np.float64)
    label_total = matrix.sum(1) + missed
    union = label_total + matrix.sum(0) - tp
    present = union > 0
    iou = np.where(present, tp / np.maximum(union, 1), np.nan)
    pixels = int(label_total.sum())
    return {"scheme": scheme.name, "pixels": pixels, "miou": float(np.nanmean(iou)) if present.any() else None,
            "pixel_accuracy": float(tp.sum() / pixels) if pixels else None,
            "per_class_iou": {name: (None if np.isnan(v) else float(v)) for name, v in zip(scheme.classes, iou)}}


def score_segmentation(seg_dir: Path, layout: DatasetLayout, rows: list[dict[str, str]],
                       scheme: LabelScheme) -> dict[str, Any]:
    """Scores of ``seg_dir/<id>.png`` against the dataset's ``label/<id>.png`` (checked against the manifest)."""
    k = scheme.num_classes
    matrix = np.zeros((k, k), np.int64)
    missed = np.zeros(k, np.int64)
    for row in rows:
        path = seg_dir / f"{row['id']}.png"
        if not path.is_file():
            raise OccbenchError(f"{path}: predicted segmentation missing (predict again)")
        pred = read_gray(path)
        label = read_gray(layout.file("label", row["id"]), row["sha256_label"] or None)
        if pred.shape != label.shape:
            raise OccbenchError(f"{path}: Expected a {label.shape[1]}x{label.shape[0]} class map, but got "
                                f"{pred.shape[1]}x{pred.shape[0]}")
        matrix += confusion(pred, label, scheme)
        valid = (label < k) & ((label != scheme.ignore) if scheme.ignore is not None else True)
        missed += np.bincount(label[valid & (pred >= k)].astype(np.int64), minlength=k)[:k]
    return {**summarize(matrix, scheme, missed), "samples": len(rows)}

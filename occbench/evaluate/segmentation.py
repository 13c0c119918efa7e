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
    """``(K, K + 1)`` int64 counts, rows = label class, columns = predicted class, the last column = predictions
    outside the scheme (wrong for every class); ignored and out-of-range label pixels are left out."""
    k = scheme.num_classes
    valid = label < k
    if scheme.ignore is not None:
        valid &= label != scheme.ignore
    pred = np.where(pred < k, pred, k).astype(np.int64)
    counts = np.bincount(label[valid].astype(np.int64) * (k + 1) + pred[valid], minlength=k * (k + 1))
    return counts.reshape(k, k + 1)


def summarize(matrix: np.ndarray, scheme: LabelScheme) -> dict[str, Any]:
    """Per-class IoU, mIoU and pixel accuracy of a confusion matrix, ``(K, K)`` or :func:`confusion`'s
    ``(K, K + 1)`` (out-of-scheme predictions count as false negatives of their label class)."""
    k = scheme.num_classes
    tp = np.diag(matrix[:, :k]).astype(np.float64)
    label_total = matrix.sum(1)
    union = label_total + matrix[:, :k].sum(0) - tp
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
    matrix = np.zeros((k, k + 1), np.int64)
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
    return {**summarize(matrix, scheme), "samples": len(rows)}

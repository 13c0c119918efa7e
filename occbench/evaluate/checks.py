"""Refusing mismatched predictions before and while scoring.

A predictions folder must hold ``<id>.<ext>`` for every dataset sample (PNG preferred; JPEG, WebP, BMP, TIFF
read too), at the dataset's resolution, and, when it carries a ``run.json`` written by ``occbench predict``,
come from the same protocol and the same built dataset. Sizes are read from file headers (no decoding), so
the check is cheap even for large sets.

What can be checked from pixels is checked too (:func:`known_pixel_agreement`): predictions of a method that
copies the known pixels must equal the dataset's occluded input outside its holes. Predictions that copy
most known pixels but differ in a region were made for other holes (another dataset); evaluate refuses them
unless told otherwise. A method that repaints the whole image cannot be checked this way (recorded as such).
"""

from __future__ import annotations

from pathlib import Path

import torch

from occbench.dataset.layout import read_json
from occbench.errors import OccbenchError
from occbench.image_io import IMAGE_EXTENSIONS

MAX_NAMED = 5


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header, or None when it is not an image Pillow recognises."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def prediction_files(pred_dir: Path, ids: list[str]) -> dict[str, Path]:
    """Id → prediction file (``<id>.png``, else the first ``<id>.<ext>`` of the readable image types)."""
    found: dict[str, Path] = {}
    by_stem: dict[str, list[Path]] = {}
    for path in pred_dir.iterdir():
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            by_stem.setdefault(path.stem, []).append(path)
    for sample_id in ids:
        candidates = sorted(by_stem.get(sample_id, []), key=lambda p: (p.suffix.lower() != ".png", p.name))
        if candidates:
            found[sample_id] = candidates[0]
    return found


def _named(paths: list, total: int) -> str:
    shown = ", ".join(str(p) for p in paths[:MAX_NAMED])
    return shown + (f" (and {total - MAX_NAMED} more)" if total > MAX_NAMED else "")


def check_predictions(pred_dir: Path, ids: list[str], resolution: int, protocol_hash: str,
                      dataset_fingerprint: str | None = None) -> tuple[list[str], dict[str, Path]]:
    """Raise OccbenchError on missing, unreadable or wrongly sized predictions, or predictions that ``run.json``
    says were made for another protocol or another built dataset (``dataset_fingerprint``).

    Returns warnings (extra files, no run.json to verify where the predictions come from) and each sample's
    prediction file.
    """
    if not pred_dir.is_dir():
        raise OccbenchError(f"{pred_dir}: predictions folder not found; expected <id>.png (or .jpg …) files")
    warnings = []
    run_json = next((p for p in (pred_dir / "run.json", pred_dir.parent / "run.json") if p.is_file()), None)
    if run_json is None:
        warnings.append(f"{pred_dir}: no run.json, so the predictions' protocol hash cannot be verified")
    else:
        recorded = read_json(run_json)
        recorded = recorded if isinstance(recorded, dict) else {}
        if recorded.get("protocol_hash") != protocol_hash:
            made_for = str(recorded.get("protocol_hash"))[:12]
            raise OccbenchError(f"{run_json}: predictions were made for protocol hash {made_for}, but the dataset's "
                                f"is {protocol_hash[:12]}; predict again on this dataset")
        made_on = recorded.get("dataset")
        if dataset_fingerprint and made_on and made_on != dataset_fingerprint:
            raise OccbenchError(f"{run_json}: predictions were made on another build of this protocol (dataset "
                                f"{str(made_on)[:12]}, this one is {dataset_fingerprint[:12]}: other source images or "
                                "masks); predict again on this dataset")
    files = prediction_files(pred_dir, ids)
    missing = [pred_dir / f"{i}.png" for i in ids if i not in files]
    if missing:
        kinds = "/".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
        raise OccbenchError(f"{len(missing)} of {len(ids)} predictions are missing (looked for <id>.{{{kinds}}}): "
                            f"{_named(missing, len(missing))}")
    wrong = []
    for path in files.values():
        size = image_size(path)
        if size != (resolution, resolution):
            wrong.append(f"{path} ({'not an image' if size is None else f'{size[0]}x{size[1]}'})")
    if wrong:
        raise OccbenchError(f"{len(wrong)} predictions are not {resolution}x{resolution} images: "
                            f"{_named(wrong, len(wrong))}")
    stems = {p.stem for p in pred_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS}
    extra = sorted(stems - set(ids))
    if extra:
        warnings.append(f"{pred_dir}: {len(extra)} images are not samples of the dataset and were ignored "
                        f"(e.g. {extra[0]})")
    return warnings, files


COPY_MIN, REGENERATE_MAX = 0.995, 0.5
BAND_FRACTION = 1 / 32  # blending band around holes left out of the check: 8 px at 256 px, 1 px at 32 px


def known_pixel_agreement(pred: torch.Tensor, occluded: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per image, the share of known pixels (farther from the hole than ``BAND_FRACTION`` of the image side, where
    blending and feathering are allowed) at which the prediction equals the dataset's occluded input exactly. ``(B,)``
    float64; NaN when no such pixel exists. Images are ``(B, 3, H, W)`` in [0, 1] read from 8-bit files, so
    equal pixels are equal floats; ``hole`` ``(B, 1, H, W)``, 1 = hole (the union of the dataset's and a
    predicted mask)."""
    from occbench.metrics.regions import binarize, boundary_band

    h = binarize(hole)
    band = max(1, round(min(h.shape[-2:]) * BAND_FRACTION))
    known = ((1 - h) * (1 - boundary_band(h, band))).flatten(1) > 0.5
    same = (pred == occluded).all(1).flatten(1) & known
    count = known.sum(1).double()
    return torch.where(count > 0, same.sum(1).double() / count.clamp_min(1), torch.full_like(count, float("nan")))


def classify_agreement(share: float) -> str:
    """``copies`` (the known pixels are the dataset's), ``regenerates`` (a method that repaints the whole image:
    not checkable), or ``disagrees`` (most known pixels copied, but a region differs: another dataset's holes)."""
    if share != share or share < REGENERATE_MAX:
        return "regenerates"
    return "copies" if share >= COPY_MIN else "disagrees"

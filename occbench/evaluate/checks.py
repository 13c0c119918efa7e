"""Refusing mismatched predictions before any scoring starts.

A predictions folder must hold ``<id>.png`` for every dataset sample, at the dataset's resolution, and,
when it carries a ``run.json`` written by ``occbench predict``, come from the same protocol hash.
Sizes are read from PNG headers (no decoding), so the check is cheap even for large sets.
"""

from __future__ import annotations

import struct
from pathlib import Path

from occbench.dataset.layout import read_json
from occbench.errors import OccbenchError

MAX_NAMED = 5


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when the file is not a PNG."""
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _named(paths: list, total: int) -> str:
    shown = ", ".join(str(p) for p in paths[:MAX_NAMED])
    return shown + (f" (and {total - MAX_NAMED} more)" if total > MAX_NAMED else "")


def check_predictions(pred_dir: Path, ids: list[str], resolution: int, protocol_hash: str,
                      dataset_fingerprint: str | None = None) -> list[str]:
    """Raise OccbenchError on missing, unreadable or wrongly sized predictions, or predictions that ``run.json``
    says were made for another protocol or another built dataset (``dataset_fingerprint``).

    Returns warnings (extra files, no run.json to verify where the predictions come from).
    """
    if not pred_dir.is_dir():
        raise OccbenchError(f"{pred_dir}: predictions folder not found; expected <id>.png files")
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
    missing = [pred_dir / f"{i}.png" for i in ids if not (pred_dir / f"{i}.png").is_file()]
    if missing:
        raise OccbenchError(f"{len(missing)} of {len(ids)} predictions are missing: {_named(missing, len(missing))}")
    wrong = []
    for sample_id in ids:
        path = pred_dir / f"{sample_id}.png"
        size = png_size(path)
        if size != (resolution, resolution):
            wrong.append(f"{path} ({'not a PNG' if size is None else f'{size[0]}x{size[1]}'})")
    if wrong:
        raise OccbenchError(f"{len(wrong)} predictions are not {resolution}x{resolution} PNGs: "
                            f"{_named(wrong, len(wrong))}")
    extra = sorted(set(p.stem for p in pred_dir.glob("*.png")) - set(ids))
    if extra:
        warnings.append(f"{pred_dir}: {len(extra)} PNGs are not samples of the dataset and were ignored "
                        f"(e.g. {extra[0]}.png)")
    return warnings

"""The occluder bank format, its reader and its writer.

A bank is a folder::

    <bank>/index.csv         one row per cut-out, sorted by id: id, kind, category, source, source_id,
                             width, height, area, licence, file
    <bank>/cutouts/<id>.png  RGBA uint8, cropped to the bounding box of alpha > 0; RGB is 0 where alpha is 0
    <bank>/bank.json         {"format": "occbench-occluders/1", "builds": [...]}: one record per distinct build
                             (builder, inputs, filters, counts, licence note), appended in run order
    <bank>/skipped.csv       source, file, reason: inputs that gave no cut-out (unreadable, no alpha, empty
                             mask, polygon outside the image, ...); a re-run of a source replaces its rows

``kind`` is ``object`` or ``hand``; ``area`` is the number of pixels with alpha > 0; ``file`` is relative
to the bank folder. Ids are ``<source>-<source_id>-<n>`` made file-name safe, where ``n`` is stable for
an instance (annotation id, line or hand index), so re-running a build into the same bank overwrites
the same files and leaves index.csv, skipped.csv and bank.json byte-identical. Building into an
existing bank adds to it; delete the folder to start over. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import decode_unchanged, encode_png, to_uint8, write_atomic

FORMAT = "occbench-occluders/1"
KINDS = ("object", "hand")
INDEX_COLUMNS = ("id", "kind", "category", "source", "source_id", "width", "height", "area", "licence", "file")
SKIPPED_COLUMNS = ("source", "file", "reason")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def read_rgba(path: str | Path) -> np.ndarray:
    """Read an image with an alpha channel as RGBA uint8 ``(H, W, 4)`` (gray+alpha is expanded).

    Raises :class:`SampleError` naming the file when it is unreadable or has no alpha channel.
    """
    path = Path(path)
    array = to_uint8(decode_unchanged(path), path, [])
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels == 4:
        return np.ascontiguousarray(array[:, :, [2, 1, 0, 3]])  # BGRA→RGBA
    if channels == 2:
        return np.ascontiguousarray(array[:, :, [0, 0, 0, 1]])
    raise SampleError(f"{path}: Expected an image with an alpha channel (RGBA), but got {channels} channel(s)")


def encode_rgba_png(rgba: np.ndarray) -> bytes:
    """Encode an RGBA uint8 ``(H, W, 4)`` array as PNG bytes (deterministic)."""
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"Expected a uint8 (H, W, 4) array, but got {rgba.dtype} {rgba.shape}")
    return encode_png(rgba)


def make_id(source: str, source_id: str, index: int) -> str:
    """``<source>-<source_id>-<index>`` with runs of characters outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return _UNSAFE.sub("_", f"{source}-{source_id}-{index}").lstrip(".")


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray | None:
    """Crop to the bounding box of alpha > 0 and zero RGB where alpha is 0; None when alpha is empty."""
    alpha = rgba[:, :, 3]
    if not alpha.any():
        return None
    x, y, w, h = cv2.boundingRect((alpha > 0).astype(np.uint8))
    crop = rgba[y:y + h, x:x + w].copy()
    crop[crop[:, :, 3] == 0, :3] = 0
    return crop


@dataclass(frozen=True)
class Skipped:
    """An input that gave no cut-out: the file (or ``file:line``) and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class OccluderEntry:
    """One row of index.csv. ``area`` counts alpha > 0 pixels; ``file`` is relative to the bank root."""

    id: str
    kind: str
    category: str
    source: str
    source_id: str
    width: int
    height: int
    area: int
    licence: str
    file: str

    @classmethod
    def from_row(cls, row: dict[str, str], where: str) -> OccluderEntry:
        """Parse a CSV row; ``where`` (``index.csv:line``) names the row in errors."""
        try:
            width, height, area = int(row["width"]), int(row["height"]), int(row["area"])
        except (TypeError, ValueError) as exc:
            raise OccbenchError(f"{where}: Expected integer width, height and area, but got "
                                f"{row.get('width')!r}, {row.get('height')!r}, {row.get('area')!r}") from exc
        if row["kind"] not in KINDS:
            raise OccbenchError(f"{where}: Expected kind 'object' or 'hand', but got {row['kind']!r}")
        if not row["id"] or not row["file"]:
            raise OccbenchError(f"{where}: Expected a non-empty id and file, but got {row['id']!r}, {row['file']!r}")
        return cls(id=row["id"], kind=row["kind"], category=row["category"], source=row["source"],
                   source_id=row["source_id"], width=width, height=height, area=area, licence=row["licence"],
                   file=row["file"])


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise OccbenchError(f"Expected kind 'object' or 'hand', but got {kind!r}")


def _read_index(path: Path) -> list[OccluderEntry]:
    if not path.is_file():
        raise OccbenchError(f"Expected an occluder bank index at {path}, but the file does not exist "
                            "(build a bank with `occbench build-occluders`)")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            if header != INDEX_COLUMNS:
                raise OccbenchError(f"{path}: Expected columns {', '.join(INDEX_COLUMNS)}, but got "
                                    f"{', '.join(header) or 'an empty file'}")
            entries = [OccluderEntry.from_row(row, f"{path}:{reader.line_num}") for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise OccbenchError(f"{path}: Expected a UTF-8 CSV file, but reading failed ({exc})") from exc
    ids = [entry.id for entry in entries]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise OccbenchError(f"{path}: Expected unique ids, but got {duplicate!r} more than once")
    return entries


@dataclass(frozen=True)
class OccluderBank:
    """A read-only view of a bank folder. Open with :meth:`OccluderBank.open`."""

    root: Path
    all_entries: tuple[OccluderEntry, ...]

    @classmethod
    def open(cls, root: str | Path) -> OccluderBank:
        """Read ``<root>/index.csv``; raises OccbenchError naming the file when it is missing or invalid."""
        root = Path(root)
        entries = _read_index(root / "index.csv")
        return cls(root=root, all_entries=tuple(sorted(entries, key=lambda e: e.id)))

    def __len__(self) -> int:
        return len(self.all_entries)

    def entries(self, kind: str | None = None, categories: Sequence[str] | None = None) -> list[OccluderEntry]:
        """Entries of one kind and/or categories (None = all), sorted by id."""
        _check_kind(kind)
        wanted = None if categories is None else set(categories)
        return [e for e in self.all_entries
                if (kind is None or e.kind == kind) and (wanted is None or e.category in wanted)]

    def categories(self, kind: str | None = None) -> list[str]:
        """Sorted category names present in the bank (optionally of one kind)."""
        return sorted({e.category for e in self.entries(kind)})

    def load(self, entry: OccluderEntry) -> np.ndarray:
        """The cut-out as RGBA uint8 ``(H, W, 4)``; alpha > 0 on the occluder."""
        path = self.root / entry.file
        rgba = read_rgba(path)
        if rgba.shape[:2] != (entry.height, entry.width):
            raise OccbenchError(f"{path}: Expected {entry.width}x{entry.height} as in index.csv, but got "
                                f"{rgba.shape[1]}x{rgba.shape[0]}")
        return rgba


def _csv_bytes(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class BankWriter:
    """Adds cut-outs to a bank folder (created when missing). Call :meth:`commit` to write the index.

    Cut-out PNGs are written as they are added; index.csv, skipped.csv and bank.json only on commit,
    so an interrupted build leaves the previous index intact (re-run the same command).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        index = self.root / "index.csv"
        existing = _read_index(index) if index.exists() else []
        self._entries: dict[str, OccluderEntry] = {e.id: e for e in existing}
        self._added: set[str] = set()
        self._meta = self._read_meta()

    def _read_meta(self) -> dict[str, Any]:
        path = self.root / "bank.json"
        if not path.exists():
            return {"format": FORMAT, "builds": []}
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OccbenchError(f"{path}: Expected a JSON file, but reading failed ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("builds"), list):
            got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise OccbenchError(f"{path}: Expected format {FORMAT!r} with a 'builds' list, but got {got!r}")
        return meta

    def add(self, rgba: np.ndarray, *, kind: str, category: str, source: str, source_id: str, index: int,
            licence: str) -> OccluderEntry:
        """Crop ``rgba`` to its alpha box, write ``cutouts/<id>.png`` and return the new index row.

        Raises SampleError when alpha is empty or the id was already added in this session.
        """
        _check_kind(kind)
        if not licence.strip():
            raise OccbenchError("Expected a licence note for the cut-outs, but got an empty string")
        entry_id = make_id(source, source_id, index)
        if entry_id in self._added:
            raise SampleError(f"Expected a unique id, but got {entry_id!r} twice in this build")
        crop = crop_to_alpha(rgba)
        if crop is None:
            raise SampleError(f"{entry_id}: empty mask (no pixel with alpha > 0)")
        file = f"cutouts/{entry_id}.png"
        write_atomic(self.root / file, encode_rgba_png(crop))
        entry = OccluderEntry(id=entry_id, kind=kind, category=category, source=source, source_id=source_id,
                              width=int(crop.shape[1]), height=int(crop.shape[0]),
                              area=int(np.count_nonzero(crop[:, :, 3])), licence=licence, file=file)
        self._entries[entry_id] = entry
        self._added.add(entry_id)
        return entry

    def commit(self, build: dict[str, Any], skipped: Sequence[Skipped], source: str) -> None:
        """Write index.csv (sorted by id), skipped.csv (``source``'s rows replaced) and bank.json.

        ``build`` is appended to bank.json's ``builds`` unless an identical record is already there.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        rows = [asdict(self._entries[key]) for key in sorted(self._entries)]
        write_atomic(self.root / "index.csv", _csv_bytes(rows, INDEX_COLUMNS))
        skip_path = self.root / "skipped.csv"
        old = []
        if skip_path.is_file():
            with skip_path.open(newline="", encoding="utf-8") as handle:
                old = [row for row in csv.DictReader(handle) if row.get("source") != source]
        new = [{"source": source, "file": s.file, "reason": s.reason} for s in skipped]
        merged = sorted(old + new, key=lambda r: (r["source"], r["file"], r["reason"]))
        write_atomic(skip_path, _csv_bytes(merged, SKIPPED_COLUMNS))
        if build not in self._meta["builds"]:
            self._meta["builds"].append(build)
        text = json.dumps(self._meta, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
        write_atomic(self.root / "bank.json", text.encode("utf-8"))

    @property
    def size(self) -> int:
        """Number of entries in the bank after this session's additions."""
        return len(self._entries)


__all__ = ["FORMAT", "INDEX_COLUMNS", "KINDS", "BankWriter", "OccluderBank", "OccluderEntry", "Skipped",
           "crop_to_alpha", "encode_rgba_png", "make_id", "read_rgba"]

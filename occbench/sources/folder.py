"""``folder``: any tree of images, optionally with label maps beside it (CelebAMask-HQ classes, or another scheme).

Also home of the helpers the other sources share: ``list:<file>`` splits and label-map loading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import list_image_files, read_gray, read_image
from occbench.labels import SCHEMES, get_scheme
from occbench.sources.base import Source, SourceItem, SourceSample, id_from_relpath

ASPECT_TOLERANCE = 0.01  # relative difference of height/width ratios allowed between image and label


def under_root(root: Path | None, path: str | Path) -> Path:
    """``path`` if absolute, else ``root / path`` (or ``path`` itself when there is no root)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() or root is None else root / path


def list_file_path(split: str, root: Path | None) -> Path:
    """The file of a ``list:<file>`` split: absolute, else looked up under ``root`` first, then the cwd."""
    name = split.removeprefix("list:").strip()
    if not name:
        raise OccbenchError("split 'list:<file>' names no file; expected e.g. 'list:test_ids.txt'")
    candidates = [under_root(root, name), Path(name)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(dict.fromkeys(str(c) for c in candidates))
    raise OccbenchError(f"{tried}: list file of split {split!r} does not exist")


def select_listed(split: str, root: Path | None, items: dict[str, SourceItem],
                  resolve: Callable[[str], str | None]) -> list[SourceItem]:
    """Items named by a ``list:<file>`` split, sorted by id (list order and duplicates do not matter).

    One entry per line; blank lines and lines starting with ``#`` are skipped. ``resolve`` turns an entry
    into an id (``None`` when it cannot); an entry naming no item raises an error naming file and line.
    """
    path = list_file_path(split, root)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise OccbenchError(f"{path}: cannot read list file ({exc})") from exc
    chosen: dict[str, SourceItem] = {}
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        item_id = resolve(entry)
        if item_id is None or item_id not in items:
            raise OccbenchError(f"{path}:{number}: {entry!r} is not an item of this source "
                                f"(expected an id or a relative image path; {len(items)} items found)")
        chosen[item_id] = items[item_id]
    if not chosen:
        raise OccbenchError(f"{path}: list file has no entries")
    return [chosen[key] for key in sorted(chosen)]


def read_label(path: Path, image_shape: tuple[int, ...], scheme: str = "celebamask19") -> np.ndarray:
    """Read a label map of ``scheme`` at its native size; its aspect ratio must match the image's. A map whose
    every pixel is the scheme's ignore value is refused too (most likely a 0/255 mask given as labels)."""
    if not path.is_file():
        raise SampleError(f"{path}: label map not found")
    label = read_gray(path)
    labels = get_scheme(scheme)
    labels.check(label, path)
    if labels.ignore is not None and label.size and (label == labels.ignore).all():
        raise SampleError(f"{path}: Expected {labels.name} class values, but every pixel is {labels.ignore} "
                          "(ignore): a 0/255 mask?")
    check_label_aspect(label.shape, image_shape, path)
    return label


def check_label_aspect(label_shape: tuple[int, ...], image_shape: tuple[int, ...], path: object) -> None:
    """Labels may differ in size from the image (CelebAMask-HQ: 512 vs 1024), never in aspect ratio."""
    label_ratio = label_shape[0] / label_shape[1]
    image_ratio = image_shape[0] / image_shape[1]
    if abs(label_ratio - image_ratio) > ASPECT_TOLERANCE * image_ratio:
        raise SampleError(f"{path}: label map is {label_shape[1]}x{label_shape[0]} but the image is "
                          f"{image_shape[1]}x{image_shape[0]}; Expected the same aspect ratio")


def ids_for_relpaths(relpaths: list[Path]) -> dict[str, Path]:
    """Id → relative path. Ids colliding (``a.jpg`` and ``a.png``) all get their extension appended
    (``a_jpg``, ``a_png``); ids that still collide (names that differ only in characters an id cannot hold,
    such as two all-Cyrillic names) get the first 8 hex digits of the sha256 of their relative path."""
    groups: dict[str, list[Path]] = {}
    for rel in relpaths:
        groups.setdefault(id_from_relpath(rel), []).append(rel)
    first: dict[str, list[Path]] = {}
    for base_id, rels in groups.items():
        for rel in rels:
            item_id = base_id if len(rels) == 1 else f"{base_id}_{id_from_relpath(rel.suffix.lstrip('.'))}"
            first.setdefault(item_id, []).append(rel)
    out: dict[str, Path] = {}
    for item_id, rels in first.items():
        for rel in rels:
            key = item_id if len(rels) == 1 else \
                f"{item_id}_{hashlib.sha256(rel.as_posix().encode()).hexdigest()[:8]}"
            out[key] = rel
    return out


@dataclass(frozen=True)
class FolderSource(Source):
    """Every image under ``root`` (recursive; extensions from ``image_io.IMAGE_EXTENSIONS`` in any case;
    hidden files and folders skipped). Ids come from relative paths (``a/b/c.jpg`` → ``a__b__c``);
    files whose ids collide (``a.jpg``, ``a.png``) are told apart by their extension (``a_jpg``, ``a_png``).

    Parameters:
        label_dir: folder of label maps, ``<label_dir>/<relative path>.png`` with the image's extension replaced
            by ``.png``; relative to ``root`` unless absolute, and skipped when listing images. Labels are
            returned at their native size (aspect ratio must match the image's). Without it the source has no
            labels.
        label_scheme: what the label values mean, a name of :data:`occbench.labels.SCHEMES` (default
            ``celebamask19``); values outside the scheme are an error for the sample.

    Splits: ``all``, or ``list:<file>`` (one id or relative image path per line; relative file names
    are looked up under ``root`` first, then the current directory).
    """

    label_dir: Path | None = None
    label_scheme: str = "celebamask19"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.label_scheme not in SCHEMES:
            raise ValueError(f"label_scheme: Expected one of {', '.join(SCHEMES)}, but got {self.label_scheme!r}")

    def provides_labels(self) -> bool:
        return self.label_dir is not None

    def layout_hint(self) -> str:
        hint = "a folder of images (any depth)"
        return hint + (f", labels as {self.label_dir}/<relative path>.png" if self.label_dir else "")

    def _label_root(self, root: Path) -> Path | None:
        return under_root(root, self.label_dir) if self.label_dir is not None else None

    def items(self) -> list[SourceItem]:
        root = self.require_root()
        label_root = self._label_root(root)
        if label_root is not None and not label_root.is_dir():
            raise OccbenchError(f"{label_root}: label_dir does not exist")
        relpaths, problems = list_image_files(root, exclude=label_root)
        object.__setattr__(self, "_problems", tuple(problems))
        if not relpaths:
            raise OccbenchError(f"{root}: no images found (expected {self.layout_hint()})")
        ids = ids_for_relpaths(relpaths)
        by_id = {
            item_id: SourceItem(
                id=item_id,
                image_path=root / rel,
                label_path=label_root / rel.with_suffix(".png") if label_root is not None else None,
            )
            for item_id, rel in ids.items()
        }
        if self.split.startswith("list:"):
            paths = {rel.as_posix(): item_id for item_id, rel in ids.items()}

            def resolve(entry: str) -> str | None:
                entry = entry.replace("\\", "/").removeprefix("./")
                if entry in by_id:
                    return entry
                return paths.get(entry) or id_from_relpath(entry)

            return select_listed(self.split, root, by_id, resolve)
        return [by_id[key] for key in sorted(by_id)]

    def problems(self) -> list[str]:
        return list(getattr(self, "_problems", ()))

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        image = read_image(item.image_path, notes)
        label = read_label(item.label_path, image.shape, self.label_scheme) if item.label_path is not None else None
        return SourceSample(image=image, label=label, notes=notes)

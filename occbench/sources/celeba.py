"""``celeba``: aligned-and-cropped CelebA (178x218 JPEGs), with the official train/val/test partition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from occbench.errors import OccbenchError
from occbench.image_io import IMAGE_EXTENSIONS, read_image
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.folder import select_listed, under_root

PARTITIONS = {"train": 0, "val": 1, "test": 2}  # list_eval_partition.txt codes


def read_partition(path: Path) -> dict[str, int]:
    """Parse CelebA's ``list_eval_partition.txt`` (``<file> <0|1|2>`` per line) into file stem → code."""
    if not path.is_file():
        raise OccbenchError(f"{path}: CelebA partition file not found (list_eval_partition.txt from the "
                            "CelebA 'Eval' folder; lines '<file> <0|1|2>')")
    out: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise OccbenchError(f"{path}:{number}: Expected '<file> <0|1|2>', but got {line.strip()!r}")
        out[Path(fields[0]).stem] = int(fields[1])
    return out


@dataclass(frozen=True)
class CelebASource(Source):
    """Aligned CelebA. Layout under ``root``::

        img_align_celeba/000001.jpg ... 202599.jpg   (``image_dir``; .png accepted)
        list_eval_partition.txt                      (``partition_file``: '<file> <0|1|2>' per line)

    The doubly nested ``img_align_celeba/img_align_celeba/`` of some mirrors is accepted. Ids are file
    stems (``000001``). Splits: ``all``; ``train``/``val``/``test`` (official partition 0/1/2; the
    partition file must list every image found); ``list:<file>`` (ids or file names, one per line).
    Paths are relative to ``root`` unless absolute. No labels.
    """

    image_dir: str = "img_align_celeba"
    partition_file: str = "list_eval_partition.txt"

    splits: ClassVar[tuple[str, ...]] = ("all", "train", "val", "test")

    def layout_hint(self) -> str:
        return f"{self.image_dir}/<000001>.jpg and {self.partition_file}"

    def _image_root(self, root: Path) -> Path:
        folder = under_root(root, self.image_dir)
        nested = folder / folder.name
        if nested.is_dir() and not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir()):
            return nested
        return folder

    def items(self) -> list[SourceItem]:
        root = self.require_root()
        folder = self._image_root(root)
        if not folder.is_dir():
            raise OccbenchError(f"{folder}: image folder does not exist (expected {self.layout_hint()})")
        by_id: dict[str, SourceItem] = {}
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
                continue
            if path.stem in by_id:
                raise OccbenchError(f"{by_id[path.stem].image_path} and {path} have the same id {path.stem!r}")
            by_id[path.stem] = SourceItem(id=path.stem, image_path=path)
        if not by_id:
            raise OccbenchError(f"{folder}: no images found (expected {self.layout_hint()})")
        if self.split.startswith("list:"):
            return select_listed(self.split, root, by_id, lambda entry: Path(entry).stem)
        if self.split in PARTITIONS:
            partition_path = under_root(root, self.partition_file)
            partition = read_partition(partition_path)
            unlisted = [key for key in by_id if key not in partition]
            if unlisted:
                raise OccbenchError(f"{partition_path}: {len(unlisted)} images are not listed, e.g. "
                                    f"{by_id[unlisted[0]].image_path.name}; is it CelebA's list_eval_partition.txt?")
            by_id = {key: item for key, item in by_id.items() if partition[key] == PARTITIONS[self.split]}
        return [by_id[key] for key in sorted(by_id)]

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        return SourceSample(image=read_image(item.image_path, notes), label=None, notes=notes)

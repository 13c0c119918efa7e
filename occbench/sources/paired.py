"""``paired``: a published occluded test set taken as it is distributed — target, occluded image and mask per sample.

Layout under ``--source-dir`` (folder names are parameters)::

    target/<rel>.<ext>     the unoccluded ground truth
    occluded/<rel>.<ext>   the occluded image the method is given
    mask/<rel>.<ext>       where the occluder is (polarity declared by ``mask_polarity``, never guessed)
    label/<rel>.png        optional label maps of the target (``label_dir``)

Files are matched by relative path without extension (``target/a/1.jpg`` ↔ ``occluded/a/1.png`` ↔ ``mask/a/1.png``).
A target without its occluded image or mask is still listed: loading it is a skip naming the missing file, so a
dataset built from an incomplete download says what it lacks. Files in ``occluded/`` or ``mask/`` without a target
are listed as source problems. Use it with the ``given`` generator, which takes the occlusion as loaded.

Checks per sample (each failure is a skip whose reason names the files): the three images have one size; the mask
has holes and is not all hole; outside the mask the occluded image equals the target up to ``max_outside_mad``
(mean absolute difference in grey levels over the three channels; JPEG re-encoding of published sets gives 1-3).
A pair that fails it is misaligned, resized, colour-shifted, or has the wrong mask polarity (the error says which
polarity would fit better). The measured differences are recorded in the manifest's params.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import list_image_files, read_gray, read_image
from occbench.labels import SCHEMES
from occbench.polarity import check_polarity_name, hole_from_gray, other_polarity
from occbench.sources.base import GivenOcclusion, Source, SourceItem, SourceSample, id_from_relpath
from occbench.sources.folder import ids_for_relpaths, read_label, select_listed, under_root

MIN_UNCHANGED_INSIDE = 0.5  # grey levels: an occluded image equal to the target inside the mask gets a note


def _by_stem(root: Path) -> tuple[dict[str, Path], list[str]]:
    """Relative path without extension → relative path, for the images under ``root`` (duplicates are problems)."""
    relpaths, problems = list_image_files(root)
    stems: dict[str, Path] = {}
    for rel in relpaths:
        stem = rel.with_suffix("").as_posix()
        if stem in stems:
            problems.append(f"{root / rel}: a second file for {stem!r} (also {root / stems[stem]}); the first is used")
            continue
        stems[stem] = rel
    return stems, problems


def mean_abs_diff(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float | None:
    """Mean |a − b| in grey levels over the pixels where ``where`` is True (all channels); None when there are none."""
    if not where.any():
        return None
    return float(np.abs(a[where].astype(np.int16) - b[where].astype(np.int16)).mean())


@dataclass(frozen=True)
class PairedSource(Source):
    """Target, occluded image and mask folders of a published occluded test set (module docstring: layout, checks).

    Parameters:
        mask_polarity: required; "white_hole" (255 = occluded, occbench's own masks) or "black_hole" (0 = occluded).
        mask_threshold: grey level separating occluded from kept mask pixels (1-255).
        target_dir, occluded_dir, mask_dir: the three folders, relative to ``--source-dir`` unless absolute.
        label_dir: optional label maps of the targets, ``<label_dir>/<rel>.png``; ``label_scheme`` says what the
            values mean.
        max_outside_mad: the largest mean absolute difference (grey levels) between occluded image and target
            outside the mask that is accepted.

    Splits: ``all`` or ``list:<file>`` (ids or relative target paths).
    """

    mask_polarity: str = ""
    mask_threshold: int = 128
    target_dir: str = "target"
    occluded_dir: str = "occluded"
    mask_dir: str = "mask"
    label_dir: str | None = None
    label_scheme: str = "celebamask19"
    max_outside_mad: float = 4.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_polarity_name(self.mask_polarity, self.mask_threshold, key="mask_polarity")
        if self.label_scheme not in SCHEMES:
            raise ValueError(f"label_scheme: Expected one of {', '.join(SCHEMES)}, but got {self.label_scheme!r}")
        if not self.max_outside_mad >= 0:
            raise ValueError(f"max_outside_mad: Expected grey levels >= 0, but got {self.max_outside_mad!r}")

    def provides_labels(self) -> bool:
        return self.label_dir is not None

    def provides_given(self) -> bool:
        return True

    def layout_hint(self) -> str:
        return (f"folders {self.target_dir}/, {self.occluded_dir}/ and {self.mask_dir}/ with one file per sample, "
                "matched by relative path without extension")

    def _folders(self) -> tuple[Path, Path, Path, Path | None]:
        root = self.require_root()
        folders = [under_root(root, name) for name in (self.target_dir, self.occluded_dir, self.mask_dir)]
        for folder in folders:
            if not folder.is_dir():
                raise OccbenchError(f"{folder}: folder does not exist (expected {self.layout_hint()})")
        label_root = under_root(root, self.label_dir) if self.label_dir is not None else None
        if label_root is not None and not label_root.is_dir():
            raise OccbenchError(f"{label_root}: label_dir does not exist")
        return folders[0], folders[1], folders[2], label_root

    def items(self) -> list[SourceItem]:
        target_root, occluded_root, mask_root, label_root = self._folders()
        relpaths, problems = list_image_files(target_root)
        if not relpaths:
            raise OccbenchError(f"{target_root}: no target images found (expected {self.layout_hint()})")
        occluded, occluded_problems = _by_stem(occluded_root)
        masks, mask_problems = _by_stem(mask_root)
        stems = {rel.with_suffix("").as_posix() for rel in relpaths}
        orphans = [f"{folder / rel}: no target {target_root}/{stem}.*"
                   for folder, table in ((occluded_root, occluded), (mask_root, masks))
                   for stem, rel in sorted(table.items()) if stem not in stems]
        object.__setattr__(self, "_problems", tuple(problems + occluded_problems + mask_problems + orphans))
        by_id: dict[str, SourceItem] = {}
        for item_id, rel in ids_for_relpaths(relpaths).items():
            stem = rel.with_suffix("").as_posix()
            partners = (("occluded", occluded_root, occluded), ("mask", mask_root, masks))
            paired = tuple((kind, folder / table[stem] if stem in table else folder / f"{stem}.*")
                           for kind, folder, table in partners)
            by_id[item_id] = SourceItem(id=item_id, image_path=target_root / rel,
                                        label_path=label_root / f"{stem}.png" if label_root is not None else None,
                                        paired_paths=paired)
        if self.split.startswith("list:"):
            paths = {rel.as_posix(): item_id for item_id, rel in ids_for_relpaths(relpaths).items()}
            return select_listed(self.split, self.root, by_id,
                                 lambda entry: entry if entry in by_id else paths.get(entry) or id_from_relpath(entry))
        return [by_id[key] for key in sorted(by_id)]

    def problems(self) -> list[str]:
        return list(getattr(self, "_problems", ()))

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        target = read_image(item.image_path, notes)
        paths = dict(item.paired_paths)
        for kind in ("occluded", "mask"):
            if paths[kind].name.endswith(".*"):
                raise SampleError(f"{item.image_path}: no {kind} file for this target (expected {paths[kind]})")
        occluded = read_image(paths["occluded"])
        gray = read_gray(paths["mask"])
        for name, array in (("occluded", occluded), ("mask", gray)):
            if array.shape[:2] != target.shape[:2]:
                raise SampleError(f"{paths[name]}: {name} is {array.shape[1]}x{array.shape[0]} but the target "
                                  f"{item.image_path} is {target.shape[1]}x{target.shape[0]}; expected the same size")
        hole = hole_from_gray(gray, self.mask_polarity, self.mask_threshold)
        given = self._checked(item, paths, target, occluded, hole, notes)
        label = read_label(item.label_path, target.shape, self.label_scheme) if item.label_path is not None else None
        return SourceSample(image=target, label=label, notes=notes, given=given)

    def _checked(self, item: SourceItem, paths: dict[str, Path], target: np.ndarray, occluded: np.ndarray,
                 hole: np.ndarray, notes: list[str]) -> GivenOcclusion:
        """The occlusion, after the size, coverage and outside-agreement checks (module docstring)."""
        ratio = float(hole.mean())
        if ratio == 0.0 or ratio == 1.0:
            raise SampleError(f"{paths['mask']}: the mask is {'empty' if ratio == 0 else 'all occluded'} under "
                              f"mask_polarity {self.mask_polarity!r} (threshold {self.mask_threshold})")
        outside = mean_abs_diff(occluded, target, ~hole)
        inside = mean_abs_diff(occluded, target, hole)
        if outside > self.max_outside_mad:
            hint = (f"; the other polarity ({other_polarity(self.mask_polarity)}) would fit better (difference "
                    f"{inside:.1f} outside its mask)" if inside < outside else
                    "; the pair may be misaligned, resized or colour-shifted")
            raise SampleError(f"{paths['occluded']}: differs from the target {item.image_path} by {outside:.1f} grey "
                              f"levels on average outside the mask {paths['mask']} (accepted: max_outside_mad "
                              f"{self.max_outside_mad}){hint}")
        if inside < MIN_UNCHANGED_INSIDE:
            notes.append("occluded image equals the target inside the mask")
        params = {"occluded_file": paths["occluded"].name, "mask_file": paths["mask"].name,
                  "outside_mad": round(outside, 4), "inside_mad": round(inside, 4)}
        return GivenOcclusion(occluded=occluded, mask=hole.astype(np.uint8), params=params)

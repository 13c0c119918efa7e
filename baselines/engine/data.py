"""Training data from a built dataset (docs/conventions.md §3) and a loader whose order is a function of the seed.

A batch is the dict described in :mod:`occbench.baselines.engine.recipe`: ``target``, ``occluded``
``(B, 3, H, W)`` float32 in [0, 1], ``mask`` ``(B, 1, H, W)`` (1 = hole) and, when ``dataset.json`` says
the dataset has labels, ``label`` ``(B, H, W)`` int64 in the dataset's label scheme (``label_scheme``, see
:mod:`occbench.labels`) and, when that scheme has a foreground (faces), ``fg`` ``(B, 1, H, W)``.

Order: every process uses a :class:`ResumableSampler` (a ``DistributedSampler``, with one replica
outside DDP), whose permutation of epoch ``e`` is ``randperm(n)`` under ``seed + e``; the position in the
epoch is part of the checkpoint, so a resumed run reads the same batches as an uninterrupted one. The
optional horizontal flip (off by default) is drawn per sample from ``sample_rng(seed, "flip", epoch, id)``,
so it depends neither on worker count nor on run order; it swaps the scheme's left/right classes in the labels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from occbench.dataset.layout import DatasetLayout, read_dataset_info, read_manifest
from occbench.dataset.tensors import fg_tensor, image_tensor, label_tensor, mask_tensor, read_hole
from occbench.errors import OccbenchError
from occbench.image_io import read_gray, read_image
from occbench.labels import dataset_scheme
from occbench.rng import sample_rng


class BuiltDataset(Dataset):
    """Samples of a built dataset, in manifest (id) order.

    ``rotate90``: rotate each sample by a random multiple of 90° (M-CSAM's official augmentation), drawn like the flip.
    ``flip``: flip each sample horizontally (all its tensors together) with probability 1/2, drawn from
    the sample's own generator for the current epoch (:meth:`set_epoch`).
    """

    def __init__(self, root: str | Path, *, flip: bool = False, rotate90: bool = False, seed: int = 0):
        self.root = Path(root)
        self.info = read_dataset_info(self.root)
        self.layout = DatasetLayout(self.root)
        self.rows = read_manifest(self.root, self.info)
        self.ids = [row["id"] for row in self.rows]
        if not self.ids:
            raise OccbenchError(f"{self.layout.manifest}: the dataset has no samples to train on")
        self.labels = bool(self.info.get("labels"))
        self.scheme = dataset_scheme(self.info) if self.labels else None
        self._flip_lut = self.scheme.flip_lut() if self.scheme is not None else None
        self.flip, self.rotate90 = flip, rotate90
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        row = self.rows[index]
        sample_id = row["id"]  # every file is checked against the sha256 the manifest records
        target = read_image(self.layout.file("target", sample_id), sha256=row["sha256_target"])
        occluded = read_image(self.layout.file("occluded", sample_id), sha256=row["sha256_occluded"])
        mask = read_hole(self.layout.file("mask", sample_id), row["sha256_mask"])
        label = read_gray(self.layout.file("label", sample_id), row["sha256_label"] or None) if self.labels else None
        if self.flip and sample_rng(self.seed, "flip", self.epoch, sample_id).random() < 0.5:
            target, occluded, mask = target[:, ::-1], occluded[:, ::-1], mask[:, ::-1]
            # a horizontal flip swaps the subject's left and right: the scheme's left/right classes are swapped
            # (l_eye <-> r_eye, ...; identity for schemes without such pairs, e.g. Cityscapes)
            label = self._flip_lut[label[:, ::-1]] if label is not None else None
        if self.rotate90:  # k·90° (k uniform in 0..3); a rotation keeps the subject's left and right
            k = int(sample_rng(self.seed, "rotate90", self.epoch, sample_id).integers(4))
            target, occluded, mask = (np.rot90(a, k) for a in (target, occluded, mask))
            label = np.rot90(label, k) if label is not None else None
        sample = {"target": image_tensor(target), "occluded": image_tensor(occluded), "mask": mask_tensor(mask)}
        if label is not None:
            sample["label"] = label_tensor(label)
            if self.scheme.foreground is not None:
                sample["fg"] = fg_tensor(label, self.scheme)
        return sample


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (shuffled, ``seed + epoch``) that can start ``start`` samples into the epoch."""

    def __init__(self, dataset: Dataset, *, num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 drop_last: bool = True):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=drop_last)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Epoch to draw and the number of this rank's samples of it already consumed."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return max(self.num_samples - self.start, 0)


def _worker_init(worker_id: int) -> None:
    """Workers draw no randomness of their own (flips come from per-sample generators); numpy's global
    generator is still seeded from torch's per-worker seed so third-party code in a worker is repeatable."""
    np.random.seed(torch.initial_seed() % 2**32)


def make_loader(dataset: BuiltDataset, *, batch_size: int, seed: int, num_workers: int = 0, rank: int = 0,
                world_size: int = 1) -> DataLoader:
    """A loader over ``dataset`` for one process (full batches only; order set by its sampler).

    Call :func:`start_epoch` before iterating it.
    """
    per_rank = len(dataset) // world_size
    if per_rank < batch_size:
        raise OccbenchError(f"{dataset.root}: {len(dataset)} samples ({per_rank} per process) are fewer than "
                            f"the batch size {batch_size}; pass a smaller --batch-size")
    sampler = ResumableSampler(dataset, num_replicas=world_size, rank=rank, seed=seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers, drop_last=True,
                      pin_memory=torch.cuda.is_available(), worker_init_fn=_worker_init,
                      generator=torch.Generator().manual_seed(seed), persistent_workers=False)


def batches_per_epoch(loader: DataLoader) -> int:
    """Full batches in one epoch of this process."""
    return loader.sampler.num_samples // loader.batch_size


def start_epoch(loader: DataLoader, epoch: int, batch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
    """An iterator over epoch ``epoch`` of ``loader`` that skips its first ``batch`` batches."""
    loader.sampler.set_position(epoch, batch * loader.batch_size)
    loader.dataset.set_epoch(epoch)
    loader.generator.manual_seed(loader.sampler.seed + epoch)  # worker seeds: a function of (seed, epoch) only
    return iter(loader)

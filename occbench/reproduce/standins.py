"""Smoke stand-ins: the real files of ``../shared/assets`` laid out as the folder each source (or generator) expects.

``occbench reproduce --smoke`` gives every recipe source a stand-in named in the recipe (``sources.<name>.smoke``).
Each one is a small folder under ``<work>/smoke/standins/<name>/`` made of links to the shared files and, where the
shared copy is in another encoding, converted files (written there, never into the repository):

- ``celebahq``: the 4 CelebAMask-HQ samples (ids 0–3, index labels: splits ``sgin-train``, ``pconv-train``) and the 10
  SEAN ground-truth pairs (ids 28016–28448: ``sgin-val``, ``pconv-test``, ``sean-test``), their colour labels
  converted to class indices with SEAN's colours (which differ from CelebAMask-HQ's at ``r_brow``);
- ``celeba``: 12 CelebA-HQ faces of ``celeba_hq_faces_sean`` as ``img_align_celeba/``, the first 6 in the ``train``
  partition and the next 6 in ``val`` (a written ``list_eval_partition.txt``);
- ``cityscapes``: the 8 full-resolution aachen frames, 0–3 under ``train/`` and 4–7 under ``val/``;
- ``ost``: no OST annotations are available (``ost_sftgan_nolabels`` has none), so the same 8 Cityscapes frames with
  labels mapped to the ``ost8`` classes (sky, building, plant, grass; people, vehicles and roads are background; the
  five unlabelled ids void), 0–3 as ``train/`` and 4–7 as ``test/``;
- ``nvidia-masks``: 60 of the NVIDIA irregular test masks, 10 per PConv bin (255 = hole, as shipped);
- ``qdimd-masks``: the same 60 masks inverted (0 = hole), standing in for QD-IMD's black-hole PNGs;
- ``coco128``, ``egohands``: the shared folders themselves (``build-occluders --from yolo`` / ``--from rgba``).

Every stand-in is built once (``.standin.json`` records what it holds) and reused by every recipe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from occbench.errors import OccbenchError

MARKER = ".standin.json"

# SEAN's CelebAMask-HQ colours (its ui/util.py): CelebAMask-HQ's palette except r_brow, (51, 255, 255) here
SEAN_R_BROW = (51, 255, 255)
R_BROW = 7

# Cityscapes label id -> ost8 class (0 background, 1 sky, 3 grass, 5 building, 6 plant); ids 0-5 are void (255)
_OST_FROM_LABEL_ID = {**{i: 255 for i in range(6)}, 11: 5, 12: 5, 13: 5, 14: 5, 15: 5, 16: 5, 21: 6, 22: 3, 23: 1}


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())


def _need(path: Path) -> Path:
    if not path.exists():
        raise OccbenchError(f"{path}: not found; the smoke stand-in needs it (../shared/assets, see its SOURCES.md; "
                            "set OCCBENCH_SHARED or --shared to the folder holding assets/)")
    return path


def _write_png(path: Path, array: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise OccbenchError(f"{path}: could not write the PNG")


def _read(path: Path, flags: int) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), flags)
    if image is None:
        raise OccbenchError(f"{path}: not a readable image")
    return image


def _celebahq(assets: Path, out: Path) -> list[str]:
    """``CelebA-HQ-img/<id>`` and ``CelebAMask-HQ-mask/<id>.png`` (class indices)."""
    import cv2

    from occbench.labels import CELEBAMASK_PALETTE

    samples = _need(assets / "celebamask_hq_samples")
    for image in sorted((samples / "images").glob("*.jpg")):
        _link(image, out / "CelebA-HQ-img" / image.name)
        _link(_need(samples / "labels" / f"{image.stem}.png"), out / "CelebAMask-HQ-mask" / f"{image.stem}.png")
    sean = _need(assets / "celebamask_hq_labeled" / "gt_sean_colour")
    palette = list(CELEBAMASK_PALETTE)
    palette[R_BROW] = SEAN_R_BROW
    for image in sorted((sean / "images").iterdir()):
        colours = _read(_need(sean / "labels" / f"{image.stem}.png"), cv2.IMREAD_COLOR)[:, :, ::-1]
        label = np.full(colours.shape[:2], 255, np.uint8)
        for index, colour in enumerate(palette):
            label[np.all(colours == colour, axis=2)] = index
        if (label == 255).any():
            raise OccbenchError(f"{sean / 'labels' / image.name}: colours outside SEAN's CelebAMask-HQ palette")
        _link(image, out / "CelebA-HQ-img" / image.name)
        _write_png(out / "CelebAMask-HQ-mask" / f"{image.stem}.png", label)
    return sorted(p.name for p in (out / "CelebA-HQ-img").iterdir())


def _celeba(assets: Path, out: Path) -> list[str]:
    """``img_align_celeba/`` and ``list_eval_partition.txt``: 6 faces in train (0), 6 in val (1)."""
    faces = sorted(_need(assets / "celeba_hq_faces_sean").glob("*.jpg"))[:12]
    lines = []
    for index, face in enumerate(faces):
        _link(face, out / "img_align_celeba" / face.name)
        lines.append(f"{face.name} {0 if index < 6 else 1}")
    (out / "list_eval_partition.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [face.name for face in faces]


def _frames(assets: Path) -> list[tuple[Path, Path]]:
    root = _need(assets / "scene_segmentation" / "cityscapes_pix2pixhd")
    frames = sorted((root / "leftImg8bit").glob("*_leftImg8bit.png"))
    return [(f, _need(root / "gtFine" / f.name.replace("_leftImg8bit.png", "_gtFine_labelIds.png"))) for f in frames]


def _cityscapes(assets: Path, out: Path) -> list[str]:
    """The official nested layout, frames 0–3 as train and 4–7 as val (city aachen)."""
    names = []
    for index, (image, label) in enumerate(_frames(assets)):
        split = "train" if index < 4 else "val"
        _link(image, out / "leftImg8bit" / split / "aachen" / image.name)
        _link(label, out / "gtFine" / split / "aachen" / label.name)
        names.append(f"{split}/{image.name}")
    return names


def _ost(assets: Path, out: Path) -> list[str]:
    """``train|test/images`` + ``annotations`` (byte ost8 maps converted from the Cityscapes label ids)."""
    import cv2

    lut = np.zeros(256, np.uint8)
    for label_id, value in _OST_FROM_LABEL_ID.items():
        lut[label_id] = value
    names = []
    for index, (image, label) in enumerate(_frames(assets)):
        split = "train" if index < 4 else "test"
        stem = image.name.removesuffix("_leftImg8bit.png")
        _link(image, out / split / "images" / f"{stem}.png")
        _write_png(out / split / "annotations" / f"{stem}.png", lut[_read(label, cv2.IMREAD_UNCHANGED)])
        names.append(f"{split}/{stem}")
    return names


def _mask_subset(assets: Path) -> list[Path]:
    """10 masks per NVIDIA bin (ids 0–1999 are bin 1, …): the first 5 of each bin half."""
    root = _need(assets / "nvidia_irregular_masks")
    return [root / f"{start + half + 10 * k:05d}.png" for start in range(0, 12000, 2000) for half in (0, 1000)
            for k in range(5)]


def _nvidia(assets: Path, out: Path) -> list[str]:
    masks = _mask_subset(assets)
    for mask in masks:
        _link(_need(mask), out / mask.name)
    return [m.name for m in masks]


def _qdimd(assets: Path, out: Path) -> list[str]:
    import cv2

    masks = _mask_subset(assets)
    for mask in masks:
        _write_png(out / mask.name, 255 - _read(_need(mask), cv2.IMREAD_GRAYSCALE))
    return [m.name for m in masks]


BUILDERS: dict[str, tuple[str, Callable[[Path, Path], list[str]] | str]] = {
    "celebahq": ("CelebAMask-HQ samples (ids 0-3) + SEAN ground-truth pairs (ids 28016-28448), index labels",
                 _celebahq),
    "celeba": ("12 CelebA-HQ faces as aligned CelebA: 6 train, 6 val", _celeba),
    "cityscapes": ("8 aachen frames with gtFine label ids: 4 train, 4 val", _cityscapes),
    "ost": ("8 Cityscapes frames with labels mapped to ost8: 4 train, 4 test (no OST annotations are available)",
            _ost),
    "nvidia-masks": ("60 NVIDIA irregular test masks, 10 per PConv bin", _nvidia),
    "qdimd-masks": ("the 60 NVIDIA masks inverted (0 = hole), standing in for QD-IMD", _qdimd),
    "coco128": ("coco128_seg (YOLO-seg polygons of 128 COCO images)", "coco128_seg"),
    "egohands": ("egohands_hand_cutouts (5 RGBA hands)", "egohands_hand_cutouts"),
}
"""Stand-in name → (what it holds, builder or the shared folder used as it is)."""


def standin(name: str, assets: Path, work: Path) -> Path:
    """The folder of stand-in ``name`` (built under ``work/standins`` on first use, from ``assets``)."""
    if name not in BUILDERS:
        raise OccbenchError(f"Unknown smoke stand-in {name!r}. Available: {', '.join(BUILDERS)}")
    what, builder = BUILDERS[name]
    if isinstance(builder, str):
        return _need(assets / builder)
    out = work / "standins" / name
    marker = out / MARKER
    if marker.is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    files = builder(assets, out)
    tmp = marker.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"standin": name, "what": what, "assets": str(assets), "files": files}, indent=1),
                   encoding="utf-8")
    tmp.replace(marker)
    return out


def shared_assets(explicit: Path | None = None) -> Path:
    """``../shared/assets``: ``explicit`` (``--shared``), else ``$OCCBENCH_SHARED``, else beside the repository
    checkout holding occbench, else beside the current folder. The folder may not exist (the caller reports it)."""
    if explicit is not None:
        return Path(explicit) / "assets"
    if os.environ.get("OCCBENCH_SHARED"):
        return Path(os.environ["OCCBENCH_SHARED"]) / "assets"
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared"
    return (beside_repo if beside_repo.is_dir() else Path.cwd().parent / "shared") / "assets"

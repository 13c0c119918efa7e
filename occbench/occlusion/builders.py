"""Cut-out extraction into an occluder bank from COCO, YOLO-seg, EgoHands, RGBA folders and image+mask pairs.

Every builder crops each instance to its mask's bounding box and writes RGBA with alpha = 255 inside the
instance mask and 0 outside (RGBA inputs keep their own alpha). Inputs are visited in sorted order, so
``max_per_category`` keeps the first instances in that order and a re-run gives the same bank.

Ids are ``<source>-<source_id>-<n>`` (see :func:`occbench.occlusion.bank.make_id`), with ``source_id`` the
image (or label file) path relative to its folder without suffix, and ``n`` the COCO annotation id, the
0-based line of a YOLO label file, the EgoHands hand index (0 myleft, 1 myright, 2 yourleft, 3 yourright),
or 0 for folders. Filters (``categories``, ``min_area`` in alpha > 0 pixels, ``max_per_category``,
COCO ``iscrowd``) are counted as ``filtered``; bad inputs (unreadable file, no alpha, empty mask, polygon
outside the image, malformed line) become :class:`~occbench.occlusion.bank.Skipped` rows in
``<bank>/skipped.csv``, never an exception.

Polygons are rasterised with ``cv2.fillPoly`` at image size after rounding vertices to whole pixels
(YOLO: normalised ``x * width``, ``y * height``). A polygon with a vertex more than 1 % of the image size
(plus one pixel) outside the image is skipped as "outside the image"; smaller overhangs are clipped.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from occbench import __version__
from occbench.errors import OccbenchError, SampleError
from occbench.image_io import IMAGE_EXTENSIONS, read_gray, read_image
from occbench.occlusion.bank import KINDS, BankWriter, OccluderEntry, Skipped, crop_to_alpha, read_rgba

HAND_FIELDS = ("myleft", "myright", "yourleft", "yourright")
LICENCE_NOTE = ("Cut-outs keep the licence of the data they were cut from (the 'licence' field); occbench does "
                "not relicense them. Do not redistribute this bank beyond what that licence allows.")
MASK_EXTENSIONS = (".png", *(ext for ext in IMAGE_EXTENSIONS if ext != ".png"))


@dataclass(frozen=True)
class BuildOptions:
    """Settings shared by every builder. ``licence`` is required and stored on every entry.

    ``limit`` keeps the first N inputs (images, label files, frames) in sorted order, for smoke runs;
    ``source`` names the source in ids and the ``source`` column (default: the builder's name).
    """

    licence: str
    categories: tuple[str, ...] | None = None
    min_area: int = 0
    max_per_category: int | None = None
    limit: int | None = None
    source: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        if not self.licence or not self.licence.strip():
            raise OccbenchError("--licence: Expected a licence note for the source data, but got an empty string")
        if self.min_area < 0:
            raise OccbenchError(f"--min-area: Expected a number >= 0, but got {self.min_area}")
        for name, value in (("--max-per-category", self.max_per_category), ("--limit", self.limit)):
            if value is not None and value < 1:
                raise OccbenchError(f"{name}: Expected a number >= 1, but got {value}")


@dataclass(frozen=True)
class Cutout:
    """One extracted instance before filtering: RGBA uint8 and where it came from."""

    rgba: np.ndarray
    category: str
    source_id: str
    index: int


@dataclass(frozen=True)
class BuildReport:
    """What one build did: entries written (this run), skipped inputs and instances removed by filters."""

    bank: Path
    written: tuple[OccluderEntry, ...]
    skipped: tuple[Skipped, ...]
    filtered: int
    bank_size: int
    per_category: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Task:
    file: str
    extract: Callable[[], list[Cutout | Skipped]]


def _masked(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """RGBA crop of ``image`` (RGB) to the box of ``mask`` != 0, alpha 255 inside; None when empty."""
    rgba = np.dstack([image, np.where(mask != 0, 255, 0).astype(np.uint8)])
    return crop_to_alpha(rgba)


def _polygon_problem(xy: np.ndarray, width: int, height: int) -> str | None:
    """Why a polygon (N, 2) of x, y pixel vertices cannot be rasterised, or None."""
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) < 3:
        return f"Expected a polygon of at least 3 x, y vertices, but got an array of shape {xy.shape}"
    if not np.isfinite(xy).all():
        return "Expected finite polygon vertices, but got NaN or inf"
    if abs(cv2.contourArea(xy.astype(np.float32))) < 1:
        return "degenerate polygon: Expected an area of at least 1 pixel, but got less"
    tol = 0.01 * max(width, height) + 1
    if xy.min() < -tol or xy[:, 0].max() > width + tol or xy[:, 1].max() > height + tol:
        return (f"polygon outside the image: Expected vertices within {width}x{height}, but got x in "
                f"[{xy[:, 0].min():.1f}, {xy[:, 0].max():.1f}], y in [{xy[:, 1].min():.1f}, {xy[:, 1].max():.1f}]")
    return None


def rasterise(polygons: Sequence[np.ndarray], width: int, height: int) -> np.ndarray:
    """uint8 ``(height, width)`` mask, 1 inside any of the (N, 2) x, y pixel polygons (``cv2.fillPoly``)."""
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32).reshape(-1, 1, 2) for p in polygons], 1)
    return mask


def _find_file(stem: Path, extensions: Sequence[str]) -> Path | None:
    for ext in extensions:
        for candidate in (stem.with_name(stem.name + ext), stem.with_name(stem.name + ext.upper())):
            if candidate.is_file():
                return candidate
    return None


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise OccbenchError(f"Expected a folder of images at {folder}, but it is not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


# --- COCO -------------------------------------------------------------------------------------------------------

def _load_coco(annotations: Path) -> Any:
    from pycocotools.coco import COCO

    if not annotations.is_file():
        raise OccbenchError(f"Expected a COCO annotation JSON at {annotations}, but the file does not exist")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints progress lines
            return COCO(str(annotations))
    except Exception as exc:  # json, KeyError, AssertionError: any failure means the file is not COCO
        raise OccbenchError(f"{annotations}: Expected COCO instance annotations (images, annotations, "
                            f"categories), but loading failed ({type(exc).__name__}: {exc})") from exc


def _coco_image(coco: Any, info: dict, anns: list[dict], images: Path, names: dict[int, str]) -> list:
    path = images / info["file_name"]
    image = read_image(path)
    height, width = int(info["height"]), int(info["width"])
    if image.shape[:2] != (height, width):
        raise SampleError(f"{path}: Expected {width}x{height} as in the annotations, but got "
                          f"{image.shape[1]}x{image.shape[0]}")
    results: list[Cutout | Skipped] = []
    for ann in anns:
        where = f"{path}#annotation-{ann['id']}"
        seg = ann.get("segmentation")
        if isinstance(seg, list):
            problems = [_polygon_problem(np.asarray(p, float).reshape(-1, 2), width, height) for p in seg]
            problem = next((p for p in problems if p), None) if seg else "Expected polygons, but got an empty list"
        elif isinstance(seg, dict):
            size = list(seg.get("size", []))
            problem = None if size == [height, width] else f"Expected RLE size {[height, width]}, but got {size}"
        else:
            problem = f"Expected polygon or RLE segmentation, but got {type(seg).__name__}"
        if problem:
            results.append(Skipped(where, problem))
            continue
        try:
            mask = coco.annToMask(ann)
        except Exception as exc:  # malformed RLE/polygon data inside pycocotools
            results.append(Skipped(where, f"pycocotools could not decode the mask ({type(exc).__name__}: {exc})"))
            continue
        rgba = _masked(image, mask)
        if rgba is None:
            results.append(Skipped(where, "empty mask"))
        else:
            results.append(Cutout(rgba, names[ann["category_id"]], Path(info["file_name"]).with_suffix("").as_posix(),
                                  int(ann["id"])))
    return results


def _plan_coco(coco: Any, images: Path, categories: set[str] | None, keep_crowd: bool) -> tuple[list[_Task], int]:
    names = {int(cid): cat["name"] for cid, cat in coco.cats.items()}
    if categories is not None:
        _check_categories(categories, set(names.values()))
    tasks, crowd = [], 0
    for image_id in sorted(coco.imgs):
        anns = []
        for ann in sorted(coco.imgToAnns.get(image_id, []), key=lambda a: a["id"]):
            if categories is not None and names.get(ann["category_id"]) not in categories:
                continue
            if ann.get("iscrowd", 0) and not keep_crowd:
                crowd += 1
                continue
            anns.append(ann)
        if anns:
            info = coco.imgs[image_id]
            tasks.append(_Task(str(images / info["file_name"]), partial(_coco_image, coco, info, anns, images, names)))
    return tasks, crowd


def build_coco(out: str | Path, annotations: str | Path, images: str | Path, options: BuildOptions, *,
               keep_crowd: bool = False) -> BuildReport:
    """Object cut-outs from COCO instance annotations (polygons, RLE; ``iscrowd`` skipped unless ``keep_crowd``)."""
    annotations, images = Path(annotations), Path(images)
    coco = _load_coco(annotations)
    tasks, crowd = _plan_coco(coco, images, _wanted(options), keep_crowd)
    return _run(out, options, tasks, [], builder="coco", kind="object", filtered=crowd,
                inputs={"annotations": annotations, "images": images}, settings={"keep_crowd": keep_crowd})


# --- YOLO-seg ---------------------------------------------------------------------------------------------------

def read_class_names(path: str | Path) -> list[str]:
    """Class names: a text file with one name per line (line i = class i), or a YOLO data YAML's ``names``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OccbenchError(f"{path}: Expected a class-names file, but it cannot be read ({exc})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        from occbench.yamlio import load_yaml

        loaded = load_yaml(text, str(path)) if text.strip() else None
        names = loaded.get("names") if isinstance(loaded, dict) else None
        if isinstance(names, dict):
            names = [names[k] for k in sorted(names)]
        if not isinstance(names, list) or not names:
            raise OccbenchError(f"{path}: Expected a 'names' list or mapping, but got {type(names).__name__}")
        return [str(n) for n in names]
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names or not all(names):
        raise OccbenchError(f"{path}: Expected one class name per line, but got empty lines or an empty file")
    return names


def _yolo_file(label: Path, image_stem: Path, names: list[str], source_id: str) -> list[Cutout | Skipped]:
    image_path = _find_file(image_stem, IMAGE_EXTENSIONS)
    if image_path is None:
        raise SampleError(f"{label}: Expected an image {image_stem}.jpg (or .png, ...), but found none")
    image = read_image(image_path)
    height, width = image.shape[:2]
    try:
        lines = label.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleError(f"{label}: cannot read label file ({exc})") from exc
    results: list[Cutout | Skipped] = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{label}:{number + 1}"
        parts = line.split()
        try:
            cls, coords = int(parts[0]), np.asarray([float(v) for v in parts[1:]], np.float64)
        except ValueError:
            results.append(Skipped(where, f"Expected 'cls x1 y1 x2 y2 ...' numbers, but got {line[:60]!r}"))
            continue
        if not 0 <= cls < len(names):
            results.append(Skipped(where, f"Expected a class id in [0, {len(names) - 1}], but got {cls}"))
            continue
        if len(coords) % 2:
            results.append(Skipped(where, f"Expected x, y pairs, but got {len(coords)} coordinates"))
            continue
        xy = coords.reshape(-1, 2) * np.array([width, height])
        problem = _polygon_problem(xy, width, height)
        rgba = None if problem else _masked(image, rasterise([xy], width, height))
        if problem or rgba is None:
            results.append(Skipped(where, problem or "empty mask"))
        else:
            results.append(Cutout(rgba, names[cls], source_id, number))
    return results


def build_yolo(out: str | Path, labels: str | Path, images: str | Path, classes: str | Path,
               options: BuildOptions) -> BuildReport:
    """Object cut-outs from YOLO-seg label files (``cls x1 y1 ...`` normalised), images and class names."""
    labels, images, classes = Path(labels), Path(images), Path(classes)
    names = read_class_names(classes)
    wanted = _wanted(options)
    if wanted is not None:
        _check_categories(wanted, set(names))
    if not labels.is_dir():
        raise OccbenchError(f"Expected a folder of YOLO label .txt files at {labels}, but it is not a folder")
    files = sorted(p for p in labels.rglob("*.txt") if p.resolve() != classes.resolve())
    tasks = []
    for label in files:
        rel = label.relative_to(labels).with_suffix("")
        tasks.append(_Task(str(label), partial(_yolo_file, label, images / rel, names, rel.as_posix())))
    return _run(out, options, tasks, [], builder="yolo", kind="object", filtered=0,
                inputs={"labels": labels, "images": images, "classes": classes}, settings={})


# --- EgoHands ---------------------------------------------------------------------------------------------------

def _load_egohands(path: Path) -> list[dict[str, np.ndarray]]:
    """Polygon records of one EgoHands video: one dict per frame, field → (N, 2) x, y array (maybe empty)."""
    import scipy.io

    mat = scipy.io.loadmat(str(path))
    if "polygons" not in mat:
        raise SampleError(f"{path}: Expected a 'polygons' variable, but got {sorted(k for k in mat if k[0] != '_')}")
    polygons = mat["polygons"]
    missing = [f for f in HAND_FIELDS if f not in (polygons.dtype.names or ())]
    if missing:
        raise SampleError(f"{path}: Expected a struct array with fields {', '.join(HAND_FIELDS)}, but "
                          f"{', '.join(missing)} are missing")
    return [{f: np.asarray(record[f], dtype=np.float64) for f in HAND_FIELDS} for record in polygons.flat]


def _egohands_frame(frame: Path, record: dict[str, np.ndarray], video: str) -> list[Cutout | Skipped]:
    image = read_image(frame)
    height, width = image.shape[:2]
    results: list[Cutout | Skipped] = []
    for index, name in enumerate(HAND_FIELDS):
        xy = record[name]
        if xy.size == 0:
            continue  # that hand is not in view in this frame
        problem = _polygon_problem(xy, width, height)
        rgba = None if problem else _masked(image, rasterise([xy], width, height))
        if problem or rgba is None:
            results.append(Skipped(f"{frame}#{name}", problem or "empty mask"))
        else:
            results.append(Cutout(rgba, name, f"{video}/{frame.stem}", index))
    return results


def _frame_key(path: Path) -> tuple[int, str]:
    digits = re.findall(r"\d+", path.stem)
    return (int(digits[-1]) if digits else -1, path.name)


def build_egohands(out: str | Path, input_dir: str | Path, options: BuildOptions) -> BuildReport:
    """Hand cut-outs from EgoHands ``polygons.mat`` files found under ``input_dir`` (one per video folder).

    Assumed layout (the original ``_LABELLED_SAMPLES/<video>/``): ``polygons.mat`` holds ``polygons``, a
    struct array with fields myleft, myright, yourleft, yourright, one element per frame, each an (N, 2)
    array of x, y pixel vertices (empty when the hand is not visible). Element i belongs to the i-th
    ``frame_*.jpg`` of the folder in numeric order; a folder whose frame count differs is skipped.
    Vertices are used as stored (MATLAB's 1-based pixel offset is not corrected). Category = field name.
    """
    input_dir = Path(input_dir)
    mats = sorted(input_dir.rglob("polygons.mat")) if input_dir.is_dir() else []
    if not mats:
        raise OccbenchError(f"Expected EgoHands polygons.mat files under {input_dir}, but found none")
    wanted = _wanted(options)
    if wanted is not None:
        _check_categories(wanted, set(HAND_FIELDS))
    tasks, skips = [], []
    for mat in mats:
        try:
            records = _load_egohands(mat)
        except Exception as exc:  # scipy raises many types for corrupt .mat files
            skips.append(Skipped(str(mat), _reason(exc)))
            continue
        frames = sorted(mat.parent.glob("frame_*.jpg"), key=_frame_key)
        if len(frames) != len(records):
            skips.append(Skipped(str(mat), f"Expected {len(records)} frame_*.jpg files (one per polygon record), "
                                           f"but got {len(frames)}"))
            continue
        video = mat.parent.relative_to(input_dir).as_posix() if mat.parent != input_dir else mat.parent.name
        tasks += [_Task(str(f), partial(_egohands_frame, f, r, video)) for f, r in zip(frames, records)]
    return _run(out, options, tasks, skips, builder="egohands", kind="hand", filtered=0,
                inputs={"input": input_dir}, settings={})


# --- folders ----------------------------------------------------------------------------------------------------

def _category_of(path: Path, category: str | None) -> str:
    return category or path.parent.resolve().name


def _rgba_file(path: Path, source_id: str, category: str) -> list[Cutout | Skipped]:
    rgba = crop_to_alpha(read_rgba(path))
    return [Skipped(str(path), "empty alpha (no pixel with alpha > 0)") if rgba is None
            else Cutout(rgba, category, source_id, 0)]


def build_rgba(out: str | Path, input_dir: str | Path, options: BuildOptions, *, kind: str,
               category: str | None = None) -> BuildReport:
    """Cut-outs from a folder (recursive) of RGBA images; alpha from the file, category = parent folder name."""
    input_dir = Path(input_dir)
    _check_kind(kind)
    tasks = [_Task(str(p), partial(_rgba_file, p, p.relative_to(input_dir).with_suffix("").as_posix(),
                                   _category_of(p, category))) for p in _image_files(input_dir)]
    return _run(out, options, tasks, [], builder="rgba", kind=kind, filtered=0, inputs={"input": input_dir},
                settings={"category": category})


def _image_mask_file(image_path: Path, mask_stem: Path, fallback: Path | None, source_id: str,
                     category: str) -> list[Cutout | Skipped]:
    mask_path = _find_file(mask_stem, MASK_EXTENSIONS) or (fallback and _find_file(fallback, MASK_EXTENSIONS))
    if mask_path is None:
        raise SampleError(f"{image_path}: Expected a mask {mask_stem}.png, but found none")
    image, mask = read_image(image_path), read_gray(mask_path)
    if mask.shape != image.shape[:2]:
        raise SampleError(f"{mask_path}: Expected the size of its image {image.shape[1]}x{image.shape[0]}, "
                          f"but got {mask.shape[1]}x{mask.shape[0]}")
    rgba = _masked(image, mask > (0 if mask.max(initial=0) <= 1 else 127))
    return [Skipped(str(mask_path), "empty mask") if rgba is None else Cutout(rgba, category, source_id, 0)]


def build_image_mask(out: str | Path, input_dir: str | Path, options: BuildOptions, *, kind: str,
                     category: str | None = None, masks: str | Path | None = None,
                     mask_suffix: str = "_mask") -> BuildReport:
    """Cut-outs from image + mask pairs: ``<name>.jpg`` with ``<name><mask_suffix>.png`` beside it, or in
    the parallel ``masks`` folder (same relative path; ``<name>.png`` without the suffix is accepted there).

    Mask polarity: non-zero (> 127, or > 0 for 0/1 masks) = occluder. Category = parent folder of the image.
    """
    input_dir = Path(input_dir)
    _check_kind(kind)
    if masks is None and not mask_suffix:
        raise OccbenchError("--mask-suffix: Expected a suffix when masks sit beside the images, but got ''")
    masks_dir = Path(masks).resolve() if masks is not None else None
    tasks = []
    for path in _image_files(input_dir):
        if masks_dir is None and path.stem.endswith(mask_suffix):
            continue  # a mask, not an image
        if masks_dir is not None and path.resolve().is_relative_to(masks_dir):
            continue
        rel = path.relative_to(input_dir).with_suffix("")
        folder = path.parent if masks_dir is None else masks_dir / rel.parent
        fallback = folder / rel.name if masks_dir is not None else None
        tasks.append(_Task(str(path), partial(_image_mask_file, path, folder / f"{rel.name}{mask_suffix}", fallback,
                                              rel.as_posix(), _category_of(path, category))))
    return _run(out, options, tasks, [], builder="image-mask", kind=kind, filtered=0,
                inputs={"input": input_dir, "masks": masks_dir}, settings={"category": category,
                                                                           "mask_suffix": mask_suffix})


# --- shared driver ----------------------------------------------------------------------------------------------

def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise OccbenchError(f"--kind: Expected 'object' or 'hand', but got {kind!r}")


def _wanted(options: BuildOptions) -> set[str] | None:
    return None if options.categories is None else set(options.categories)


def _check_categories(wanted: set[str], available: set[str]) -> None:
    unknown = sorted(wanted - available)
    if unknown:
        raise OccbenchError(f"--categories: Unknown category {unknown[0]!r}. Available: {', '.join(sorted(available))}")


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, SampleError) else f"{type(exc).__name__}: {exc}"


def _extract(task: _Task) -> list[Cutout | Skipped]:
    try:
        return task.extract()
    except Exception as exc:  # a bad input must become a skip row, never end the build
        return [Skipped(task.file, _reason(exc))]


def _run(out: str | Path, options: BuildOptions, tasks: list[_Task], skips: list[Skipped], *, builder: str,
         kind: str, filtered: int, inputs: dict[str, Path | None], settings: dict[str, Any]) -> BuildReport:
    """Extract, filter and write every task's cut-outs, then commit index, skipped.csv and bank.json."""
    writer = BankWriter(out)
    source = options.source or builder
    wanted = _wanted(options)
    tasks = tasks[: options.limit] if options.limit else tasks
    skipped, written, counts = list(skips), [], Counter()
    for task in tqdm(tasks, desc=f"build-occluders {builder}", unit="img", disable=not options.progress):
        for item in _extract(task):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            area = int(np.count_nonzero(item.rgba[:, :, 3]))
            full = options.max_per_category is not None and counts[item.category] >= options.max_per_category
            if (wanted is not None and item.category not in wanted) or area < options.min_area or full:
                filtered += 1
                continue
            try:
                written.append(writer.add(item.rgba, kind=kind, category=item.category, source=source,
                                          source_id=item.source_id, index=item.index, licence=options.licence))
            except SampleError as exc:
                skipped.append(Skipped(task.file, str(exc)))
                continue
            counts[item.category] += 1
    per_category = dict(sorted(counts.items()))
    record = {
        "builder": builder, "source": source, "kind": kind,
        "inputs": {k: str(Path(v).resolve()) for k, v in inputs.items() if v is not None},
        "filters": {"categories": sorted(wanted) if wanted is not None else None, "min_area": options.min_area,
                    "max_per_category": options.max_per_category, "limit": options.limit, **settings},
        "counts": {"written": len(written), "skipped": len(skipped), "filtered": filtered,
                   "per_category": per_category},
        "licence": options.licence, "licence_note": LICENCE_NOTE, "occbench": __version__,
    }
    writer.commit(record, skipped, source)
    return BuildReport(bank=Path(out), written=tuple(written), skipped=tuple(skipped), filtered=filtered,
                       bank_size=writer.size, per_category=per_category)

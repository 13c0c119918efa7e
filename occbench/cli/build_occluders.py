"""``occbench build-occluders``: build or extend an occluder bank (RGBA cut-outs + index.csv)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError

SOURCES = ("coco", "yolo", "egohands", "rgba", "image-mask")
EPILOG = """examples:
  occbench build-occluders --from coco --annotations instances_train2017.json --images train2017 \\
      --categories cup,bottle,book --min-area 4096 --max-per-category 500 --out banks/objects --licence "COCO CC BY 4.0"
  occbench build-occluders --from yolo --input coco128-seg/labels/train2017 --images coco128-seg/images/train2017 \\
      --classes classes.txt --out banks/objects --licence "COCO CC BY 4.0; Ultralytics conversion GPL-3.0"
  occbench build-occluders --from egohands --input egohands/_LABELLED_SAMPLES --out banks/hands \\
      --licence "EgoHands, research use"
  occbench build-occluders --from rgba --input hand_cutouts --kind hand --category hand --out banks/hands \\
      --licence "EgoHands, research use"
  occbench build-occluders --from image-mask --input objects --mask-suffix _mask --kind object --out banks/objects \\
      --licence "CC BY 4.0"
"""


def _need(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) is None:
            flag = "--" + name.replace("_", "-")
            raise OccbenchError(f"--from {args.source}: Expected {flag}, but got none")


def _yolo_images(args: argparse.Namespace) -> Path:
    """--images, or the Ultralytics layout: the labels path with its 'labels' folder replaced by 'images'."""
    if args.images is not None:
        return args.images
    parts = list(args.input.parts)
    if "labels" not in parts:
        raise OccbenchError("--from yolo: Expected --images DIR (or a labels path containing a 'labels' folder), "
                            "but got none")
    parts[len(parts) - 1 - parts[::-1].index("labels")] = "images"
    return Path(*parts)


def _categories(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise OccbenchError(f"--categories: Expected comma-separated names, but got {text!r}")
    return names


def _out_outside_inputs(args: argparse.Namespace) -> None:
    out = Path(args.out).resolve()
    for flag in ("input", "images", "mask_dir"):
        folder = getattr(args, flag, None)
        if folder is not None and out.is_relative_to(Path(folder).resolve()):
            raise OccbenchError(f"--out {args.out} is inside --{flag.replace('_', '-')} {folder}: the bank would be "
                                "read back as input on the next run; choose an --out outside it")


def run(args: argparse.Namespace) -> int:
    from occbench.occlusion import builders

    _out_outside_inputs(args)
    options = builders.BuildOptions(
        licence=args.licence, categories=_categories(args.categories), min_area=args.min_area,
        max_per_category=args.max_per_category, limit=args.limit, source=args.source_name,
        progress=not args.no_progress,
    )
    if args.source == "coco":
        _need(args, "annotations", "images")
        report = builders.build_coco(args.out, args.annotations, args.images, options, keep_crowd=args.keep_crowd)
    elif args.source == "yolo":
        _need(args, "input", "classes")
        report = builders.build_yolo(args.out, args.input, _yolo_images(args), args.classes, options)
    elif args.source == "egohands":
        _need(args, "input")
        report = builders.build_egohands(args.out, args.input, options)
    else:
        _need(args, "input", "kind")
        kwargs = {"kind": args.kind, "category": args.category}
        if args.source == "rgba":
            report = builders.build_rgba(args.out, args.input, options, **kwargs)
        else:
            report = builders.build_image_mask(args.out, args.input, options, masks=args.mask_dir,
                                               mask_suffix=args.mask_suffix, **kwargs)
    print(f"{args.out}: {len(report.written)} cut-outs written, {len(report.skipped)} skipped (see skipped.csv), "
          f"{report.filtered} filtered out; the bank holds {report.bank_size}")
    return 1 if not report.written and report.skipped else 0


def register(subparsers: Any) -> None:
    """Add ``build-occluders`` to the ``occbench`` sub-command parsers."""
    parser = subparsers.add_parser(
        "build-occluders", help="build an occluder bank of RGBA cut-outs (objects, hands) with index.csv",
        description="Cut instances out of COCO / YOLO-seg / EgoHands annotations or folders of RGBA images or "
                    "image+mask pairs into a bank folder (index.csv, cutouts/<id>.png, bank.json, skipped.csv). "
                    "Re-running the same command is idempotent; a new build adds to an existing bank.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", required=True, choices=SOURCES, help="input format")
    parser.add_argument("--out", required=True, type=Path, help="bank folder (created, or extended when it exists)")
    parser.add_argument("--licence", required=True, help="licence of the source data, stored on every entry")
    parser.add_argument("--annotations", type=Path, help="coco: instance annotation JSON")
    parser.add_argument("--images", type=Path, help="coco, yolo: images folder (yolo default: labels path with "
                                                    "'labels' replaced by 'images')")
    parser.add_argument("--classes", type=Path, help="yolo: class names, one per line (or a data YAML with names)")
    parser.add_argument("--input", type=Path, help="yolo: labels folder; egohands: folder searched for polygons.mat; "
                                                   "rgba, image-mask: folder of images")
    parser.add_argument("--kind", choices=("object", "hand"), help="rgba, image-mask: kind of every cut-out")
    parser.add_argument("--category", help="rgba, image-mask: category of every cut-out (default: parent folder)")
    parser.add_argument("--categories", help="keep only these comma-separated category names, e.g. cup,book")
    parser.add_argument("--min-area", type=int, default=0, help="drop instances under N mask pixels (default 0)")
    parser.add_argument("--max-per-category", type=int, help="keep at most N per category (first in sorted order)")
    parser.add_argument("--keep-crowd", action="store_true", help="coco: keep iscrowd annotations (skipped by default)")
    parser.add_argument("--mask-dir", type=Path, help="image-mask: parallel folder of masks (default: beside images)")
    parser.add_argument("--mask-suffix", default="_mask", help="image-mask: mask name suffix (default _mask)")
    parser.add_argument("--source-name", help="source name used in ids and the source column (default: --from)")
    parser.add_argument("--limit", type=int, help="only the first N inputs in sorted order (smoke runs)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)

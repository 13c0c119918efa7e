"""``occbench edit``: SGIN's semantic-map editing and style swapping on one image (paper Fig. 1, 7, 8)."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_device

EPILOG = """examples:
  # inpaint with an edited parsing map (CelebAMask-HQ class values, e.g. a label PNG painted in an editor)
  occbench edit --checkpoint runs/sgin/checkpoints/last.pt --image face.png --mask hole.png \\
      --labels edited_label.png --out edits/eyes_closed
  # take the hair and skin style of another face (its map predicted by the parser)
  occbench edit --checkpoint runs/sgin/checkpoints/last.pt --parser runs/parser/checkpoints/last.pt \\
      --image face.png --mask hole.png --style-from other.png --regions hair skin --out edits/swap
Writes OUT.png (the result) and OUT_panel.png (input, semantic map, [reference, output before the swap,]
result).
"""


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from occbench.baselines.sgin.editing import SGINEditor
    from occbench.dataset.tensors import image_tensor, images_uint8
    from occbench.devices import resolve_device
    from occbench.image_io import read_gray, read_image, write_png
    from occbench.labels import check_label_values, to_helen

    editor = SGINEditor(args.checkpoint, args.parser, resolve_device(args.device))
    image = image_tensor(read_image(args.image))[None]
    size = image.shape[-2:]
    hole = torch.zeros(1, 1, *size) if args.mask is None else \
        torch.from_numpy((read_gray(args.mask) > 127).astype(np.float32))[None, None]
    masked = image * (1 - hole)
    def helen_map(path: str) -> torch.Tensor:
        """A CelebAMask-HQ label PNG as a ``(1, H, W)`` HELEN class map."""
        label = read_gray(path)
        check_label_values(label, path)
        return torch.from_numpy(to_helen(label).astype(np.int64))[None]

    if args.labels is not None:
        semantics = helen_map(args.labels)
    else:
        semantics = editor.parse(masked).cpu()
    styles, before, reference = None, None, None
    if args.style_from is not None:
        reference = image_tensor(read_image(args.style_from))[None]
        if args.style_labels is not None:
            ref_semantics = helen_map(args.style_labels)
        else:
            ref_semantics = editor.parse(reference).cpu()
        own = editor.styles(masked, semantics, hole)
        styles = editor.swap(own, editor.styles(reference, ref_semantics, torch.zeros_like(hole)), args.regions)
        before = images_uint8(editor.render(masked, semantics, hole, own).cpu())[0]
    result = images_uint8(editor.render(masked, semantics, hole, styles).cpu())[0]
    out = Path(args.out)
    write_png(out.with_suffix(".png"), result)
    panels = [(images_uint8(masked)[0], "input (holes black)"), (semantics[0].numpy(), "semantic map")]
    if reference is not None:
        swapped = ", ".join(args.regions) if args.regions else "all regions"
        panels += [(images_uint8(reference)[0], "style reference"), (before, "SGIN output"),
                   (result, f"style of {swapped} swapped")]
    else:
        panels.append((result, "SGIN output"))
    _panel(panels, out.parent / f"{out.name}_panel.png")
    print(out.with_suffix(".png"))
    return 0


def _panel(panels: list, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2.5 * len(panels), 2.7), layout="constrained")
    FigureCanvasAgg(figure)
    for ax, (picture, title) in zip(figure.subplots(1, len(panels)), panels):
        ax.imshow(picture, cmap="tab20" if picture.ndim == 2 else None, vmin=0, vmax=19, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("edit", help="SGIN semantic-map editing and style swapping on one image",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="an `occbench train --method sgin` checkpoint")
    parser.add_argument("--parser", help="an `occbench train --method sgin-parser` checkpoint (predicts maps)")
    parser.add_argument("--image", required=True, help="the (occluded) image")
    parser.add_argument("--mask", help="hole mask PNG, 255 = hole (default: no hole)")
    parser.add_argument("--labels", help="semantic map to inpaint with (CelebAMask-HQ class values); default: the "
                                         "parser's prediction")
    parser.add_argument("--style-from", help="reference image whose region styles replace the image's")
    parser.add_argument("--style-labels", help="the reference's semantic map (CelebAMask-HQ class values); default: "
                                               "the parser's prediction")
    parser.add_argument("--regions", nargs="+", metavar="REGION",
                        help="HELEN regions whose style is swapped (skin, hair, l_eye, ...; default: all)")
    parser.add_argument("--out", required=True, help="output path without suffix")
    add_device(parser, "SGIN")
    parser.set_defaults(func=run)

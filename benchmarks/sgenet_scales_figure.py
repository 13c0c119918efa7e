"""SGE-Net's progressive refinement for one sample, the shape of the paper's Fig. 7: per scale (coarsest first,
then the final output) the inpainted image Ŷ^l, the segmentation Ŝ^l (scheme palette), and the reliability
mask M^l that SCEM fed to the next step (white = reliable) with its confidence map.

    python benchmarks/sgenet_scales_figure.py runs/sgenet/checkpoints/last.pt data/cs-test SAMPLE_ID out.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("data", help="a built dataset")
    parser.add_argument("sample", help="sample id")
    parser.add_argument("out", help="output PNG")
    args = parser.parse_args()

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from occbench.baselines.engine.adapter import load_trained_recipe

    from occbench.dataset.layout import DatasetLayout
    from occbench.dataset.tensors import image_tensor, mask_tensor
    from occbench.image_io import read_gray, read_image

    recipe, _ = load_trained_recipe(Path(args.checkpoint), "sgenet", "cpu")
    layout = DatasetLayout(Path(args.data))
    occluded = image_tensor(read_image(layout.file("occluded", args.sample)))[None]
    hole = mask_tensor(read_gray(layout.file("mask", args.sample)) > 127)[None]
    out = recipe.run(occluded, hole)
    size = occluded.shape[-2:]

    def show(x: torch.Tensor) -> np.ndarray:
        x = F.interpolate(x.float(), size=size, mode="nearest")[0]
        return x.permute(1, 2, 0).numpy() if x.shape[0] == 3 else x[0].numpy()

    scales = len(out["images"])
    rows = 2 + (2 if out["reliability"] else 0)
    figure = Figure(figsize=(2.0 * (scales + 1), 2.1 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, scales + 1, squeeze=False)
    axes[0][0].imshow((occluded * (1 - hole))[0].permute(1, 2, 0).numpy())
    axes[0][0].set_title("input", fontsize=8)
    for i in range(scales):
        name = f"scale {scales - 1 - i}" if i < scales - 1 else "final"
        axes[0][i + 1].imshow(show((out["images"][i] + 1) / 2).clip(0, 1))
        axes[0][i + 1].set_title(f"Ŷ {name}", fontsize=8)
        if out["segmentations"]:
            classes = out["segmentations"][i].argmax(1, keepdim=True)
            axes[1][i + 1].imshow(recipe.scheme.colorize(show(classes).astype(np.uint8)))
            axes[1][i + 1].set_title(f"Ŝ {name}", fontsize=8)
        if out["reliability"]:
            axes[2][i + 1].imshow(show(out["reliability"][i]), cmap="gray", vmin=0, vmax=1)
            axes[2][i + 1].set_title("M fed to this step", fontsize=8)
        if i < len(out["confidence"]):
            axes[3][i + 1].imshow(show(out["confidence"][i]), cmap="gray_r", vmin=0, vmax=1)
            axes[3][i + 1].set_title(f"max prob {name}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()

"""Registers SGE-Net: its evaluation method and training recipe (variants by config)."""

from occbench.registry import METHODS, RECIPES

METHODS.add("sgenet", "occbench.baselines.sgenet.method:SGENetMethod",
            "SGE-Net semantic guidance and evaluation (needs a checkpoint; also predicts segmentation)")
RECIPES.add("sgenet", "occbench.baselines.sgenet.train:SGENetRecipe",
            "SGE-Net / SG-Net / Basic-Net generator + 3-scale PatchGAN")

"""Registers M-CSAM: the evaluation method and its two training recipes (inpainter, face-mask segmenter)."""

from occbench.registry import METHODS, RECIPES

METHODS.add("mcsam", "occbench.baselines.mcsam.method:MCSAMMethod",
            "M-CSAM face-mask removal (needs a checkpoint; mask=predicted with its segmenter)")
RECIPES.add("mcsam", "occbench.baselines.mcsam.train:MCSAMRecipe", "M-CSAM inpainting network")
RECIPES.add("mcsam-segmenter", "occbench.baselines.mcsam.train:SegmenterRecipe", "M-CSAM's U-Net face-mask segmenter")

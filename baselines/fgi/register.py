"""Registers foreground-guided facial inpainting: its evaluation method and training recipe."""

from occbench.registry import METHODS, RECIPES

METHODS.add("fgi", "occbench.baselines.fgi.method:FGIMethod",
            "foreground-guided facial inpainting (needs a checkpoint)")
RECIPES.add("fgi", "occbench.baselines.fgi.train:FGIRecipe", "foreground-guided inpainting generator + critic")

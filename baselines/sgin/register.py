"""Registers SGIN: the three-stage evaluation method and the training recipes of its three networks."""

from occbench.registry import METHODS, RECIPES

METHODS.add("sgin", "occbench.baselines.sgin.method:SGINMethod",
            "SGIN semantics-guided inpainting (checkpoint; mask and semantics given or predicted)")
RECIPES.add("sgin", "occbench.baselines.sgin.train:SGINRecipe", "SGIN inpainter (generator + discriminator)")
RECIPES.add("sgin-detector", "occbench.baselines.sgin.train:DetectorRecipe", "SGIN occlusion detector")
RECIPES.add("sgin-parser", "occbench.baselines.sgin.train:ParserRecipe", "SGIN semantic map predictor (BiSeNet)")

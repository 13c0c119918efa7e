"""SGIN's editing (paper Fig. 1, 7, 8): inpaint with a user-edited semantic map, or with the style codes of some
regions (or all) taken from a reference image. Used by ``occbench edit``.

Semantic maps are HELEN class maps ``(B, H, W)`` int64 (0–10, :data:`occbench.labels.HELEN_CLASSES`); images are
``(B, 3, H, W)`` in [0, 1] and holes ``(B, 1, H, W)`` with 1 = hole. Styles are one ``(B, 11, S)`` tensor per
SGI block (a code per region), as :meth:`SGINGenerator.encode` makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from occbench.baselines.engine.adapter import load_trained_recipe
from occbench.baselines.sgin.train import one_hot

from occbench.errors import OccbenchError
from occbench.labels import HELEN_CLASSES


class SGINEditor:
    """A trained SGIN inpainter (and optionally its semantic map predictor) for editing."""

    def __init__(self, checkpoint: str | Path, parser: str | Path | None = None, device: str = "cpu") -> None:
        self.recipe, _ = load_trained_recipe(Path(checkpoint), "sgin", device)
        self.generator = self.recipe.generator.eval()
        self.parser = load_trained_recipe(Path(parser), "sgin-parser", device)[0] if parser else None
        self.device = torch.device(device)

    def parse(self, masked: torch.Tensor) -> torch.Tensor:
        """The predicted semantic map of masked images (needs ``parser``)."""
        if self.parser is None:
            raise OccbenchError("no semantic map given and no parser checkpoint to predict one: pass --labels or "
                                "--parser")
        return self.parser.predict_semantics(masked.to(self.device))

    @torch.no_grad()
    def styles(self, masked: torch.Tensor, semantics: torch.Tensor, hole: torch.Tensor) -> list[torch.Tensor]:
        """Region style codes of a (masked) image under its semantic map."""
        return self.generator.encode(masked.to(self.device) * 2 - 1, one_hot(semantics.to(self.device)),
                                     hole.to(self.device))

    @torch.no_grad()
    def render(self, masked: torch.Tensor, semantics: torch.Tensor, hole: torch.Tensor,
               styles: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Inpaint ``masked`` under ``semantics`` (edited or predicted), with ``styles`` if given (swapped)."""
        masked, hole = masked.to(self.device), hole.to(self.device)
        onehot = one_hot(semantics.to(self.device))
        codes = list(styles) if styles is not None else self.generator.encode(masked * 2 - 1, onehot, hole)
        image = self.generator.synthesize(onehot, codes, masked * 2 - 1, hole)["image"]
        return ((image + 1) / 2).clamp(0, 1)

    @staticmethod
    def swap(styles: Sequence[torch.Tensor], reference: Sequence[torch.Tensor],
             regions: Sequence[str] | None = None) -> list[torch.Tensor]:
        """``styles`` with the codes of ``regions`` (HELEN class names; None = all) taken from ``reference``."""
        unknown = [r for r in regions or () if r not in HELEN_CLASSES]
        if unknown:
            raise OccbenchError(f"--regions: Expected names among {', '.join(HELEN_CLASSES)}, but got {unknown}")
        chosen = [HELEN_CLASSES.index(r) for r in regions] if regions else list(range(len(HELEN_CLASSES)))
        out = []
        for own, ref in zip(styles, reference):
            mixed = own.clone()
            mixed[:, chosen] = ref[:, chosen]
            out.append(mixed)
        return out

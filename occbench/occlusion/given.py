"""``given``: the occlusion distributed with the data (a paired source, :mod:`occbench.sources.paired`), unchanged.

The build fits the source's occluded image like the target (same resize and crop) and its mask with nearest
neighbour, so the sample is the published one at protocol resolution. Nothing is drawn: the rng is unused and every
variant would be the same sample, so protocols using it have ``variants: 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from occbench.errors import OccbenchError
from occbench.generator import GeneratedSample, Generator
from occbench.sources.base import GivenOcclusion


@dataclass(frozen=True)
class GivenOcclusionGenerator(Generator):
    """Takes each sample's occluded image and mask from the source (registry name "given"; no parameters)."""

    uses_given: ClassVar[bool] = True

    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator) -> GeneratedSample:
        raise OccbenchError("generator 'given' takes the occlusion from the source; it needs a paired source "
                            "(source name 'paired') and the build's sample pipeline")

    def from_given(self, given: GivenOcclusion) -> GeneratedSample:
        """The sample from a given occlusion already fitted to the protocol resolution."""
        mask = (given.mask > 0).astype(np.uint8)
        return GeneratedSample(occluded=given.occluded, mask=mask, label_occ=None, params=dict(given.params))

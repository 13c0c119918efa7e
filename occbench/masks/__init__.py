"""Occlusion generators: hole masks (this package) and, later, pasted occluders. Registry: MASKS."""

from occbench.masks.base import GeneratedSample, Generator, HoleMaskGenerator

__all__ = ["GeneratedSample", "Generator", "HoleMaskGenerator"]

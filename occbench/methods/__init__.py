"""Inpainting methods (docs/conventions.md §4). Registry: METHODS."""

from occbench.methods.base import ImageMethod, Method

__all__ = ["ImageMethod", "Method"]

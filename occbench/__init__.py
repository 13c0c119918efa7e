"""occbench: occluded-face inpainting benchmark toolkit.

Conventions (docs/conventions.md): images are RGB uint8 on disk and float32 in [0, 1] in memory; hole masks are
255 on disk / 1 in memory where pixels are occluded or missing.
"""

__version__ = "0.1.0"

"""Hole masks: generators that only make a mask (centre, half, free-form, LaMa, irregular, QuickDraw, external
folders). Occlusion synthesis (pasted occluders, face masks, the given occlusion of paired sets) lives in
:mod:`occbench.occlusion`; the interface both implement is :mod:`occbench.generator`. Registry: GENERATORS."""

from occbench.masks.base import HoleMaskGenerator

__all__ = ["HoleMaskGenerator"]

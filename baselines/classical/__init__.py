"""Classical inpainting references that need no weights: OpenCV Telea and Navier-Stokes, scikit-image
biharmonic, and a mean-colour fill (see ``README.md`` in this folder)."""

from occbench.baselines.classical.methods import BiharmonicInpaint, MeanFill, NavierStokesInpaint, TeleaInpaint

__all__ = ["BiharmonicInpaint", "MeanFill", "NavierStokesInpaint", "TeleaInpaint"]

"""Registers the classical references (no weights) with occbench's registry."""

from occbench.registry import METHODS

for _name, _target, _about in (
    ("telea", "occbench.baselines.classical.methods:TeleaInpaint", "OpenCV Telea fast marching (classical reference)"),
    ("navier-stokes", "occbench.baselines.classical.methods:NavierStokesInpaint", "OpenCV Navier-Stokes (classical)"),
    ("biharmonic", "occbench.baselines.classical.methods:BiharmonicInpaint", "scikit-image biharmonic (classical)"),
    ("mean-fill", "occbench.baselines.classical.methods:MeanFill", "fills holes with the mean known colour (floor)"),
):
    METHODS.add(_name, _target, _about)

"""Foreground-guided facial inpainting (Jam et al. 2021): R-MNet-style generator, WGAN critic,
foreground-masked losses (see ``README.md``)."""

"""Classical inpainting references that need no weights: OpenCV Telea and Navier-Stokes, scikit-image
biharmonic, and a mean-colour fill (``methods.py``; see ``README.md`` in this folder). Kept import-light: the
registry imports ``register.py`` of this package when listing methods."""

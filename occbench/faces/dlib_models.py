"""Locate the dlib model files shipped by the ``face-recognition-models`` package, without importing it.

The package's ``__init__`` imports ``pkg_resources``, which setuptools >= 81 no longer ships; occbench only
needs the folder, which :func:`importlib.util.find_spec` gives without running the package's code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from occbench.errors import OccbenchError

PACKAGE = "face_recognition_models"
SHAPE_PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
SHAPE_PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
INSTALL_HINT = ("Run: pip install face-recognition-models (its import needs setuptools<81, though occbench never "
                "imports it).")


def models_dir(required: tuple[str, ...] = (SHAPE_PREDICTOR_5, RECOGNITION_MODEL)) -> Path:
    """Folder holding the dlib model files of ``face-recognition-models`` (the package is not imported).

    ``required``: file names that must be present; OccbenchError names the missing one.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise OccbenchError("occbench needs the dlib model files of the 'face-recognition-models' package, which is "
                            f"not installed. {INSTALL_HINT}")
    folder = Path(spec.submodule_search_locations[0]) / "models"
    for name in required:
        if not (folder / name).is_file():
            raise OccbenchError(f"Expected {folder / name} from the 'face-recognition-models' package, but it is "
                                "missing. Reinstall: pip install --force-reinstall face-recognition-models")
    return folder


def model_path(name: str) -> Path:
    """Path of one dlib model file of ``face-recognition-models`` (e.g. :data:`SHAPE_PREDICTOR_68`)."""
    return models_dir(required=(name,)) / name

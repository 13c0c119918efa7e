"""The one place where occbench works around third-party packaging problems.

torchvision on PyPI is built against CUDA torch. Imported next to a CPU-only torch build its C
extension fails to load, and ``import torchvision`` then dies in ``torchvision/_meta_registrations.py``
with ``RuntimeError: operator torchvision::nms does not exist``: it registers fake kernels for
``torchvision::nms`` / ``torchvision::qnms`` whose schemas only the missing extension would define.
torchmetrics, lpips and torch-fidelity all import torchvision, so all of them break.

:func:`ensure_torchvision_importable` defines those two schemas with :mod:`torch.library` when (and
only when) they are missing, before torchvision is imported. Nothing in occbench calls NMS; calling
the stub raises a clear error. Import torchvision-dependent packages through
:func:`import_torchvision_dependent` (or call the ensure function first) and never the other way round.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY = None  # keeps the torch.library.Library alive; its definitions vanish when it is collected


def _has_schema(qualified_name: str) -> bool:
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw(qualified_name, "")
    except RuntimeError:
        return False
    return True


def _stub(*args, **kwargs):
    raise NotImplementedError(
        "torchvision::nms is a stub registered by occbench.compat because this torchvision build's C "
        "extension does not match the installed torch (CPU build). occbench never needs NMS."
    )


def ensure_torchvision_importable() -> list[str]:
    """Register stub ``torchvision::nms`` / ``qnms`` schemas if missing. Returns the names registered.

    Safe to call many times. Does nothing when torchvision is already imported or its ops exist.
    """
    global _LIBRARY
    if "torchvision" in sys.modules:
        return []
    missing = [name for name in _SCHEMAS if not _has_schema(f"torchvision::{name}")]
    if not missing:
        return []
    import torch

    if _LIBRARY is None:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        _LIBRARY.define(_SCHEMAS[name])
        _LIBRARY.impl(name, _stub, "CompositeExplicitAutograd")
    return missing


def import_torchvision_dependent(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"torchmetrics"``, ``"lpips"``, ``"torch_fidelity"``) after the fix-up."""
    ensure_torchvision_importable()
    return importlib.import_module(module)

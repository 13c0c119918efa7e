"""Choosing the torch device a command runs on (``--device auto|cpu|cuda|cuda:N``)."""

from __future__ import annotations

from occbench.errors import OccbenchError


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cuda[:N]`` is checked against the machine.

    Returns a string torch accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``); raises OccbenchError with the reason
    when CUDA was asked for but cannot be used.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if not name.startswith("cuda"):
        raise OccbenchError(f"--device: Expected auto, cpu, cuda or cuda:N, but got {name!r}")
    if not torch.cuda.is_available():
        build = f"torch {torch.__version__} " + ("has no CUDA support" if torch.version.cuda is None
                                                  else f"(CUDA {torch.version.cuda}) sees no GPU")
        raise OccbenchError(f"--device {name}: CUDA is not available ({build}); use --device cpu or auto")
    index = int(name.split(":")[1]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise OccbenchError(f"--device {name}: Expected a GPU index below {torch.cuda.device_count()}, "
                            f"but got {index}")
    return name


def describe_device(device: str) -> str:
    """Human-readable name for provenance: ``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    import torch

    if not device.startswith("cuda"):
        return "cpu"
    index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"

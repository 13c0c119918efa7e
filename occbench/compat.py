"""The one place where occbench works around third-party packaging problems: torchvision's C extension.

When torch and torchvision are a matched pair (every ordinary ``pip install``, every CUDA machine),
torchvision's native library loads and registers its operators (``torchvision::nms`` among them);
occbench must then do nothing at all. When they do not match (for example a CPU-only torch 2.13.0 with
the registry's CUDA torchvision 0.28.0), the library fails to load, and ``import torchvision`` dies in
``torchvision/_meta_registrations.py`` with ``RuntimeError: operator torchvision::nms does not exist``
because it registers fake kernels for ``nms``/``qnms`` whose schemas only the missing library defines.
torchmetrics, lpips and torch-fidelity import torchvision, so all of them break.

:func:`ensure_torchvision_importable` decides between the two cases by trying what torchvision itself
would load (its ``_C_stable`` or ``_C`` library, with ``torch.ops.load_library``) in a *child process*,
so that a library that crashes cannot take occbench down with it. Only when that load fails are stub
schemas for ``nms``/``qnms`` registered; registering them when the real library loads later would abort
the process ("Tried to register an operator ... multiple times"). Nothing in occbench calls NMS; a call
to the stub raises a clear error. The verdict is cached per (python, torch, library file) in
:func:`occbench.cache.cache_root` so that only the first process pays for the probe (about 2 s).

Every module that imports torchvision, torchmetrics, lpips or torch-fidelity calls
:func:`ensure_torchvision_importable` first; :func:`torchvision_status` tells which case applied (recorded
in ``results.json`` provenance).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from occbench.cache import cache_root
from occbench.errors import OccbenchError

EXTENSION_NAMES = ("_C_stable", "_C")  # torchvision >= 0.29 loads _C_stable, older releases _C
PROBE_TIMEOUT_S = 300
_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_PROBE = """import sys, torch
try:
    torch.ops.load_library(sys.argv[1])
except OSError as exc:
    cause = exc.__cause__ or exc.__context__
    sys.exit(f"OSError: {exc}" + (f" ({cause})" if cause else ""))
"""
_LIBRARY = None  # keeps the torch.library.Library alive; its definitions vanish when it is collected
_STATUS: TorchvisionStatus | None = None


@dataclass(frozen=True)
class TorchvisionStatus:
    """How torchvision became importable in this process.

    ``state``: ``native`` (its extension loads; occbench did nothing), ``stubbed`` (the extension cannot
    load; occbench registered stub ``nms``/``qnms`` schemas), ``absent`` (torchvision is not installed) or
    ``imported-first`` (torchvision was imported before occbench looked; nothing was done).
    """

    state: str
    torch: str
    torchvision: str | None
    extension: str | None
    detail: str = ""

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _distribution_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def find_extension(package_dir: Path) -> Path | None:
    """torchvision's native library in ``package_dir``, in the order torchvision's releases look for it."""
    for name in EXTENSION_NAMES:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = package_dir / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _cache_file() -> Path:
    return cache_root() / "torchvision-probe.json"


def _cache_key(extension: Path, torch_file: str, torch_version: str) -> str:
    """Changes whenever the interpreter, torch or the library file changes."""
    lib, torch_init = extension.stat(), Path(torch_file).stat()
    return json.dumps([sys.executable, torch_file, torch_version, torch_init.st_mtime_ns, str(extension),
                       lib.st_size, lib.st_mtime_ns])


def _read_cache() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(key: str, verdict: dict[str, str]) -> None:
    path = _cache_file()
    try:
        data = _read_cache()
        data[key] = verdict
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # an unwritable cache only costs the probe again next time


def probe_extension(extension: Path) -> dict[str, str]:
    """Load ``extension`` in a child process; returns ``{"loads": "yes"|"no", "detail": ...}``.

    Raises OccbenchError when the child crashes (a signal), since torchvision would crash this process too.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE, str(extension)], capture_output=True, text=True,
                                timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as exc:
        raise OccbenchError(f"{extension}: loading torchvision's native library did not finish in "
                            f"{PROBE_TIMEOUT_S} s") from exc
    if result.returncode < 0:
        raise OccbenchError(
            f"{extension}: loading torchvision's native library crashes the process (signal {-result.returncode}). "
            "torch and torchvision do not match: install a matched pair (see the README's install section).")
    if result.returncode == 0:
        return {"loads": "yes", "detail": ""}
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return {"loads": "no", "detail": lines[-1] if lines else f"exit status {result.returncode}"}


def _has_schema(qualified_name: str) -> bool:
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw(qualified_name, "")
    except RuntimeError:
        return False
    return True


def _stub(*args, **kwargs):
    raise NotImplementedError(
        "torchvision::nms is a stub registered by occbench.compat because torchvision's native library does not "
        "load beside the installed torch (see torchvision_status()). occbench never needs NMS; install a matched "
        "torch/torchvision pair if you do."
    )


def _register_stubs() -> list[str]:
    import torch

    global _LIBRARY
    missing = [name for name in _SCHEMAS if not _has_schema(f"torchvision::{name}")]
    if missing and _LIBRARY is None:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        _LIBRARY.define(_SCHEMAS[name])
        _LIBRARY.impl(name, _stub, "CompositeExplicitAutograd")
    return missing


def _decide() -> TorchvisionStatus:
    import torch

    version = _distribution_version("torchvision")
    if "torchvision" in sys.modules:
        extension = getattr(sys.modules["torchvision"], "extension", None)
        loaded = bool(extension and extension._has_ops())
        return TorchvisionStatus("imported-first", torch.__version__, version, None,
                                 "extension loaded" if loaded else "extension not loaded")
    package = _package_dir("torchvision")
    if package is None:
        return TorchvisionStatus("absent", torch.__version__, None, None)
    extension = find_extension(package)
    if extension is None:
        verdict = {"loads": "no", "detail": f"no {'/'.join(EXTENSION_NAMES)} library in {package}"}
    else:
        key = _cache_key(extension, torch.__file__, torch.__version__)
        verdict = _read_cache().get(key) or probe_extension(extension)
        _write_cache(key, verdict)
    if verdict.get("loads") == "yes":
        return TorchvisionStatus("native", torch.__version__, version, str(extension))
    _register_stubs()
    return TorchvisionStatus("stubbed", torch.__version__, version, str(extension) if extension else None,
                             verdict.get("detail", ""))


def ensure_torchvision_importable() -> TorchvisionStatus:
    """Make ``import torchvision`` work in this process (see the module docstring); safe to call many times."""
    global _STATUS
    if _STATUS is None:
        _STATUS = _decide()
    return _STATUS


def torchvision_status() -> TorchvisionStatus:
    """The case that applied in this process (decides it now if nothing has asked yet)."""
    return ensure_torchvision_importable()

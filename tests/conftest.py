"""Shared fixtures. Real data lives in ../shared/assets (never copied into the repo); tests that need
it skip cleanly when it is absent. Override the location with OCCBENCH_SHARED=/path/to/shared."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OCCBENCH_SHARED", REPO.parent / "shared"))


def pytest_configure(config: pytest.Config) -> None:
    """Tests never read or write the user's occbench cache (feature cache, torchvision probe): a fresh folder
    per session, set before test modules are imported."""
    if "OCCBENCH_CACHE" not in os.environ:
        import tempfile

        os.environ["OCCBENCH_CACHE"] = tempfile.mkdtemp(prefix="occbench-test-cache-")


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test when it does not exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (shared test assets; set OCCBENCH_SHARED to their location)")
    return path


@pytest.fixture
def assets() -> Path:
    """../shared/assets (skips when absent)."""
    return shared_path("assets")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tiny_rgb() -> np.ndarray:
    """A deterministic 32×40 RGB uint8 test image with smooth structure."""
    y, x = np.mgrid[0:32, 0:40]
    return np.stack([(x * 6) % 256, (y * 8) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.uint8)

"""Reading and writing images with explicit conversions and per-file errors.

Reading returns RGB ``uint8`` ``(H, W, 3)`` arrays (labels and masks: ``uint8`` ``(H, W)``). Inputs that
are not 8-bit RGB are converted, and the conversion is reported so a build can record it:

- grayscale → replicated to three channels;
- RGBA / LA → alpha-composited over black (what a method would see of a transparent region);
- 16-bit → ``round(v / 257)`` to 8 bit.

Unreadable, empty and truncated files raise :class:`~occbench.errors.SampleError` naming the file.
OpenCV silently decodes a truncated JPEG (grey bottom), so JPEGs must end with their EOI marker and
PNGs with their IEND chunk. EXIF orientation is not applied (datasets in this field are pre-aligned).

Writing is atomic: a temporary file in the same folder is renamed into place, so an interrupted run
never leaves a half-written PNG behind. PNG encoding is deterministic (fixed compression level).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from occbench.errors import SampleError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: changing the umask per call is not thread-safe
PNG_COMPRESSION = 3  # cv2 default; fixed so outputs are byte-identical across runs
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _check_complete(path: Path, data: bytes) -> None:
    head = data[:8]
    if head.startswith(b"\xff\xd8"):
        if data.rstrip(b"\x00\r\n ")[-2:] != b"\xff\xd9":
            raise SampleError(f"{path}: truncated JPEG (no end-of-image marker at the end of the file, or data "
                              "appended after the image); re-download or remove the file")
    elif head.startswith(b"\x89PNG"):
        if b"IEND" not in data[-16:]:
            raise SampleError(f"{path}: truncated PNG (no IEND chunk); re-download or remove the file")


def decode_unchanged(path: Path) -> np.ndarray:
    """Decode as stored (OpenCV channel order BGR(A), any bit depth), after the completeness checks."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SampleError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise SampleError(f"{path}: empty file; expected an image")
    _check_complete(path, data)
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.size == 0:
        raise SampleError(f"{path}: not a decodable image (expected JPEG/PNG/BMP/WebP/TIFF)")
    return array


def to_uint8(array: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    """8-bit pixels: 16-bit values become ``round(v / 257)`` (noted); other types are an error naming the file."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        notes.append("16-bit→8-bit")
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise SampleError(f"{path}: unsupported pixel type {array.dtype}; expected 8- or 16-bit integers")


def read_image(path: str | Path, notes: list[str] | None = None) -> np.ndarray:
    """Read an image as RGB uint8 ``(H, W, 3)``. Conversions done are appended to ``notes``."""
    path = Path(path)
    notes = [] if notes is None else notes
    array = to_uint8(decode_unchanged(path), path, notes)
    if array.ndim == 2:
        notes.append("grayscale→RGB")
        return np.repeat(array[:, :, None], 3, axis=2)
    channels = array.shape[2]
    if channels == 1:
        notes.append("grayscale→RGB")
        return np.repeat(array, 3, axis=2)
    if channels in (2, 4):
        alpha = array[:, :, -1:].astype(np.float32) / 255.0
        color = array[:, :, :1].repeat(3, axis=2) if channels == 2 else array[:, :, 2::-1]  # BGR(A)→RGB
        if (alpha < 1).any():
            notes.append("alpha composited over black")
        return np.round(color.astype(np.float32) * alpha).astype(np.uint8)
    if channels == 3:
        return np.ascontiguousarray(array[:, :, ::-1])
    raise SampleError(f"{path}: {channels} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")


def read_gray(path: str | Path) -> np.ndarray:
    """Read a single-channel uint8 image (mask or label map). Colour files must have equal channels.

    16-bit files whose values are all <= 255 (label maps) keep their values; others are scaled by 1/257.
    """
    path = Path(path)
    array = decode_unchanged(path)
    if array.dtype == np.uint16 and int(array.max(initial=0)) <= 255:
        array = array.astype(np.uint8)  # a 16-bit label map holding class values: keep the values
    array = to_uint8(array, path, [])
    if array.ndim == 3:
        if array.shape[2] == 4:
            array = array[:, :, :3]
        if array.shape[2] == 3 and not (
            np.array_equal(array[:, :, 0], array[:, :, 1]) and np.array_equal(array[:, :, 0], array[:, :, 2])
        ):
            raise SampleError(f"{path}: expected a single-channel mask/label map, but its colour channels differ")
        array = array[:, :, 0]
    return np.ascontiguousarray(array)


def encode_png(array: np.ndarray) -> bytes:
    """Encode an RGB ``(H, W, 3)``, RGBA ``(H, W, 4)`` or single-channel ``(H, W)`` uint8 array as PNG bytes."""
    if array.dtype != np.uint8:
        raise TypeError(f"Expected a uint8 array, but got {array.dtype}")
    if array.ndim == 3:
        if array.shape[2] not in (3, 4):
            raise ValueError(f"Expected an (H, W), (H, W, 3) or (H, W, 4) array, but got shape {array.shape}")
        array = array[:, :, [2, 1, 0, 3][: array.shape[2]]]  # RGB(A)→BGR(A) for OpenCV
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a PNG")
    return buffer.tobytes()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the mode open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_png(path: str | Path, array: np.ndarray) -> str:
    """Atomically write ``array`` as PNG; returns the SHA-256 hex digest of the written bytes."""
    data = encode_png(array)
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()

"""Reading and writing images with explicit conversions and per-file errors.

Reading returns RGB ``uint8`` ``(H, W, 3)`` arrays (labels and masks: ``uint8`` ``(H, W)``). Inputs that
are not 8-bit RGB are converted, and the conversion is reported so a build can record it: grayscale,
palette, CMYK and gray+alpha files become RGB; transparent pixels are composited over black (what a method
would see of a transparent region); 16-bit values become ``round(v / 257)``.

Before decoding, the header is read (Pillow, no pixel data): files over :data:`MAX_PIXELS` are refused, so a
small "decompression bomb" cannot take gigabytes. Unreadable, empty, truncated and corrupt files raise
:class:`~occbench.errors.SampleError` naming the file: PNGs must end with their IEND chunk, JPEGs must contain
an end-of-image marker, and libjpeg's warnings ("Corrupt JPEG data: ...", which OpenCV only prints to stderr
while returning a half-grey image) are captured and turned into errors. Data after a JPEG's end marker (phone
"motion photos" append a video there) is ignored and noted. :func:`read_image` applies the EXIF
orientation tag (phone photos store pixels sideways and say so there), as viewers and Pillow's
``ImageOps.exif_transpose`` do, and notes it (``EXIF orientation 6 applied``); masks and label maps
(:func:`read_gray`) are read as stored. When the caller knows a file's sha256 (a built dataset's manifest), the
bytes read are checked against it.

Writing is atomic: a temporary file in the same folder (named after this host and process, so concurrent
shards can tell their own leftovers from another's work in progress) is renamed into place, so an
interrupted run never leaves a half-written PNG behind. PNG encoding is deterministic (fixed compression
level).
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import tempfile
import threading
import warnings
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
EXIF_ORIENTATION_TAG = 0x0112
MAX_PIXELS = 100_000_000  # 100 MP: a 200 MP phone photo must be downscaled first; 1 GP bombs are refused
TEMP_PREFIX = f".~{os.getpid()}~{socket.gethostname()}~"  # ".~pid~host~<name>.<random>.tmp"


def temp_file_owner(name: str) -> tuple[int, str] | None:
    """(pid, host) of a temp file written by :func:`write_atomic`, None for other names."""
    if not name.startswith(".~"):
        return None
    pid, _, rest = name[2:].partition("~")
    host, sep, _ = rest.partition("~")
    return (int(pid), host) if pid.isdigit() and sep else None
_STDERR_LOCK = threading.Lock()
_PIL_NOTES = {"P": "palette→RGB", "PA": "palette→RGB", "CMYK": "CMYK→RGB", "YCbCr": "YCbCr→RGB",
              "LA": "gray+alpha→RGB", "La": "gray+alpha→RGB"}


def list_image_files(top: Path, exclude: Path | None = None) -> tuple[list[Path], list[str]]:
    """Image files under ``top`` (recursive, extension case-insensitive) as sorted relative paths, and problems.

    Hidden files and folders and the ``exclude`` subtree are skipped silently. Symbolic links to folders are
    followed (each real folder once, so a link cycle ends). What cannot be listed is reported, not dropped:
    unreadable folders, and entries with an image extension that are not regular files (a FIFO named
    ``x.jpg`` would block a reader forever).
    """
    import stat as stat_module

    found: list[Path] = []
    problems: list[str] = []
    exclude = exclude.resolve() if exclude is not None else None
    seen: set[Path] = set()

    def unreadable(error: OSError) -> None:
        problems.append(f"{error.filename}: folder not read ({error.strerror or error})")

    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=unreadable):
        here = Path(dirpath)
        real = here.resolve()
        if real in seen:
            problems.append(f"{here}: folder not read again (a link leads back to {real})")
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (exclude is None or (here / d).resolve() != exclude))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            path = here / name
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                problems.append(f"{path}: not read ({exc.strerror or exc})")
                continue
            if stat_module.S_ISREG(mode):
                found.append(path.relative_to(top))
            else:
                problems.append(f"{path}: not a regular file (a pipe, device or socket); skipped")
    return sorted(found, key=lambda p: p.as_posix()), problems


def _check_complete(path: Path, data: bytes, notes: list[str]) -> None:
    head = data[:8]
    if head.startswith(b"\xff\xd8"):
        end = data.rfind(b"\xff\xd9")
        if end < 0:
            raise SampleError(f"{path}: truncated JPEG (no end-of-image marker); re-download or remove the file")
        trailing = len(data.rstrip(b"\x00\r\n ")) - (end + 2)
        if trailing > 0:
            notes.append(f"{trailing} bytes after the JPEG end marker ignored")
    elif head.startswith(b"\x89PNG"):
        if b"IEND" not in data[-16:]:
            raise SampleError(f"{path}: truncated PNG (no IEND chunk); re-download or remove the file")


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise SampleError(f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels; Expected at most "
                          f"{MAX_PIXELS / 1e6:.0f} (downscale it first)")


def _header(path: Path, data: bytes) -> tuple[int, int, str, int] | None:
    """(width, height, Pillow mode, EXIF orientation 1-8) from the header only; None when Pillow does not know the
    format. An orientation tag that is missing or out of range counts as 1 (stored = upright)."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # occbench applies its own limit
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.width, image.height, image.mode, _exif_orientation(image)
        except Image.DecompressionBombError as exc:
            raise SampleError(f"{path}: {exc}; Expected at most {MAX_PIXELS / 1e6:.0f} megapixels") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None


def _exif_orientation(image) -> int:
    """The EXIF orientation tag of an open Pillow image (1 when missing, unreadable or out of range)."""
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except (OSError, ValueError, SyntaxError, struct.error):
        return 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def _decode_capturing_warnings(data: bytes) -> tuple[np.ndarray | None, str]:
    """cv2.imdecode with the C library's stderr captured (libjpeg reports corrupt data only there)."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return array, sink.read().decode("utf-8", "replace")


def apply_exif_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """The upright view of pixels stored under EXIF ``orientation`` (1-8; 1 = as stored), as Pillow's
    ``ImageOps.exif_transpose``: 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
    7 transverse, 8 rotate 90° counter-clockwise."""
    if orientation == 1:
        return array
    turned = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }[orientation](array)
    return np.ascontiguousarray(turned)


def decode_unchanged(path: Path, notes: list[str] | None = None, sha256: str | None = None,
                     upright: bool = False) -> np.ndarray:
    """Decode as stored (OpenCV channel order BGR(A), any bit depth), after the checks in the module doc.

    ``notes`` receives conversions the caller will not see in the array (palette, CMYK, trailing data);
    ``sha256``: expected digest of the file's bytes (a mismatch is an error naming both digests);
    ``upright``: apply the EXIF orientation (noted).
    """
    notes = [] if notes is None else notes
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SampleError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise SampleError(f"{path}: empty file; expected an image")
    if sha256 is not None and (actual := hashlib.sha256(data).hexdigest()) != sha256:
        raise SampleError(f"{path}: content changed since it was written (sha256 {actual[:12]}…, the manifest "
                          f"records {sha256[:12]}…); rebuild the dataset or restore the file")
    _check_complete(path, data, notes)
    header = _header(path, data)
    orientation = 1
    if header is not None:
        width, height, mode, orientation = header
        _check_pixels(path, width, height)
        if mode in _PIL_NOTES:
            notes.append(_PIL_NOTES[mode])
    if data[:2] == b"\xff\xd8":
        array, warnings = _decode_capturing_warnings(data)
        if warnings.strip():
            raise SampleError(f"{path}: corrupt JPEG ({warnings.strip().splitlines()[0]}); re-download or remove "
                              "the file")
    else:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.size == 0:
        raise SampleError(f"{path}: not a decodable image (expected JPEG/PNG/BMP/WebP/TIFF)")
    _check_pixels(path, array.shape[1], array.shape[0])
    if upright and orientation != 1:
        notes.append(f"EXIF orientation {orientation} applied")
        array = apply_exif_orientation(array, orientation)
    return array


def to_uint8(array: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    """8-bit pixels: 16-bit values become ``round(v / 257)`` (noted); other types are an error naming the file."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        notes.append("16-bit→8-bit")
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise SampleError(f"{path}: unsupported pixel type {array.dtype}; expected 8- or 16-bit integers")


def read_image(path: str | Path, notes: list[str] | None = None, sha256: str | None = None) -> np.ndarray:
    """Read an image as RGB uint8 ``(H, W, 3)``. Conversions done are appended to ``notes``; ``sha256``: the
    digest the file must have (see :func:`decode_unchanged`)."""
    path = Path(path)
    notes = [] if notes is None else notes
    array = to_uint8(decode_unchanged(path, notes, sha256, upright=True), path, notes)
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


def read_gray(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """Read a single-channel uint8 image (mask or label map). Colour files must have equal channels.

    16-bit files whose values are all <= 255 (label maps) keep their values; others are scaled by 1/257.
    ``sha256``: the digest the file must have (see :func:`decode_unchanged`).
    """
    path = Path(path)
    array = decode_unchanged(path, None, sha256)
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp")
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

"""occbench.image_io: bad and unusual input files are reported or converted explicitly; writing is exact,
deterministic and atomic. All files are built in tmp_path with OpenCV / numpy."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.errors import SampleError
from occbench.image_io import apply_exif_orientation, read_gray, read_image, write_atomic, write_png


def _encoded(ext: str, array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(ext, array)
    assert ok
    return buffer.tobytes()


@pytest.fixture
def textured(rng: np.random.Generator) -> np.ndarray:
    """A 64×80 BGR uint8 image with noise, so its JPEG is a few kB."""
    return rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)


# --- unreadable files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_image, read_gray])
def test_corrupt_file(tmp_path: Path, rng: np.random.Generator, reader) -> None:
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(b"NOTANIMAGE" + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(SampleError, match="corrupt.jpg"):
        reader(path)


@pytest.mark.parametrize("reader", [read_image, read_gray])
def test_truncated_jpeg(tmp_path: Path, textured: np.ndarray, reader) -> None:
    data = _encoded(".jpg", textured)
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SampleError, match=r"half\.jpg.*truncated"):
        reader(path)


@pytest.mark.parametrize("reader", [read_image, read_gray])
def test_truncated_png(tmp_path: Path, textured: np.ndarray, reader) -> None:
    data = _encoded(".png", textured)
    path = tmp_path / "half.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SampleError, match=r"half\.png.*truncated"):
        reader(path)


@pytest.mark.parametrize("reader", [read_image, read_gray])
def test_empty_and_missing_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(SampleError, match=r"empty\.png.*empty"):
        reader(path)
    with pytest.raises(SampleError, match=r"missing\.png"):
        reader(tmp_path / "missing.png")


def test_complete_jpeg_reads(tmp_path: Path, textured: np.ndarray) -> None:
    path = tmp_path / "ok.jpg"
    path.write_bytes(_encoded(".jpg", textured))
    notes: list[str] = []
    image = read_image(path, notes)
    assert image.shape == (64, 80, 3) and image.dtype == np.uint8 and notes == []


# --- conversions -----------------------------------------------------------------------------------------------


def test_rgb_channel_order(tmp_path: Path) -> None:
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in OpenCV's BGR order
    path = tmp_path / "red.png"
    assert cv2.imwrite(str(path), bgr)
    notes: list[str] = []
    image = read_image(path, notes)
    assert image.flags.c_contiguous
    assert (image == (255, 0, 0)).all() and notes == []


def test_grayscale_to_rgb(tmp_path: Path, rng: np.random.Generator) -> None:
    gray = rng.integers(0, 256, (6, 7), dtype=np.uint8)
    path = tmp_path / "gray.png"
    assert cv2.imwrite(str(path), gray)
    notes: list[str] = []
    image = read_image(path, notes)
    assert image.shape == (6, 7, 3)
    for c in range(3):
        np.testing.assert_array_equal(image[..., c], gray)
    assert notes == ["grayscale→RGB"]
    np.testing.assert_array_equal(read_gray(path), gray)


def test_rgba_partial_alpha_composited_over_black(tmp_path: Path) -> None:
    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[..., :3] = (50, 100, 200)  # B, G, R
    bgra[..., 3] = 255
    bgra[0, 0, 3] = 128
    bgra[0, 1, 3] = 0
    path = tmp_path / "rgba.png"
    assert cv2.imwrite(str(path), bgra)
    notes: list[str] = []
    image = read_image(path, notes)
    assert image.shape == (3, 4, 3)
    assert tuple(image[0, 0]) == tuple(round(v * 128 / 255) for v in (200, 100, 50)) == (100, 50, 25)
    assert tuple(image[0, 1]) == (0, 0, 0)
    assert (image[1:] == (200, 100, 50)).all()
    assert notes == ["alpha composited over black"]


def test_rgba_fully_opaque_has_no_alpha_note(tmp_path: Path) -> None:
    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[..., :3] = (50, 100, 200)
    bgra[..., 3] = 255
    path = tmp_path / "opaque.png"
    assert cv2.imwrite(str(path), bgra)
    notes: list[str] = []
    image = read_image(path, notes)
    assert (image == (200, 100, 50)).all() and notes == []


def test_16bit_gray_every_value(tmp_path: Path) -> None:
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    path = tmp_path / "gray16.png"
    assert cv2.imwrite(str(path), values)
    expected = np.round(values / 257).astype(np.uint8)  # v / 257 is never exactly halfway
    notes: list[str] = []
    image = read_image(path, notes)
    for c in range(3):
        np.testing.assert_array_equal(image[..., c], expected)
    assert "16-bit→8-bit" in notes and "grayscale→RGB" in notes
    np.testing.assert_array_equal(read_gray(path), expected)


def test_16bit_rgb(tmp_path: Path, rng: np.random.Generator) -> None:
    bgr16 = rng.integers(0, 65536, (8, 9, 3), dtype=np.uint16)
    bgr16[0, 0] = (0, 128, 65535)
    bgr16[0, 1] = (385, 386, 128 + 257 * 100)  # 385 / 257 = 1.498 → 1, 386 / 257 = 1.502 → 2; 100.498 → 100
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), bgr16)
    notes: list[str] = []
    image = read_image(path, notes)
    np.testing.assert_array_equal(image, np.round(bgr16[..., ::-1] / 257).astype(np.uint8))
    assert tuple(image[0, 0]) == (255, 0, 0) and tuple(image[0, 1]) == (100, 2, 1)
    assert notes == ["16-bit→8-bit"]


def test_read_gray_rejects_colour(tmp_path: Path) -> None:
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 255
    path = tmp_path / "colour_mask.png"
    assert cv2.imwrite(str(path), bgr)
    with pytest.raises(SampleError, match=r"colour_mask\.png.*channels differ"):
        read_gray(path)


def test_read_gray_accepts_equal_channels(tmp_path: Path) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = tmp_path / "grey_as_rgb.png"
    assert cv2.imwrite(str(path), np.repeat(gray[..., None], 3, axis=2))
    out = read_gray(path)
    assert out.shape == (3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, gray)


# --- writing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(16, 20, 3), (16, 20)])
def test_write_png_round_trip_and_hash(tmp_path: Path, rng: np.random.Generator, shape: tuple[int, ...]) -> None:
    array = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "sub" / "out.png"
    digest = write_png(path, array)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_array_equal(read_gray(path) if array.ndim == 2 else read_image(path), array)


def test_write_png_is_deterministic(tmp_path: Path, rng: np.random.Generator) -> None:
    array = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    assert write_png(first, array) == write_png(second, array)
    assert first.read_bytes() == second.read_bytes()
    write_png(first, array)  # overwriting gives the same bytes again
    assert first.read_bytes() == second.read_bytes()


def test_write_png_rejects_non_uint8(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="uint8"):
        write_png(tmp_path / "f.png", np.zeros((4, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_write_atomic_cleans_up_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    write_atomic(path, b"old")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_written_files_honour_umask(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)  # read it back unchanged
    write_png(tmp_path / "f.png", np.zeros((2, 2, 3), np.uint8))
    assert stat.S_IMODE((tmp_path / "f.png").stat().st_mode) == 0o666 & ~umask  # like open(..., "wb")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_like_pillow(tmp_path: Path, rng: np.random.Generator, orientation: int) -> None:
    """Every EXIF orientation 1-8 on a non-square JPEG gives Pillow's exif_transpose view (same decoder pixels)."""
    from PIL import Image, ImageOps

    pixels = cv2.resize(rng.integers(0, 256, (3, 5, 3), dtype=np.uint8), (50, 30), interpolation=cv2.INTER_NEAREST)
    path = tmp_path / f"o{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif)
    notes: list[str] = []
    image = read_image(path, notes)
    stored = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    with Image.open(path) as opened:
        expected_shape = np.asarray(ImageOps.exif_transpose(opened)).shape
    assert image.shape == expected_shape
    assert np.array_equal(image, apply_exif_orientation(stored, orientation))  # stored pixels, turned
    assert notes == ([] if orientation == 1 else [f"EXIF orientation {orientation} applied"])
    # the transform itself equals Pillow's on exact pixels
    with_tag = Image.fromarray(pixels)
    with_tag.getexif()[0x0112] = orientation
    buffer = tmp_path / f"o{orientation}.png"
    with_tag.save(buffer, exif=exif)
    with Image.open(buffer) as opened:
        assert np.array_equal(np.asarray(ImageOps.exif_transpose(opened)), apply_exif_orientation(pixels, orientation))


def test_exif_rotated_phone_photos_read_upright(assets: Path) -> None:
    """The two wild photos whose EXIF says 6 and 8 (the same portrait) read as Pillow shows them, and alike."""
    from PIL import Image, ImageOps

    views = []
    for tag in (6, 8):
        path = assets / "wild_faces" / f"pillow_hopper_orientation_{tag}.jpg"
        notes: list[str] = []
        image = read_image(path, notes)
        with Image.open(path) as opened:
            assert np.abs(image.astype(int) - np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))).max() <= 1
        assert notes == [f"EXIF orientation {tag} applied"]
        views.append(image.astype(int))
    assert np.abs(views[0] - views[1]).mean() < 3  # the same portrait stored two ways

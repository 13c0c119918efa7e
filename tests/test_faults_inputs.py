"""Fault injection for the files occbench reads: images, folders, protocols, YAML values and weight files."""

from __future__ import annotations

import dataclasses
import os
import pickle
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from occbench.cli import main
from occbench.dataset.preprocess import MAX_ASPECT, fit_image
from occbench.errors import OccbenchError, ProtocolError, SampleError
from occbench.image_io import MAX_PIXELS, list_image_files, read_image
from occbench.params import parse_key_values
from occbench.protocol import Preprocess, load_protocol
from occbench.sources.folder import FolderSource
from occbench.weights import KNOWN, WeightsMismatchError, find_weights


def _jpeg(size: int = 96) -> bytes:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur((rng.random((size, size, 3)) * 255).astype(np.uint8), (0, 0), 3)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (no pixel data worth decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + \
        chunk(b"IEND", b"")


# --- images ------------------------------------------------------------------------------------------------

def test_corrupt_jpeg_data_is_refused(tmp_path):
    data = bytearray(_jpeg())
    middle = len(data) // 2
    data[middle:middle + 40] = bytes(40)  # a damaged stretch of entropy-coded data
    path = tmp_path / "flipped.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(SampleError, match=r"flipped.jpg: (corrupt JPEG|not a decodable image)"):
        read_image(path)


def test_truncated_jpeg_with_an_end_marker_appended_is_refused(tmp_path):
    data = _jpeg()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    with pytest.raises(SampleError, match=r"cut.jpg: corrupt JPEG \(Corrupt JPEG data: premature end"):
        read_image(path)


def test_jpeg_with_trailing_data_is_read_and_noted(tmp_path):
    path = tmp_path / "motion.jpg"
    path.write_bytes(_jpeg() + b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 500)  # a motion photo's appended video
    notes: list[str] = []
    image = read_image(path, notes)
    assert image.shape == (96, 96, 3)
    assert notes == ["512 bytes after the JPEG end marker ignored"]


@pytest.mark.parametrize("side", [11_000, 20_000])  # under and over Pillow's own bomb limit
def test_decompression_bombs_are_refused_before_decoding(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    assert path.stat().st_size < 200
    with pytest.raises(SampleError, match=r"bomb.png: .*megapixels"):
        read_image(path)
    assert side * side > MAX_PIXELS


def test_extreme_aspect_ratio_is_refused():
    strip = np.zeros((1, 8000, 3), np.uint8)
    with pytest.raises(SampleError, match=rf"strip.png: image is 8000x1; Expected an aspect ratio of at most "
                                          rf"{MAX_ASPECT}:1"):
        fit_image(strip, 256, Preprocess(upscale=True), "strip.png")


@pytest.mark.parametrize("mode, note", [("P", "palette→RGB"), ("CMYK", "CMYK→RGB"), ("LA", "gray+alpha→RGB")])
def test_palette_cmyk_and_gray_alpha_conversions_are_noted(tmp_path, mode, note):
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    Image.new(mode, (16, 12)).save(path)
    notes: list[str] = []
    assert read_image(path, notes).shape == (12, 16, 3)
    assert note in notes


# --- folders -----------------------------------------------------------------------------------------------

def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    image = np.full((40, 40, 3), 120, np.uint8)
    for rel in ("a.png", "sub/b.png", "ж.png", "й.png"):
        cv2.imwrite(str(root / rel), image) if rel.isascii() else Path(root / rel).write_bytes(
            cv2.imencode(".png", image)[1].tobytes())
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cv2.imwrite(str(outside / "c.png"), image)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    os.mkfifo(root / "pipe.jpg")
    return root


def test_listing_follows_links_reports_pipes_and_loops_and_keeps_non_ascii_names(tmp_path):
    root = _tree(tmp_path)
    files, problems = list_image_files(root)
    assert {p.as_posix() for p in files} == {"a.png", "sub/b.png", "ж.png", "й.png", "linked/c.png"}
    assert any("pipe.jpg: not a regular file" in p for p in problems)
    assert any("loop: folder not read again" in p for p in problems)
    items = FolderSource(root=root).items()
    assert len({item.id for item in items}) == 5  # the two Cyrillic names do not collide


def test_unreadable_folder_is_reported(tmp_path, monkeypatch):
    root = _tree(tmp_path)
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, problems = list_image_files(root)
    assert "sub/b.png" not in {p.as_posix() for p in files}
    assert any(p.endswith("sub: folder not read (Permission denied)") for p in problems)


def test_build_with_a_fifo_finishes_and_records_the_problems(tmp_path, capsys):
    root = _tree(tmp_path)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "fifo", "version": 1, "seed": 0, "resolution": 32,
                                        "source": {"name": "folder"}, "generator": {"name": "center"}}))
    assert main(["build-dataset", str(protocol), "--source-dir", str(root), "--out", str(tmp_path / "out"),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "5 samples written" in captured.out and "pipe.jpg: not a regular file" in captured.err
    info = yaml.safe_load((tmp_path / "out" / "dataset.json").read_text())
    assert any("pipe.jpg" in p for p in info["source_problems"])


# --- protocols and YAML ------------------------------------------------------------------------------------

BASE = {"name": "x", "version": 1, "seed": 0, "resolution": 64, "source": {"name": "folder"},
        "generator": {"name": "center", "params": {"size": 32}}}


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_non_utf8_protocol_is_one_line(tmp_path, capsys):
    path = _write(tmp_path / "latin1.yaml", "name: caf\xe9\n".encode("latin-1"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "latin1.yaml: not UTF-8 text" in err and err.count("\n") == 1


def test_duplicate_keys_are_refused(tmp_path):
    path = _write(tmp_path / "dup.yaml", yaml.safe_dump(BASE) + "seed: 5\n")
    with pytest.raises(ProtocolError, match=r"dup.yaml: invalid YAML at line 11, column 1: duplicate key 'seed' "
                                            r"\(first at line 7\)$"):
        load_protocol(path)


def test_alias_bomb_is_refused_at_once(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},'
              f'*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]' for i in range(8)]
    path = _write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    assert path.stat().st_size < 1000
    with pytest.raises(ProtocolError, match="aliases .* are not allowed"):
        load_protocol(path)
    with pytest.raises(OccbenchError, match="aliases"):
        parse_key_values(["x=[&a 1, *a]"], "--param")


def test_include_outside_the_protocol_tree_is_refused(tmp_path):
    _write(tmp_path / "secret.yaml", "seed: 1\n")
    path = _write(tmp_path / "protos" / "p.yaml", yaml.safe_dump({**BASE, "include": "../secret.yaml"}))
    with pytest.raises(ProtocolError, match=r"p.yaml: include: '../secret.yaml' is outside"):
        load_protocol(path)
    path = _write(tmp_path / "protos" / "q.yaml", yaml.safe_dump({**BASE, "include": "/etc/hostname"}))
    with pytest.raises(ProtocolError, match="is outside"):
        load_protocol(path)


@pytest.mark.parametrize("size, message", [(".nan", r"generator.params.size: Expected"),
                                           (".inf", r"generator.params.size: Expected"),
                                           ("300", r"generator.params.size: Expected at most the image side")])
def test_hole_sizes_that_cannot_be_drawn_are_refused(tmp_path, size, message):
    text = yaml.safe_dump({k: v for k, v in BASE.items() if k != "generator"})
    path = _write(tmp_path / "hole.yaml", text + f"generator: {{name: center, params: {{size: {size}}}}}\n")
    with pytest.raises(ProtocolError, match=message):
        load_protocol(path)


def test_external_bins_that_match_no_mask_fail_before_building(tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(3):
        mask = np.zeros((64, 64), np.uint8)
        mask[:8, : 8 + i] = 255  # about 2 % holes
        cv2.imwrite(str(masks / f"m{i}.png"), mask)
    protocol = _write(tmp_path / "ext.yaml", yaml.safe_dump(
        {**BASE, "generator": {"name": "external", "params": {"polarity": "white_hole", "bins": [[0.5, 0.6]]}}}))
    source = tmp_path / "src"
    source.mkdir()
    cv2.imwrite(str(source / "a.png"), np.zeros((64, 64, 3), np.uint8))
    code = main(["build-dataset", str(protocol), "--source-dir", str(source), "--assets-dir", str(masks), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    assert code == 2 and "no mask has a hole ratio inside bins [[0.5, 0.6]]" in capsys.readouterr().err


# --- weight files ------------------------------------------------------------------------------------------

class _Payload:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_weights_file_with_a_pickle_payload_never_runs(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    folder = tmp_path / "weights"
    folder.mkdir()
    with (folder / KNOWN["inception"].filename).open("wb") as handle:
        pickle.dump({"fc.weight": _Payload(str(marker))}, handle)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(WeightsMismatchError, match=r"weights-inception-2015-12-05-6726825d.pth: sha256 \w+ is not a "
                                                   r"known digest .*expected 6726825d… or ffcd0de2"):
        find_weights("inception", folder)
    # even a file whose digest were accepted is refused by the tensors-only load
    from occbench.fingerprint import sha256_file
    from occbench.metrics.distribution import InceptionFeatureStats

    spec = KNOWN["inception"]
    monkeypatch.setitem(KNOWN, "inception", dataclasses.replace(
        spec, sha256=(sha256_file(folder / spec.filename),)))
    with pytest.raises(WeightsMismatchError, match="not a plain tensor file"):
        InceptionFeatureStats(weights_dir=folder)
    assert not marker.exists()

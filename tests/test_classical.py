"""Classical reference methods (telea, navier-stokes, biharmonic, mean-fill): contract, known answers and
agreement with direct OpenCV / scikit-image calls."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage.restoration import inpaint_biharmonic

from occbench.errors import ProtocolError
from occbench.methods.base import ImageMethod
from occbench.params import build_component
from occbench.registry import METHODS

NAMES = ["telea", "navier-stokes", "biharmonic", "mean-fill"]
H, W = 32, 40


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two textured RGB uint8 images (2, H, W, 3) and hole masks (2, H, W), 1 = hole, hole zeroed."""
    y, x = np.mgrid[0:H, 0:W]
    smooth = np.stack([(x * 6) % 256, (y * 8) % 256, ((x + y) * 3) % 256], axis=-1)
    images = np.stack([smooth, rng.integers(0, 256, (H, W, 3))]).astype(np.uint8)
    masks = np.zeros((2, H, W), np.uint8)
    masks[0, 8:20, 10:25] = 1
    masks[1] = rng.random((H, W)) < 0.3
    masks[1, 20:28, 5:15] = 1
    return images * (1 - masks[..., None]), masks


def _to_tensors(images: np.ndarray, masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    occluded = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return occluded, torch.from_numpy(masks)[:, None].float()


def _to_uint8(tensor: torch.Tensor) -> np.ndarray:
    return (tensor * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _textured(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[10:22, 12:28] = 1
    return image * (1 - mask[..., None]), mask


@pytest.mark.parametrize("name", NAMES)
def test_predict_contract(name: str, rng: np.random.Generator) -> None:
    method = METHODS.get(name)()
    assert isinstance(method, ImageMethod) and not method.needs_weights
    images, masks = _batch(rng)
    occluded, mask = _to_tensors(images, masks)
    out = method.predict(occluded, mask)
    assert out.shape == (2, 3, H, W) and out.dtype == torch.float32 and out.device == occluded.device
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    out8 = _to_uint8(out)
    known = masks == 0
    np.testing.assert_array_equal(out8[known], images[known])  # known pixels kept exactly
    # per-image: batching changes nothing
    for i in range(2):
        np.testing.assert_array_equal(method.inpaint_image(images[i], masks[i]), out8[i])


@pytest.mark.parametrize("name", NAMES)
def test_hole_content_is_not_read(name: str, rng: np.random.Generator) -> None:
    image, mask = _textured(rng)
    other = image.copy()
    other[mask == 1] = 255
    method = METHODS.get(name)()
    np.testing.assert_array_equal(method.inpaint_image(image, mask), method.inpaint_image(other, mask))


@pytest.mark.parametrize("name", NAMES)
def test_no_hole_and_all_hole(name: str, rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    method = METHODS.get(name)()
    np.testing.assert_array_equal(method.inpaint_image(image, np.zeros((H, W), np.uint8)), image)
    np.testing.assert_array_equal(method.inpaint_image(image, np.ones((H, W), np.uint8)), np.full_like(image, 128))


def test_mean_fill_exact_mean() -> None:
    image = np.zeros((H, W, 3), np.uint8)
    image[: H // 2] = (10, 50, 90)
    image[H // 2:] = (30, 70, 110)
    mask = np.zeros((H, W), np.uint8)
    mask[:, 10:20] = 1  # same number of known pixels in both halves
    image[mask == 1] = 0
    out = METHODS.get("mean-fill")().inpaint_image(image, mask)
    assert (out[mask == 1] == (20, 60, 100)).all()
    grey = METHODS.get("mean-fill")(per_channel=False).inpaint_image(image, mask)
    assert (grey[mask == 1] == 60).all()  # (20 + 60 + 100) / 3


@pytest.mark.parametrize(("name", "flag"), [("telea", cv2.INPAINT_TELEA), ("navier-stokes", cv2.INPAINT_NS)])
@pytest.mark.parametrize("radius", [1, 3, 7])
def test_opencv_methods_equal_cv2_inpaint(name: str, flag: int, radius: int, rng: np.random.Generator) -> None:
    images, masks = _batch(rng)
    method = METHODS.get(name)(radius=radius)
    for image, mask in zip(images, masks):
        np.testing.assert_array_equal(method.inpaint_image(image, mask), cv2.inpaint(image, mask, radius, flag))


@pytest.mark.parametrize("split", [True, False])
def test_biharmonic_equals_skimage(split: bool, rng: np.random.Generator) -> None:
    images, masks = _batch(rng)
    method = METHODS.get("biharmonic")(split_into_regions=split)
    for image, mask in zip(images, masks):
        ref = inpaint_biharmonic(image / 255.0, mask.astype(bool), split_into_regions=split, channel_axis=-1)
        ref = np.clip(np.round(ref * 255), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(method.inpaint_image(image, mask), ref)


def test_biharmonic_reproduces_linear_gradient() -> None:
    # Golden value in closed form: harmonic and biharmonic interpolation reproduce linear functions exactly.
    # Integer slopes keep the uint8 input exactly linear, so only the solver and the output rounding remain.
    y, x = np.mgrid[0:H, 0:W]
    exact = np.stack([40 + 3 * x + 2 * y, 200 - 2 * x - y, 20 + x + 3 * y], axis=-1)
    image = exact.astype(np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[12:20, 15:23] = 1
    image[mask == 1] = 0
    out = METHODS.get("biharmonic")().inpaint_image(image, mask)
    assert np.abs(out[mask == 1].astype(int) - exact[mask == 1]).max() <= 1


def test_radius_acts(rng: np.random.Generator) -> None:
    image, mask = _textured(rng)
    small = METHODS.get("telea")(radius=1).inpaint_image(image, mask)
    large = METHODS.get("telea")(radius=15).inpaint_image(image, mask)
    assert not np.array_equal(small[mask == 1], large[mask == 1])


@pytest.mark.parametrize("name", ["telea", "navier-stokes"])
@pytest.mark.parametrize("radius", [0, -2, 101])
def test_bad_radius_raises(name: str, radius: int) -> None:
    with pytest.raises(ProtocolError, match=r"x\.yaml: method\.radius: Expected"):
        build_component(METHODS.get(name), {"radius": radius}, "x.yaml: method")


def test_bad_param_type_and_name() -> None:
    with pytest.raises(ProtocolError, match="radius"):
        build_component(METHODS.get("telea"), {"radius": "3"}, "x.yaml: method")
    with pytest.raises(ProtocolError, match="per_channel"):
        build_component(METHODS.get("mean-fill"), {"per_channel": 1}, "x.yaml: method")
    with pytest.raises(ProtocolError, match="Did you mean 'radius'"):
        build_component(METHODS.get("telea"), {"raduis": 3}, "x.yaml: method")
    assert build_component(METHODS.get("telea"), {"radius": 5}, "x.yaml: method").radius == 5


@pytest.mark.parametrize(
    ("occluded_shape", "mask_shape"),
    [((2, 1, H, W), (2, 1, H, W)), ((3, H, W), (1, H, W)), ((2, 3, H, W), (2, 3, H, W)),
     ((2, 3, H, W), (1, 1, H, W)), ((2, 3, H, W), (2, 1, H, W + 1))],
)
@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise(name: str, occluded_shape: tuple[int, ...], mask_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="Expected"):
        METHODS.get(name)().predict(torch.zeros(occluded_shape), torch.zeros(mask_shape))


@pytest.mark.parametrize("name", NAMES)
def test_inpaint_image_checks_arrays(name: str) -> None:
    method = METHODS.get(name)()
    with pytest.raises(ValueError, match="Expected image"):
        method.inpaint_image(np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match="Expected mask"):
        method.inpaint_image(np.zeros((H, W, 3), np.uint8), np.zeros((H, W + 1), np.uint8))

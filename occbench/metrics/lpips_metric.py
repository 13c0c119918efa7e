"""LPIPS per image and per region, on the ``lpips`` package, without downloading anything.

``lpips.LPIPS(net=..., spatial=True, pretrained=True, pnet_rand=True)`` builds the architecture and loads the
calibrated linear heads shipped inside the lpips wheel (``lpips/weights/v0.1/<net>.pth``); the ImageNet trunk
(torchvision's ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``) is found with
:func:`occbench.weights.find_weights` and loaded into ``model.net``. lpips keeps torchvision's layer indices
inside its slices (``features.3`` → ``slice2.3``), so the keys map by index.

Score: the spatial LPIPS map (inputs in ``[0, 1]`` scaled to ``[-1, 1]``; every layer's distance upsampled
bilinearly to the image size and summed) is computed once per batch and averaged over each region's weight map
(NaN for an empty region); ``zero_outside`` is one extra forward on ``pred * mask`` vs ``target * mask``,
averaged over the whole image. Unitless distance, lower is better. The whole-image value is the mean of the
spatial map, which equals lpips' non-spatial score up to bilinear-upsampling edge effects (~1e-4 relative).
:class:`LPIPSMetric` is the back end the ``lpips`` record names.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from occbench.compat import ensure_torchvision_importable
from occbench.fingerprint import sha256_file

ensure_torchvision_importable()

import lpips  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from occbench.metrics.base import MetricBackend, MetricSettings, Values  # noqa: E402
from occbench.metrics.regions import REGIONS, binarize, check_map, check_regions, region_means, region_weights  # noqa: E402,I001
from occbench.weights import KNOWN, MissingWeightsError, find_weights, load_state_dict, verify_weights  # noqa: E402

_NETS = {"alex": ("alex", "alexnet"), "alexnet": ("alex", "alexnet"), "vgg": ("vgg", "vgg16"),
         "vgg16": ("vgg", "vgg16")}


def _trunk_state(model_net: torch.nn.Module, path: Path) -> dict[str, Tensor]:
    """Map torchvision's ``features.N.*`` keys in ``path`` onto lpips' ``sliceK.N.*`` keys of ``model_net``."""
    source = load_state_dict(path)
    state = {}
    for key in model_net.state_dict():
        _, index, param = key.split(".")  # "slice2.3.weight"
        src = f"features.{index}.{param}"
        if src not in source:
            raise MissingWeightsError(f"{path}: expected key {src!r} (torchvision layout) for lpips' {key}, but the "
                                      f"file has {sorted(source)[:6]}...")
        state[key] = source[src]
    return state


class LPIPSScorer:
    """Region-aware LPIPS (v0.1) with an AlexNet (``net="alex"``, default) or VGG16 (``net="vgg"``) trunk.

    ``weights_dir``: extra folder searched first for the trunk file (then ``$OCCBENCH_WEIGHTS``, then the
    torch hub cache). A missing trunk file raises :class:`~occbench.weights.MissingWeightsError` unless
    ``allow_random_trunk=True``: the trunk then stays randomly initialised (seeded, values are NOT comparable
    to published LPIPS) and :attr:`random_trunk` is True — results must record it.
    """

    def __init__(self, net: str = "alex", weights_dir: str | Path | None = None, allow_random_trunk: bool = False,
                 device: str | torch.device = "cpu") -> None:
        if net not in _NETS:
            raise ValueError(f"Expected `net` in {sorted(_NETS)}, but got {net!r}")
        self.net, self.weights_key = _NETS[net]
        try:
            self.trunk_path: Path | None = find_weights(self.weights_key, weights_dir, "--allow-random-lpips")
        except MissingWeightsError:
            if not allow_random_trunk:
                raise
            self.trunk_path = None
        with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" from inside lpips
            warnings.simplefilter("ignore", UserWarning)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # a random trunk is at least reproducible
                self.model = lpips.LPIPS(net=self.net, spatial=True, pretrained=True, pnet_rand=True, verbose=False)
        if self.trunk_path is not None:
            self.model.net.load_state_dict(_trunk_state(self.model.net, self.trunk_path), strict=True)
        self.model.eval().requires_grad_(False)
        self.device = torch.device(device)
        self.model.to(self.device)

    @property
    def random_trunk(self) -> bool:
        """True when the trunk has random weights (no ImageNet file found and ``allow_random_trunk``)."""
        return self.trunk_path is None

    @property
    def weights_used(self) -> dict[str, object]:
        """Provenance: ``{"<trunk key>": {"path", "sha256"} or "random", "lpips_<net>_lin": {"path", "sha256"}}``."""
        lin = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{self.net}.pth"
        out: dict[str, object] = {f"lpips_{self.net}_lin": {"path": str(lin), "sha256": sha256_file(lin)}}
        if self.trunk_path is None:
            out[self.weights_key] = "random"
        else:
            out[self.weights_key] = {"path": str(self.trunk_path),
                                     "sha256": verify_weights(self.trunk_path, KNOWN[self.weights_key])}
        return out

    @torch.no_grad()
    def spatial_map(self, pred: Tensor, target: Tensor) -> Tensor:
        """LPIPS map ``(B, 1, H, W)`` for images in ``[0, 1]`` (one forward of both images)."""
        pred, target = pred.to(self.device, torch.float32), target.to(self.device, torch.float32)
        return self.model(pred * 2 - 1, target * 2 - 1)

    @torch.no_grad()
    def score(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None = None, *,
              regions: Sequence[str] = REGIONS, boundary_px: int = 8,
              weights: Mapping[str, Tensor] | None = None) -> dict[tuple[str, str], Tensor]:
        """Per-image LPIPS per region: ``{("lpips", region): Tensor (B,) float64}`` (on the CPU).

        ``pred``/``target`` ``(B, 3, H, W)`` in ``[0, 1]``; ``mask`` 1 = hole; ``fg`` 1 = foreground or None
        (``fg``/``hole_fg`` omitted). One forward for all weight-map regions, one more for ``zero_outside``.
        ``weights``: this batch's precomputed :func:`region_weights` (computed here when None).
        """
        check_map("pred", pred, channels=3)
        if target.shape != pred.shape:
            raise ValueError(f"Expected `target` of shape {tuple(pred.shape)}, but got {tuple(target.shape)}")
        check_map("mask", mask, like=pred)
        regions = check_regions(regions)
        if weights is None:
            weights = region_weights(mask.to(self.device), None if fg is None else fg.to(self.device),
                                     regions=regions, boundary_px=boundary_px)
        else:
            weights = {r: w.to(self.device) for r, w in weights.items() if r in regions}
        means: dict[tuple[str, str], Tensor] = {}
        if weights:
            means.update(region_means({"lpips": self.spatial_map(pred, target)}, weights))
        if "zero_outside" in regions:
            m = binarize(mask).to(self.device)
            zero_map = self.spatial_map(pred.to(self.device) * m, target.to(self.device) * m)
            means[("lpips", "zero_outside")] = zero_map.flatten(1).to(torch.float64).mean(1)
        return {("lpips", r): means[("lpips", r)].cpu() for r in regions if ("lpips", r) in means}


class LPIPSMetric(MetricBackend):
    """Back end of ``lpips``: an :class:`LPIPSScorer` built from the settings (``lpips_net``, ``weights_dir``,
    ``allow_random_lpips``, ``device``); a random trunk is recorded in :attr:`random_weights` and warned about."""

    def __init__(self, metrics: Sequence[str], settings: MetricSettings) -> None:
        super().__init__(metrics, settings)
        self.scorer = LPIPSScorer(net=settings.lpips_net, weights_dir=settings.weights_dir,
                                  allow_random_trunk=settings.allow_random_lpips, device=settings.device)
        self.weights_used = {"lpips": self.scorer.weights_used}
        if self.scorer.random_trunk:
            self.random_weights.append(f"lpips ({settings.lpips_net} trunk)")
            self.warnings.append("LPIPS uses a RANDOM trunk (--allow-random-lpips): values are not LPIPS")

    def per_image(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str],
                  weights: Mapping[str, Tensor], prepared: list | None) -> Values:
        return self.scorer.score(pred, target, mask, fg, regions=regions, weights=weights)

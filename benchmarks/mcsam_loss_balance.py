"""M-CSAM's loss-term balance under ``value_range: official`` ([-1, 1], raw VGG16) and ``imagenet`` ([0, 1],
ImageNet-normalised VGG16), measured on real faces with realistic imperfect inpaintings.

Inputs: the first ``--images`` aligned CelebA-HQ faces of ``<assets>/celeba_hq_faces_sean`` (area-resized to
``--size``), holes from occbench's PConv-style ``IrregularMask`` (one per image, bins 1-10 % … 50-60 % in turn,
seeded), filled by occbench's classical ``telea`` baseline: the "prediction" is that fill. Losses: the recipe's own
(``MCSAMRecipe`` built from ``config.yaml`` with ``--set value_range=…``, as ``occbench train`` builds it), on the
composite (``supervision: local``): weighted terms λr·L1, λp·perceptual, λs·style (adversarial left out: it
needs trained discriminators). Each term is the mean over the images (batches of equal size).

VGG16: torchvision's ImageNet file if found (``--vgg-weights FILE``, or ``vgg16-397923af.pth`` where occbench
looks: ``--weights-dir``, ``$OCCBENCH_WEIGHTS``, the torch hub cache). Without it the script measures a PROXY:
the same architecture and layers with random weights, one network per seed (``--init torchvision``: the init
``torchvision.models.vgg16(weights=None)`` applies to its convs, Kaiming-normal fan-out with zero biases;
``--init conv-default``: PyTorch's ``nn.Conv2d`` default, Kaiming-uniform with uniform biases). A random network's
activations are not ImageNet features: only the ratio between the two conventions is meaningful, not the absolute
values (nor the terms' shares of the sum, which the table shows only with the real weights).

The ratio reported per term is ``(term / L1 under imagenet) ÷ (term / L1 under official)``: how much more the
term weighs against L1 under ``imagenet`` than under ``official`` (L1 itself halves: [-1, 1] = 2·[0, 1] - 1).

    python benchmarks/mcsam_loss_balance.py --assets /work/shared/assets
    python benchmarks/mcsam_loss_balance.py --vgg-weights ~/vgg16-397923af.pth      # the real figure
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import cv2  # noqa: E402
import torch  # noqa: E402
from occbench.baselines.classical.methods import TeleaInpaint  # noqa: E402
from occbench.baselines.engine.recipe import TrainSettings  # noqa: E402
from occbench.baselines.engine.trainer import load_config, recipe_class  # noqa: E402
from occbench.baselines.layers import VGGFeatures  # noqa: E402
from occbench.baselines.mcsam.losses import composite, generator_loss  # noqa: E402
from torch import nn  # noqa: E402

from occbench.masks.irregular import IrregularMask  # noqa: E402
from occbench.weights import MissingWeightsError, find_weights, load_state_dict  # noqa: E402

SHARED_ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
FACES_FOLDER = "celeba_hq_faces_sean"
VALUE_RANGES = ("official", "imagenet")
TERMS = ("l1", "perceptual", "style")  # generator_loss part names; weighted by λr, λp, λs
TERM_LABELS = {"l1": "λr·L1", "perceptual": "λp·perceptual", "style": "λs·style"}
MASK_SEED = 2024  # masks are the same for every VGG seed and both value ranges
INITS = ("torchvision", "conv-default")


@dataclass
class Balance:
    """Weighted terms per VGG network (one per seed, or the real one) and value range, and the ratios."""

    vgg: str  # "random (torchvision init)", "ImageNet (<path>)", ...
    seeds: list[int | None]
    terms: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # value_range -> per seed {term: value}

    def ratios(self, term: str) -> list[float]:
        """Per seed: (term/L1 under imagenet) ÷ (term/L1 under official)."""
        return [(img[term] / img["l1"]) / (off[term] / off["l1"])
                for off, img in zip(self.terms["official"], self.terms["imagenet"], strict=True)]


# --- inputs ---------------------------------------------------------------------------------------------------

def load_faces(assets: Path, count: int, size: int) -> np.ndarray:
    """``count`` RGB uint8 faces ``(N, size, size, 3)``, area-resized; exits with a message if missing."""
    folder = assets / FACES_FOLDER
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if len(files) < count:
        raise SystemExit(f"mcsam_loss_balance: needs {count} CelebA-HQ faces in {folder} but found {len(files)}; "
                         "pass --assets DIR (the shared assets folder, see its SOURCES.md) or lower --images")
    faces = []
    for path in files[:count]:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        faces.append(cv2.resize(bgr[..., ::-1], (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(faces)


def telea_inpaintings(faces: np.ndarray, seed: int = MASK_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Hole masks ``(N, H, W)`` uint8 (1 = hole; PConv bin ``i % 6`` for image ``i``) and the Telea fills."""
    telea, masks, fills = TeleaInpaint(), [], []
    for i, face in enumerate(faces):
        generator = IrregularMask(bin_index=i % 6)
        sample = generator.generate(face, None, np.random.default_rng([seed, i]))
        masks.append(sample.mask)
        fills.append(telea.inpaint_image(sample.occluded, sample.mask))
    return np.stack(masks), np.stack(fills)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` → float ``(N, 3, H, W)`` in [0, 1]; ``(N, H, W)`` masks → ``(N, 1, H, W)``."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float()
    return t[:, None] if t.ndim == 3 else t.permute(0, 3, 1, 2).div(255)


# --- networks -------------------------------------------------------------------------------------------------

def build_recipes(weights_dir: str | None) -> dict[str, object]:
    """One ``MCSAMRecipe`` per value range, built from config.yaml with ``--set value_range=…``."""
    cls = recipe_class("mcsam")
    recipes = {}
    for value_range in VALUE_RANGES:
        config, _ = load_config("mcsam", cls, {"value_range": value_range})
        recipe = cls()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*RANDOM weights.*")
            recipe.build(TrainSettings(config=config, device=torch.device("cpu"), allow_random_backbones=True,
                                       weights_dir=weights_dir, extras={"steps_per_epoch": 1}))
        if recipe.supervision != "local":
            raise SystemExit(f"mcsam config: expected supervision: local, got {recipe.supervision!r}")
        recipes[value_range] = recipe
    return recipes


def _load_trunk(vgg: VGGFeatures, state: dict[str, torch.Tensor]) -> VGGFeatures:
    """Load a ``features.*`` (or bare ``N.weight``) VGG16 state into ``vgg``'s truncated trunk."""
    state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    kept = {k: v for k, v in state.items() if int(k.split(".")[0]) < len(vgg.features)}
    vgg.features.load_state_dict(kept)
    return vgg


def _empty_vgg(layers: tuple[str, ...]) -> VGGFeatures:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*RANDOM weights.*")
        return VGGFeatures("vgg16", layers, weights_dir=None, allow_random=True)


def random_vgg(layers: tuple[str, ...], seed: int, init: str = "torchvision") -> VGGFeatures:
    """VGG16 trunk with random weights drawn from ``seed`` (see the module docstring for ``init``)."""
    from torchvision.models.vgg import cfgs, make_layers

    if init not in INITS:
        raise ValueError(f"init: Expected one of {INITS}, but got {init!r}")
    torch.manual_seed(seed)
    trunk = make_layers(cfgs["D"])  # nn.Conv2d's default init ("conv-default")
    if init == "torchvision":  # what torchvision's VGG.__init__ does to every conv (the classifier is not needed)
        for module in trunk.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(module.bias, 0)
    return _load_trunk(_empty_vgg(layers), trunk.state_dict())


def imagenet_vgg(layers: tuple[str, ...], path: Path | None,
                 weights_dir: str | None) -> tuple[VGGFeatures, Path] | None:
    """The ImageNet VGG16 from ``path``, or from occbench's standard search folders; None when absent."""
    if path is None:
        try:
            path = find_weights("vgg16", weights_dir)
        except MissingWeightsError:
            return None
    return _load_trunk(_empty_vgg(layers), load_state_dict(Path(path))), Path(path)


# --- measurement ----------------------------------------------------------------------------------------------

@torch.no_grad()
def weighted_terms(recipe, target: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor,
                   batch_size: int) -> dict[str, float]:
    """λr·L1, λp·perceptual, λs·style of ``recipe`` (its value range), mean over the images, on the composite."""
    weights = {"l1": recipe.losses.reconstruction, "perceptual": recipe.losses.perceptual,
               "style": recipe.losses.style}
    sums = dict.fromkeys(TERMS, 0.0)
    no_logits = (torch.zeros(1), torch.zeros(1))  # adversarial term unused here
    for start in range(0, target.shape[0], batch_size):
        t, m, f = (x[start:start + batch_size] for x in (target, mask, fill))
        occluded = t * (1 - m)
        comp = recipe.loss_space(composite(f, occluded, m))  # supervision: local
        real = recipe.loss_space(t)
        parts = generator_loss(comp, real, recipe.features(comp), recipe.features(real), no_logits, no_logits,
                               recipe.losses)
        for term in TERMS:
            sums[term] += weights[term] * float(parts[term]) * t.shape[0]
    return {term: value / target.shape[0] for term, value in sums.items()}


def measure(faces: np.ndarray, seeds: list[int], init: str = "torchvision", vgg_weights: Path | None = None,
            weights_dir: str | None = None, batch_size: int = 4, log=print) -> Balance:
    """Weighted terms under both value ranges, per VGG (real one if found, else one random net per seed)."""
    start = time.perf_counter()
    masks, fills = telea_inpaintings(faces)
    target, mask, fill = to_tensor(faces), to_tensor(masks), to_tensor(fills)
    log(f"  {len(faces)} holes (mean hole ratio {masks.mean():.3f}) filled by telea "
        f"({time.perf_counter() - start:.1f} s)")
    recipes = build_recipes(weights_dir)
    layers = recipes["official"].losses.vgg_layers()
    real = imagenet_vgg(layers, vgg_weights, weights_dir)
    if real is not None:
        nets, balance = iter([(None, real[0])]), Balance(f"weights file {real[1]}", [None])
    else:
        nets = ((seed, random_vgg(layers, seed, init)) for seed in seeds)  # one network in memory at a time
        balance = Balance(f"PROXY: random VGG16 ({init} init), {len(seeds)} seeds", list(seeds))
    log(f"  VGG16: {balance.vgg}")
    for value_range in VALUE_RANGES:
        balance.terms[value_range] = []
    for seed, vgg in nets:
        tick = time.perf_counter()
        for value_range, recipe in recipes.items():
            recipe.vgg = vgg
            balance.terms[value_range].append(weighted_terms(recipe, target, mask, fill, batch_size))
        label = "ImageNet weights" if seed is None else f"seed {seed}"
        log(f"  {label}: perceptual ratio {balance.ratios('perceptual')[-1]:.2f}, "
            f"style ratio {balance.ratios('style')[-1]:.2f} ({time.perf_counter() - tick:.1f} s)")
    return balance


def _spread(values: list[float], fmt: str) -> str:
    """``mean (min–max)``, or the single value when all are equal."""
    if min(values) == max(values):
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def table(balance: Balance) -> str:
    """Markdown table: mean weighted value per term under each range (min–max over seeds), the imagenet ÷
    official ratio of term/L1, and (real VGG weights only) each term's share of the three terms' sum."""
    shares_shown = balance.seeds == [None]
    lines = ["| term | official | imagenet | (term/L1)_imagenet ÷ (term/L1)_official |"
             + (" share official → imagenet |" if shares_shown else ""),
             "|---|---|---|---|" + ("---|" if shares_shown else "")]
    totals = {vr: [sum(seed.values()) for seed in balance.terms[vr]] for vr in VALUE_RANGES}
    for term in TERMS:
        values = {vr: [seed[term] for seed in balance.terms[vr]] for vr in VALUE_RANGES}
        shares = {vr: statistics.mean(v / t for v, t in zip(values[vr], totals[vr], strict=True))
                  for vr in VALUE_RANGES}
        ratio = "1 (by definition)" if term == "l1" else _spread(balance.ratios(term), ".2f")
        lines.append(f"| {TERM_LABELS[term]} | {_spread(values['official'], '.4g')} | "
                     f"{_spread(values['imagenet'], '.4g')} | {ratio} |"
                     + (f" {shares['official']:.1%} → {shares['imagenet']:.1%} |" if shares_shown else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Balance:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, default=SHARED_ASSETS,
                        help="shared assets folder (default: %(default)s)")
    parser.add_argument("--images", type=int, default=16, help="number of faces (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="resolution in pixels (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="random-VGG seeds (proxy)")
    parser.add_argument("--init", choices=INITS, default="torchvision", help="random-VGG init (proxy)")
    parser.add_argument("--vgg-weights", type=Path, help="torchvision vgg16-397923af.pth (or a state dict like it)")
    parser.add_argument("--weights-dir", help="folder searched for vgg16-397923af.pth (occbench's standard search)")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args(argv)
    if args.vgg_weights is not None and not args.vgg_weights.is_file():
        raise SystemExit(f"--vgg-weights: no file {args.vgg_weights}")
    start = time.perf_counter()
    print(f"loading {args.images} faces from {args.assets / FACES_FOLDER} at {args.size} px", flush=True)
    faces = load_faces(args.assets, args.images, args.size)
    balance = measure(faces, args.seeds, args.init, args.vgg_weights, args.weights_dir, args.batch_size,
                      log=lambda msg: print(msg, flush=True))
    print(f"\nM-CSAM weighted loss terms on {args.images} CelebA-HQ faces at {args.size} px, telea fills of "
          f"irregular holes, composite (supervision: local); VGG16: {balance.vgg}")
    if balance.seeds != [None]:
        print("PROXY: random-init activations (same architecture and layers); the ratio between the two "
              "conventions is what is measured, not absolute values.")
    print(table(balance))
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return balance


if __name__ == "__main__":
    main(sys.argv[1:])

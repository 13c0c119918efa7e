"""Speed of occbench's region metrics against the naive way, with the same images and definitions, in one run.

occbench (:func:`occbench.metrics.pixel.pixel_scores`) computes each per-pixel map once per batch and reduces it
over every region's weight map. The naive way calls torchmetrics functionals once per metric per region: PSNR,
MSE and MAE on the pixels each region selects (one call per image), the SSIM map recomputed for every region
and averaged over its pixels, MS-SSIM and all ``zero_outside`` scores on masked images. LPIPS (optional): one
forward for all weight-map regions + one for ``zero_outside`` against one forward per region. Target: >= 2.5x
faster, values equal within 1e-4.

    python benchmarks/metric_speed.py              # real faces + labels + NVIDIA masks from ../shared if present
    python benchmarks/metric_speed.py --no-lpips --size 256 --batch 8 --repeats 3
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import cv2  # noqa: E402
import torch  # noqa: E402
import torchmetrics.functional.image as tmf  # noqa: E402
from torchmetrics.functional.regression import mean_absolute_error, mean_squared_error  # noqa: E402

from occbench.metrics.pixel import MS_SSIM_MIN_SIZE, PIXEL_METRICS, metric_region_pairs, pixel_scores  # noqa: E402
from occbench.metrics.regions import REGIONS, region_weights, zero_outside  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "assets"
MASK_IDS = ("00500", "02500", "04500", "06500", "08500", "10500", "01510", "05510")


def load_images(size: int, batch: int) -> tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]:
    """target (B, 3, S, S), fg and mask (B, 1, S, S): CelebAMask-HQ samples (and their mirror images) with their
    parsing labels (fg = classes 1-13) and NVIDIA irregular masks; random images and masks without ../shared."""
    samples, masks_dir = SHARED / "celebamask_hq_samples", SHARED / "nvidia_irregular_masks"
    if samples.is_dir() and masks_dir.is_dir():
        targets, fgs, holes = [], [], []
        for i in range(batch):
            bgr = cv2.imread(str(samples / "images" / f"{i % 4}.jpg"), cv2.IMREAD_COLOR)
            label = cv2.imread(str(samples / "labels" / f"{i % 4}.png"), cv2.IMREAD_GRAYSCALE)
            rgb = cv2.resize(bgr[..., ::-1], (size, size), interpolation=cv2.INTER_AREA)
            label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
            if (i // 4) % 2:
                rgb, label = rgb[:, ::-1], label[:, ::-1]
            hole = cv2.imread(str(masks_dir / f"{MASK_IDS[i % len(MASK_IDS)]}.png"), cv2.IMREAD_GRAYSCALE)
            targets.append(rgb.astype(np.float32) / 255)
            fgs.append(((label >= 1) & (label <= 13)).astype(np.float32))
            holes.append((cv2.resize(hole, (size, size), interpolation=cv2.INTER_NEAREST) > 127).astype(np.float32))
        target = torch.from_numpy(np.stack(targets)).permute(0, 3, 1, 2).contiguous()
        fg, mask = torch.from_numpy(np.stack(fgs))[:, None], torch.from_numpy(np.stack(holes))[:, None]
        return "CelebAMask-HQ samples + labels, NVIDIA irregular masks", target, mask, fg
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(batch, 3, size, size, generator=gen)
    mask = (torch.rand(batch, 1, size // 16, size // 16, generator=gen) > 0.7).float()
    mask = torch.nn.functional.interpolate(mask, size=(size, size), mode="nearest")
    fg = torch.zeros(batch, 1, size, size)
    fg[..., size // 8: -size // 8, size // 8: -size // 8] = 1
    return "random images (../shared not found)", target, mask, fg


def degrade(target: torch.Tensor) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    blurred = torch.from_numpy(np.stack([cv2.GaussianBlur(x, (5, 5), 1.2) for x in target.permute(0, 2, 3, 1).numpy()]))
    return (blurred.permute(0, 3, 1, 2) + 0.03 * torch.randn(target.shape, generator=gen)).clamp(0, 1).contiguous()


def naive_pixel_scores(pred, target, mask, fg, boundary_px: int = 8) -> dict[tuple[str, str], torch.Tensor]:
    """The same definitions as pixel_scores, computed the straightforward way (see the module docstring)."""
    out: dict[tuple[str, str], torch.Tensor] = {}
    nan = torch.full((pred.shape[0],), float("nan"), dtype=torch.float64)

    def whole_image(p, t, region):
        out[("psnr", region)] = tmf.peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
        out[("ssim", region)] = tmf.structural_similarity_index_measure(p, t, data_range=1.0, reduction="none")
        big = min(p.shape[-2:]) >= MS_SSIM_MIN_SIZE
        out[("ms_ssim", region)] = tmf.multiscale_structural_similarity_index_measure(
            p, t, data_range=1.0, reduction="none") if big else nan
        mse = torch.stack([mean_squared_error(a, b) for a, b in zip(p, t)])
        mae = torch.stack([mean_absolute_error(a, b) for a, b in zip(p, t)])
        out[("mse", region)], out[("rmse", region)] = mse * 255**2, mse.sqrt() * 255
        out[("mae", region)], out[("l1", region)] = mae * 255, mae

    whole_image(pred, target, "whole")
    whole_image(zero_outside(pred, mask), zero_outside(target, mask), "zero_outside")
    for region, w in region_weights(mask, fg, regions=("hole", "fg", "hole_fg", "boundary"),
                                    boundary_px=boundary_px).items():
        _, ssim_map = tmf.structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none",
                                                              return_full_image=True)
        scores = {name: [] for name in ("psnr", "ssim", "mse", "mae")}
        for i in range(pred.shape[0]):
            keep = w[i, 0] > 0
            if not keep.any():
                for values in scores.values():
                    values.append(torch.tensor(float("nan")))
                continue
            p, t = pred[i][:, keep], target[i][:, keep]
            scores["psnr"].append(tmf.peak_signal_noise_ratio(p, t, data_range=1.0))
            scores["ssim"].append(ssim_map[i].mean(0)[keep].mean())
            scores["mse"].append(mean_squared_error(p, t))
            scores["mae"].append(mean_absolute_error(p, t))
        mse, mae = torch.stack(scores["mse"]), torch.stack(scores["mae"])
        out[("psnr", region)], out[("ssim", region)] = torch.stack(scores["psnr"]), torch.stack(scores["ssim"])
        out[("mse", region)], out[("rmse", region)] = mse * 255**2, mse.sqrt() * 255
        out[("mae", region)], out[("l1", region)] = mae * 255, mae
    return {key: value.double() for key, value in out.items()}


def naive_lpips(scorer, pred, target, mask, fg, boundary_px: int = 8) -> dict[tuple[str, str], torch.Tensor]:
    """One LPIPS forward per region (the map recomputed each time), masked images for zero_outside."""
    out = {}
    for region, w in region_weights(mask, fg, boundary_px=boundary_px).items():
        lp = scorer.spatial_map(pred, target).double()
        w = w.double()
        count = w.flatten(1).sum(1)
        out[("lpips", region)] = torch.where(count > 0, (lp * w).flatten(1).sum(1) / count, torch.nan)
    lp = scorer.spatial_map(zero_outside(pred, mask), zero_outside(target, mask))
    out[("lpips", "zero_outside")] = lp.flatten(1).double().mean(1)
    return out


def timed(fn, repeats: int):
    fn()  # warm-up
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def max_difference(fast: dict, naive: dict) -> tuple[float, str]:
    worst, where = 0.0, "-"
    assert set(fast) == set(naive), sorted(set(fast) ^ set(naive))
    for key, a in fast.items():
        b = naive[key]
        assert torch.equal(torch.isnan(a), torch.isnan(b)), f"NaN pattern differs for {key}"
        ok = ~torch.isnan(a)
        if ok.any():
            diff = (a[ok] - b[ok]).abs().max().item()
            if diff > worst:
                worst, where = diff, f"{key[0]}/{key[1]}"
    return worst, where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-lpips", action="store_true")
    args = parser.parse_args()

    source, target, mask, fg = load_images(args.size, args.batch)
    pred = degrade(target)
    n = args.batch
    print(f"images: {source}; batch {n} at {args.size} px, torch threads {torch.get_num_threads()}")
    print(f"pixel metrics {', '.join(PIXEL_METRICS)} x regions {', '.join(REGIONS)} "
          f"({len(metric_region_pairs(PIXEL_METRICS, REGIONS))} scores per image)")
    rows = []
    t_fast, fast = timed(lambda: pixel_scores(pred, target, mask, fg), args.repeats)
    t_naive, naive = timed(lambda: naive_pixel_scores(pred, target, mask, fg), args.repeats)
    rows.append(("pixel suite", t_fast, t_naive, *max_difference(fast, naive)))
    if not args.no_lpips:
        from occbench.metrics.lpips_metric import LPIPSScorer

        scorer = LPIPSScorer("alex", allow_random_trunk=True)
        trunk = "RANDOM AlexNet trunk (no ImageNet weights found; timing only)" if scorer.random_trunk else \
            f"AlexNet trunk {scorer.trunk_path}"
        print(f"lpips: {trunk}")
        lt_fast, lfast = timed(lambda: scorer.score(pred, target, mask, fg), args.repeats)
        lt_naive, lnaive = timed(lambda: naive_lpips(scorer, pred, target, mask, fg), args.repeats)
        rows.append(("lpips", lt_fast, lt_naive, *max_difference(lfast, lnaive)))
        rows.append(("pixel + lpips", t_fast + lt_fast, t_naive + lt_naive,
                     *max(rows[0][3:], rows[1][3:], key=lambda r: r[0])))
    print(f"{'':14s} {'occbench img/s':>15s} {'naive img/s':>12s} {'speed-up':>9s}  max |diff| (where)")
    for name, tf, tn, diff, where in rows:
        print(f"{name:14s} {n / tf:15.1f} {n / tn:12.1f} {tn / tf:8.2f}x  {diff:.2e} ({where})")


if __name__ == "__main__":
    main()

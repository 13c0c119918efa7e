"""Losses shared by the baselines. Images are in [0, 1]; feature dicts come from :class:`VGGFeatures`.

Adversarial losses take raw discriminator scores (logits) and return scalars to *minimise*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def perceptual_loss(feats_a: Mapping[str, torch.Tensor], feats_b: Mapping[str, torch.Tensor],
                    layers: Sequence[str], kind: str = "l1") -> torch.Tensor:
    """``Σ_layers mean(|a - b|)`` (``l1``) or ``Σ_layers mean((a - b)²)`` (``l2``): each layer's distance is
    normalised by its ``B·C·H·W`` elements."""
    if kind not in ("l1", "l2"):
        raise ValueError(f"Expected kind 'l1' or 'l2', but got {kind!r}")
    total = feats_a[layers[0]].new_zeros((), dtype=torch.float32)
    for name in layers:
        diff = feats_a[name].float() - feats_b[name].float()
        total = total + (diff.abs().mean() if kind == "l1" else diff.square().mean())
    return total


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, C)`` Gram matrix of ``(B, C, H, W)`` features normalised by ``C·H·W`` (float32, also under autocast)."""
    b, c, h, w = x.shape
    with torch.autocast(x.device.type, enabled=False):
        f = x.float().reshape(b, c, h * w)
        return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(feats_a: Mapping[str, torch.Tensor], feats_b: Mapping[str, torch.Tensor],
               layers: Sequence[str]) -> torch.Tensor:
    """``Σ_layers mean(|G(a) - G(b)|)`` over Gram matrices (each normalised by ``C·H·W``), i.e. the L1
    distance of the ``C×C`` Grams divided by ``C²`` as in EdgeConnect / M-CSAM Eq. 9, averaged over the batch."""
    total = feats_a[layers[0]].new_zeros((), dtype=torch.float32)
    for name in layers:
        total = total + (gram_matrix(feats_a[name]) - gram_matrix(feats_b[name])).abs().mean()
    return total


def _relative(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    real, fake = real_logits.float(), fake_logits.float()
    return real - fake.mean(), fake - real.mean()


def ralsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 0.9,
                   fake_label: float = 0.1) -> torch.Tensor:
    """Relativistic average LSGAN discriminator loss (Jolicoeur-Martineau 2018) with smoothed labels.

    With ``r = D(real) - mean D(fake)``, ``f = D(fake) - mean D(real)`` and targets ``t = 2·label - 1``
    mapped from [0, 1] labels to the ±1 targets of RaLSGAN (``t_real = 0.8``, ``t_fake = -0.8`` for 0.9/0.1):
    ``L_D = ½ mean((r - t_real)²) + ½ mean((f - t_fake)²)``. Labels 1/0 give the standard RaLSGAN.
    """
    r, f = _relative(real_logits, fake_logits)
    t_real, t_fake = 2 * real_label - 1, 2 * fake_label - 1
    return 0.5 * ((r - t_real).square().mean() + (f - t_fake).square().mean())


def ralsgan_g_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 0.9,
                   fake_label: float = 0.1) -> torch.Tensor:
    """Generator side of :func:`ralsgan_d_loss` (roles swapped):
    ``L_G = ½ mean((f - t_real)²) + ½ mean((r - t_fake)²)``."""
    r, f = _relative(real_logits, fake_logits)
    t_real, t_fake = 2 * real_label - 1, 2 * fake_label - 1
    return 0.5 * ((f - t_real).square().mean() + (r - t_fake).square().mean())


def wgan_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss to minimise: ``mean C(fake) - mean C(real)`` (i.e. maximise the Wasserstein estimate)."""
    return fake_scores.float().mean() - real_scores.float().mean()


def wgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss to minimise: ``-mean C(fake)``."""
    return -fake_scores.float().mean()


def _masked(diff: torch.Tensor, mask: torch.Tensor, normalize: str) -> torch.Tensor:
    weighted = diff * mask
    if normalize == "numel":
        return weighted.sum() / diff.numel()
    if normalize == "mask":
        return weighted.sum() / (mask.expand_as(diff).sum() + 1e-8)
    raise ValueError(f"Expected normalize 'numel' or 'mask', but got {normalize!r}")


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, normalize: str = "numel") -> torch.Tensor:
    """``Σ mask·|pred - target|`` divided by all elements (``numel``) or by the mask's weight (``mask``).
    ``mask`` ``(B, 1, H, W)`` broadcasts over channels."""
    return _masked((pred.float() - target.float()).abs(), mask.float(), normalize)


def masked_l2(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, normalize: str = "numel") -> torch.Tensor:
    """Squared-error twin of :func:`masked_l1`."""
    return _masked((pred.float() - target.float()).square(), mask.float(), normalize)


def nonsaturating_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The original GAN loss for D, ``-E[log D(x)] - E[log(1 - D(G(z)))]``, on logits (BCE)."""
    return (torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean())


def nonsaturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss ``-E[log D(G(z))]`` (Goodfellow et al. 2014), on logits."""
    return torch.nn.functional.softplus(-fake_logits).mean()


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for D (SPADE/SEAN): ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``."""
    return torch.relu(1 - real_logits).mean() + torch.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for G: ``-E[D(G(z))]``."""
    return -fake_logits.mean()


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """pix2pixHD/SPADE's discriminator feature matching: L1 between real and fake at every intermediate layer
    (the logits excluded), summed over layers and averaged over scales (SPADE's ``GAN_Feat_loss`` before
    ``lambda_feat``); ``real`` features are detached."""
    total = fake[0][0].new_zeros(())
    for real_scale, fake_scale in zip(real, fake):
        for r, f in zip(real_scale[:-1], fake_scale[:-1]):
            total = total + torch.nn.functional.l1_loss(f, r.detach())
    return total / max(len(fake), 1)

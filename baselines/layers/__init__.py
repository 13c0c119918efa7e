"""Building blocks shared by the learned baselines (gated convs, discriminators, VGG features, losses)."""

from occbench.baselines.layers.discriminators import FeaturePatchDiscriminator, PatchDiscriminator, WGANCritic
from occbench.baselines.layers.gated import GatedConv2d, GatedUpConv2d, make_activation, make_norm
from occbench.baselines.layers.losses import (
    gram_matrix,
    masked_l1,
    masked_l2,
    perceptual_loss,
    ralsgan_d_loss,
    ralsgan_g_loss,
    style_loss,
    wgan_critic_loss,
    wgan_generator_loss,
)
from occbench.baselines.layers.vgg import VGGFeatures

__all__ = [
    "FeaturePatchDiscriminator", "GatedConv2d", "GatedUpConv2d", "PatchDiscriminator", "VGGFeatures", "WGANCritic",
    "gram_matrix", "make_activation", "make_norm", "masked_l1", "masked_l2", "perceptual_loss", "ralsgan_d_loss",
    "ralsgan_g_loss", "style_loss", "wgan_critic_loss", "wgan_generator_loss",
]

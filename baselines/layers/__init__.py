"""Building blocks shared by the learned baselines, one module per concept (timm's ``layers/`` style):
``norms`` (plain and conditional: SPADE, SEAN), ``attention`` (CSA, contextual attention), ``blocks`` (residual
and conv blocks), ``fpn`` (feature pyramid encoder), ``bisenet`` (BiSeNet), ``gated`` (gated convolutions),
``discriminators`` (PatchGAN, multi-scale PatchGAN, feature-patch, WGAN critic), ``losses`` and ``vgg``."""

from occbench.baselines.layers.attention import CSAM, ContextualAttention
from occbench.baselines.layers.bisenet import BiSeNet
from occbench.baselines.layers.blocks import ResnetBlock, conv_block, deconv_block
from occbench.baselines.layers.discriminators import (
    FeaturePatchDiscriminator,
    FeaturePatchGAN,
    MultiscalePatchDiscriminator,
    PatchDiscriminator,
    WGANCritic,
)
from occbench.baselines.layers.fpn import FPNEncoder
from occbench.baselines.layers.gated import GatedConv2d, GatedUpConv2d, make_activation
from occbench.baselines.layers.losses import (
    feature_matching_loss,
    gram_matrix,
    hinge_d_loss,
    hinge_g_loss,
    masked_l1,
    masked_l2,
    nonsaturating_d_loss,
    nonsaturating_g_loss,
    perceptual_loss,
    ralsgan_d_loss,
    ralsgan_g_loss,
    style_loss,
    wgan_critic_loss,
    wgan_generator_loss,
)
from occbench.baselines.layers.norms import SEAN, SPADE, make_norm
from occbench.baselines.layers.vgg import VGGFeatures

__all__ = [
    "CSAM", "SEAN", "SPADE", "BiSeNet", "ContextualAttention", "FPNEncoder", "FeaturePatchDiscriminator",
    "FeaturePatchGAN", "GatedConv2d", "GatedUpConv2d", "MultiscalePatchDiscriminator", "PatchDiscriminator",
    "ResnetBlock", "VGGFeatures", "WGANCritic", "conv_block", "deconv_block", "feature_matching_loss",
    "gram_matrix", "hinge_d_loss", "hinge_g_loss", "make_activation", "make_norm", "masked_l1", "masked_l2",
    "nonsaturating_d_loss", "nonsaturating_g_loss", "perceptual_loss", "ralsgan_d_loss", "ralsgan_g_loss",
    "style_loss", "wgan_critic_loss", "wgan_generator_loss",
]

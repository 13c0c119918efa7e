"""M-CSAM face-mask removal (M. Yang): gated U-Net with Multi-scale Channel-Spatial Attention,
PatchGAN + feature-patch discriminators, and the U-Net face-mask segmenter (see ``README.md``)."""

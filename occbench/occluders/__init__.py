"""Occluder banks: folders of RGBA cut-outs (objects and hands) with an index, for occlusion synthesis.

A bank is built from COCO instance annotations, YOLO-seg polygon sets, EgoHands polygon files, folders
of RGBA cut-outs or image+mask pairs (:mod:`occbench.occluders.builders`, ``occbench build-occluders``)
and read with :class:`~occbench.occluders.bank.OccluderBank`. The on-disk format is described in
:mod:`occbench.occluders.bank`.
"""

from occbench.occluders.bank import BankWriter, OccluderBank, OccluderEntry, Skipped, read_rgba

__all__ = ["BankWriter", "OccluderBank", "OccluderEntry", "Skipped", "read_rgba"]

"""Producing one work unit: load → fit to resolution → occlude → write files → manifest rows.

Runs inside build workers. Every failure of a sample becomes a ``skipped`` row with its reason, so a
long build keeps going; files are written atomically before the row is returned.

Labels follow the source's label scheme (:mod:`occbench.labels`): values outside it make the sample a skip, and the
occluder value (:data:`occbench.labels.OCCLUDER_CLASS`) is allowed in ``label_occ`` of face schemes only. Generators
(whose face placement reads CelebAMask-HQ-style face labels) are given the labels of face schemes only; for other
schemes they see none, as for an unlabelled source, and write no ``label_occ``. The foreground ratios of the
manifest exist for schemes with a foreground.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from occbench.bins import hole_ratio
from occbench.dataset.layout import DatasetLayout
from occbench.dataset.plan import WorkUnit, sample_id
from occbench.errors import OccbenchError, SampleError, TransientError, is_transient
from occbench.generator import GeneratedSample, Generator
from occbench.image_io import write_png
from occbench.labels import OCCLUDER_CLASS, LabelScheme, get_scheme
from occbench.protocol import Protocol
from occbench.rng import sample_rng
from occbench.sources.base import GivenOcclusion, Source


@dataclass(frozen=True)
class SampleContext:
    """What a worker needs, built once per worker."""

    protocol: Protocol
    source: Source
    generator: Generator
    layout: DatasetLayout | None = None  # None: nothing is written (occbench preview)

    @property
    def face_detector(self):
        """The protocol's face stage (:class:`occbench.faces.detection.FaceDetector`); None when it detects none."""
        if self.protocol.faces is None:
            return None
        from occbench.faces.detection import FaceDetector  # lazy: dlib only for protocols that detect faces

        return FaceDetector(self.protocol.faces)

    @property
    def scheme(self) -> LabelScheme:
        """The label scheme of the source's labels."""
        return get_scheme(self.source.label_scheme)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _write_sample(ctx: SampleContext, sid: str, target, label, generated) -> dict[str, str]:
    layout = ctx.layout
    hashes = {
        "sha256_target": write_png(layout.file("target", sid), target),
        "sha256_occluded": write_png(layout.file("occluded", sid), generated.occluded),
        "sha256_mask": write_png(layout.file("mask", sid), (generated.mask > 0).astype(np.uint8) * 255),
    }
    if label is not None:
        hashes["sha256_label"] = write_png(layout.file("label", sid), label)
    if generated.label_occ is not None:
        hashes["sha256_label_occ"] = write_png(layout.file("label_occ", sid), generated.label_occ)
    return hashes


def _fg_ratios(label: np.ndarray | None, mask: np.ndarray,
               scheme: LabelScheme) -> tuple[float | None, float | None]:
    if label is None or scheme.foreground is None:
        return None, None
    fg = scheme.foreground_mask(label)
    hole = mask > 0
    n_hole = int(hole.sum())
    return float(fg.mean()), (float((fg & hole).sum()) / n_hole if n_hole else None)


def _status(exc: BaseException) -> tuple[str, str]:
    """``("failed", reason)`` for conditions of the machine (retried by the next run), else ``("skipped", …)``."""
    reason = str(exc) if isinstance(exc, OccbenchError) else f"{type(exc).__name__}: {exc}"
    return ("failed" if is_transient(exc) else "skipped"), reason


def _find_faces(ctx: SampleContext, loaded, name: str):
    """``(finding, fit)``: the faces of the full-resolution source (None when the protocol needs none for this
    sample) and the geometry that fits the source to the target (around the face with ``crop: face``)."""
    from occbench.dataset.preprocess import plan_fit

    protocol = ctx.protocol
    wanted = protocol.faces is not None and (protocol.preprocess.crop == "face"
                                             or ctx.generator.needs_faces(loaded.label is not None))
    try:
        finding = ctx.face_detector.find(loaded.image) if wanted else None
    except SampleError as exc:
        raise SampleError(f"{name}: {exc}") from exc
    face_box = finding.faces[0].box if finding is not None else None
    return finding, plan_fit(loaded.image.shape, protocol.resolution, protocol.preprocess, name, face_box)


def _faces_in_target(finding, fit, resolution: int) -> list:
    """The found faces in target pixels; faces whose box centre falls outside the target (cropped away) are dropped
    and counted in the record (``outside_crop``)."""
    moved = [face.mapped(*fit.point_transform()) for face in finding.faces]
    inside = [f for f in moved if 0 <= (f.box[0] + f.box[2]) / 2 < resolution and 0 <= (f.box[1] + f.box[3]) / 2 <
              resolution]
    if len(inside) < len(moved):
        finding.record["outside_crop"] = len(moved) - len(inside)
    if not inside:
        raise SampleError(f"the detected face (box {list(finding.faces[0].box)}) lies outside the crop "
                          f"{list(fit.region)} of the source")
    return inside


def _fit_given(ctx: SampleContext, item, loaded) -> GivenOcclusion:
    """The source's own occlusion fitted like the target: the occluded image resized and cropped as the target, the
    mask with nearest neighbour (docs: occbench.occlusion.given)."""
    from occbench.dataset.preprocess import fit_image, fit_label

    if loaded.given is None:
        raise SampleError(f"{item.image_path}: generator {ctx.protocol.generator_name!r} needs the occlusion "
                          f"distributed with the data, but source {ctx.protocol.source_name!r} gave none")
    protocol, paths = ctx.protocol, dict(item.paired_paths)
    occluded = fit_image(loaded.given.occluded, protocol.resolution, protocol.preprocess,
                         str(paths.get("occluded", item.image_path)))
    mask = fit_label(loaded.given.mask, loaded.image.shape, protocol.resolution, protocol.preprocess,
                     str(paths.get("mask", item.image_path)))
    if not mask.any():
        raise SampleError(f"{paths.get('mask')}: no occluded pixel is left after fitting to {protocol.resolution} px")
    return GivenOcclusion(occluded=occluded, mask=mask, params=loaded.given.params)


def unit_rows(ctx: SampleContext, unit: WorkUnit, status: str, reason: str) -> list[dict[str, str]]:
    """One progress row per variant of ``unit``, all with the same status and reason."""
    base = {"source_id": unit.item.id, "generator": ctx.protocol.generator_name, "status": status, "reason": reason}
    return [{**base, "id": sample_id(unit.item.id, v, ctx.protocol.variants), "variant": v} for v in unit.variants]


@dataclass
class PreparedItem:
    """One source item fitted to the protocol: the target, labels (``face_label``: those a face generator may read),
    the source's own occlusion (paired sources), the faces found and how they were found, and the decode notes."""

    target: np.ndarray
    label: np.ndarray | None
    face_label: np.ndarray | None
    given: GivenOcclusion | None
    faces: list | None
    finding: Any
    fit: Any
    notes: list[str]


def prepare_item(ctx: SampleContext, item) -> PreparedItem:
    """Load ``item`` and fit it to the protocol (faces first, on the full-resolution source, when the protocol
    detects faces); SampleError and friends for the whole item."""
    from occbench.dataset.preprocess import fit_image, fit_label

    protocol, scheme = ctx.protocol, ctx.scheme
    loaded = ctx.source.load(item)
    name = str(item.image_path)
    finding, fit = _find_faces(ctx, loaded, name)
    target = fit_image(loaded.image, protocol.resolution, protocol.preprocess, name, fit, loaded.notes)
    label = loaded.label
    if label is not None:
        label_name = str(item.label_path or item.image_path)
        scheme.check(label, label_name)
        label = fit_label(label, loaded.image.shape, protocol.resolution, protocol.preprocess, label_name, fit)
    elif ctx.source.provides_labels():
        raise SampleError(f"{item.image_path}: source promises labels but none were loaded")
    face_label = label if scheme.foreground is not None else None
    given = _fit_given(ctx, item, loaded) if ctx.generator.uses_given else None
    faces = None if finding is None else _faces_in_target(finding, fit, protocol.resolution)
    return PreparedItem(target, label, face_label, given, faces, finding, fit, loaded.notes)


def generate_sample(ctx: SampleContext, prepared: PreparedItem, sid: str) -> GeneratedSample:
    """The occluded sample ``sid`` of a prepared item (rng from the protocol seed and ``sid``), with the face record
    in its params and its ``label_occ`` checked."""
    protocol = ctx.protocol
    rng = sample_rng(protocol.seed, sid)
    if prepared.given is not None:
        generated = ctx.generator.from_given(prepared.given)
    elif ctx.generator.uses_faces:
        generated = ctx.generator.generate(prepared.target, prepared.face_label, rng, faces=prepared.faces)
    else:
        generated = ctx.generator.generate(prepared.target, prepared.face_label, rng)
    if prepared.finding is not None:
        generated.params = {**(generated.params or {}),
                            "faces": {**prepared.finding.record, "crop": prepared.fit.describe()}}
    if generated.label_occ is not None:
        ctx.scheme.check(generated.label_occ, f"{sid}: label_occ from {protocol.generator_name}",
                         extra=(OCCLUDER_CLASS,))
    return generated


def produce_unit(ctx: SampleContext, unit: WorkUnit) -> list[dict[str, str]]:
    """Produce every variant of one item; returns one progress row per sample.

    Status ``ok``, ``skipped`` (the data cannot give this sample: the reason names the file) or ``failed`` (a
    condition of the machine such as a full disk: not recorded as a skip, the next run retries it).
    """
    protocol = ctx.protocol
    base = {"source_id": unit.item.id, "generator": protocol.generator_name}
    ids = [sample_id(unit.item.id, v, protocol.variants) for v in unit.variants]
    try:
        prepared = prepare_item(ctx, unit.item)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the build goes on
        return unit_rows(ctx, unit, *_status(exc))
    rows = []
    for sid, variant in zip(ids, unit.variants):
        row = {**base, "id": sid, "variant": variant}
        try:
            generated = generate_sample(ctx, prepared, sid)
            try:
                hashes = _write_sample(ctx, sid, prepared.target, prepared.label, generated)
            except OSError as exc:  # output trouble says nothing about the sample
                raise TransientError(f"{exc.filename or ctx.layout.root}: cannot write "
                                     f"({exc.strerror or exc})") from exc
            fg, hole_fg = _fg_ratios(prepared.label, generated.mask, ctx.scheme)
            row.update(hashes, status="ok", hole_ratio=_ratio(hole_ratio(generated.mask)), fg_ratio=_ratio(fg),
                       hole_fg_ratio=_ratio(hole_fg), notes=";".join(prepared.notes),
                       params=json.dumps(generated.params or {}, sort_keys=True, default=_json_default))
        except Exception as exc:  # noqa: BLE001
            status, reason = _status(exc)
            row.update(status=status, reason=reason)
        rows.append(row)
    return rows

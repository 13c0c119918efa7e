"""``occbench preview``: one image under several protocols' generators, side by side (PNG + PDF).

Each panel is exactly what ``build-dataset`` writes for that sample: the same fitting to resolution and
the same per-sample rng ``(protocol seed, sample id)``. ``source`` replaces the protocols' own source
(e.g. the built-in ``demo`` source) so one face can be shown under every generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from occbench.dataset.plan import sample_id
from occbench.dataset.sample import SampleContext, generate_sample, prepare_item
from occbench.errors import OccbenchError
from occbench.params import build_component
from occbench.protocol import Protocol, load_protocol
from occbench.registry import SOURCES
from occbench.report.plot import save_figure


def render_sample(protocol: Protocol, *, source_name: str | None, source_dir: Path | None, item_id: str | None,
                  assets_dir: Path | None) -> tuple[np.ndarray, str]:
    """The occluded image the build would write for ``item_id`` (default: the source's first item): the build's own
    sample pipeline (:func:`occbench.dataset.sample.prepare_item` and ``generate_sample``), nothing written."""
    if source_name:
        source = build_component(SOURCES.get(source_name), {}, "--source", root=source_dir)
    else:
        source = protocol.make_source(source_dir)
    items = source.items()
    item = next((i for i in items if i.id == item_id), None) if item_id else (items[0] if items else None)
    if item is None:
        raise OccbenchError(f"source has no item {item_id!r}" if item_id else "source has no items")
    ctx = SampleContext(protocol, source, protocol.ready_generator(assets_dir))
    generated = generate_sample(ctx, prepare_item(ctx, item), sample_id(item.id, 0, protocol.variants))
    return generated.occluded, item.id


def preview(protocols: list[str], *, out: Path, source_name: str | None = None, source_dir: Path | None = None,
            item_id: str | None = None, assets_dir: Path | None = None, columns: int = 4) -> list[Path]:
    """Render one panel per protocol into a grid; returns the written PNG and PDF paths."""
    from matplotlib.figure import Figure

    panels = []
    for name in protocols:
        protocol = load_protocol(name)
        image, shown_id = render_sample(protocol, source_name=source_name, source_dir=source_dir, item_id=item_id,
                                        assets_dir=assets_dir)
        panels.append((_occlusion_name(protocol.name), image))
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(2.4 * columns, 2.7 * rows), layout="constrained")
    for index, (title, image) in enumerate(panels):
        axis = figure.add_subplot(rows, columns, index + 1)
        axis.imshow(image)
        axis.set_title(title, fontsize=10)
        axis.set_axis_off()
    figure.suptitle(f"one image ({shown_id}) under each generator", fontsize=11)
    return save_figure(figure, out)


def _occlusion_name(protocol_name: str) -> str:
    """``folder-lama-thick-256`` → ``lama-thick``, ``demo-facemask`` → ``facemask`` (<source>-<occlusion>[-<px>])."""
    parts = protocol_name.split("-")
    parts = parts[:-1] if parts[-1].isdigit() else parts
    return "-".join(parts[1:]) or protocol_name

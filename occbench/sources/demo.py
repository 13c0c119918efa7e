"""``demo``: the built-in default source: sample photographs that ship inside the scikit-image wheel."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from occbench.errors import OccbenchError
from occbench.image_io import read_image
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.folder import select_listed

DEMO_FILES: dict[str, str] = {  # skimage.data function name → file in skimage/data/
    "astronaut": "astronaut.png",
    "camera": "camera.png",  # grayscale, returned as RGB (noted)
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
    "stereo_motorcycle": "motorcycle_left.png",  # the left view of the stereo pair
}
DEMO_NAMES: tuple[str, ...] = tuple(sorted(DEMO_FILES))


def skimage_data_dir() -> Path:
    """The ``skimage/data`` folder of the installed scikit-image (located without importing skimage.data)."""
    spec = find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise OccbenchError("the demo source needs scikit-image (pip install scikit-image)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@dataclass(frozen=True)
class DemoSource(Source):
    """Photographs bundled in the scikit-image wheel: no download, ``root`` ignored (``None`` allowed).

    Files are read straight from ``skimage/data/`` (never through ``skimage.data``'s downloader), at
    native size (300x451 … 1411x1411); ``camera`` is grayscale and comes back as RGB with a note.
    Ids are the ``skimage.data`` function names: astronaut, camera, chelsea, coffee, hubble_deep_field,
    immunohistochemistry, retina, rocket, stereo_motorcycle (left view). Only ``astronaut`` is a face:
    the demo exercises the pipeline, its numbers are not a face benchmark. No labels.

    Parameters:
        names: the images to use (default: all).

    Splits: ``all``; ``list:<file>`` (names, one per line; a relative file is looked up in the cwd).
    """

    names: tuple[str, ...] = DEMO_NAMES

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [name for name in self.names if name not in DEMO_FILES]
        if unknown or not self.names:
            raise ValueError(f"names: Expected names among {', '.join(DEMO_NAMES)}, but got "
                             f"{', '.join(map(repr, unknown)) if unknown else 'none'}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"names: Expected distinct names, but got {list(self.names)}")

    def layout_hint(self) -> str:
        return "nothing: images ship with scikit-image"

    def items(self) -> list[SourceItem]:
        folder = skimage_data_dir()
        by_id = {name: SourceItem(id=name, image_path=folder / DEMO_FILES[name]) for name in self.names}
        if self.split.startswith("list:"):
            return select_listed(self.split, None, by_id, lambda entry: entry)
        return [by_id[name] for name in sorted(by_id)]

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        return SourceSample(image=read_image(item.image_path, notes), label=None, notes=notes)

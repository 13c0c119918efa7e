"""Speed of ``build-dataset`` per protocol against the I/O floor, measured in the same run.

The I/O floor is what no build can avoid: decoding each source image and encoding + writing the three
outputs (target, occluded, mask PNGs) at protocol resolution. Resizing, mask generation and
bookkeeping are the overhead. Targets (issue 2): build time ≤ 1.5× the floor for hole-mask protocols,
near-linear speed-up from 1 to 2 workers.

    python benchmarks/build_speed.py                       # shared CelebA-HQ faces if present, else demo
    python benchmarks/build_speed.py --source-dir DIR --protocols folder-center-256 folder-irregular-256
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.dataset.preprocess import fit_image
from occbench.image_io import read_image, write_png
from occbench.protocol import load_protocol
from occbench.rng import sample_rng

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "assets" / "celeba_hq_faces_sean"
DEFAULT_PROTOCOLS = ("folder-center-256", "folder-half-256", "folder-freeform-256", "folder-lama-thick-256",
                     "folder-irregular-256")


def io_floor(protocol, source_dir: Path | None, out: Path) -> tuple[float, int]:
    """Seconds to decode every source image and write the three PNGs the build writes for it.

    The arrays are the real outputs (same generator, same per-sample rng), prepared untimed, so the
    floor encodes exactly what the build encodes.
    """
    source, generator = protocol.make_source(source_dir), protocol.make_generator()
    items = source.items()
    prepared = []
    for item in items:
        target = fit_image(source.load(item).image, protocol.resolution, protocol.preprocess, item.id)
        generated = generator.generate(target, None, sample_rng(protocol.seed, item.id))
        prepared.append((item, target, generated.occluded, generated.mask * 255))
    start = time.perf_counter()
    for item, target, occluded, mask in prepared:
        read_image(item.image_path)
        write_png(out / "target" / f"{item.id}.png", target)
        write_png(out / "occluded" / f"{item.id}.png", occluded)
        write_png(out / "mask" / f"{item.id}.png", mask)
    return time.perf_counter() - start, len(items)


def build_time(protocol, source_dir: Path | None, out: Path, workers: int) -> float:
    start = time.perf_counter()
    build_dataset(BuildConfig(protocol=protocol, out=out, source_dir=source_dir, workers=workers, progress=False))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-dir", type=Path, default=SHARED_FACES if SHARED_FACES.is_dir() else None)
    parser.add_argument("--protocols", nargs="+", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = parser.parse_args()
    names = args.protocols or (DEFAULT_PROTOCOLS if args.source_dir else ("demo-center", "demo-irregular"))
    print(f"source: {args.source_dir or 'built-in demo'}")
    print(f"{'protocol':<24}{'n':>5}{'floor img/s':>13}{'1 worker img/s':>16}{'ratio':>8}{'2 workers img/s':>17}"
          f"{'speed-up':>10}")
    for name in names:
        protocol = load_protocol(name)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            floor, n = min((io_floor(protocol, args.source_dir, root / f"floor{r}") for r in range(args.repeat)),
                           key=lambda t: t[0])
            one = min(build_time(protocol, args.source_dir, root / f"w1-{r}", 1) for r in range(args.repeat))
            two = min(build_time(protocol, args.source_dir, root / f"w2-{r}", 2) for r in range(args.repeat))
        print(f"{name:<24}{n:>5}{n / floor:>13.1f}{n / one:>16.1f}{one / floor:>8.2f}{n / two:>17.1f}"
              f"{one / two:>10.2f}")


if __name__ == "__main__":
    main()

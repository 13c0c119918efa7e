"""``occbench evaluate`` in one process against ``torchrun --nproc-per-node N``, in one run: wall time and agreement.

Both score the same telea predictions (made once beforehand) with the same metrics; each run is a fresh
subprocess with the feature cache off, timed from launch to exit (interpreter start, imports and process-group
setup included: what a user waits for). The single process gets all ``--threads`` threads, each of the N
processes ``threads / N`` (torchrun's one thread per process on a machine with as many cores as processes), so
the comparison spends the same cores. Agreement: the largest difference over every aggregate and FID/KID value,
and whether scores.csv is byte-identical.

    python benchmarks/evaluate_processes.py                                    # demo-irregular, 18 images
    python benchmarks/evaluate_processes.py --protocol demo-irregular --processes 2 --weights-dir ../shared/weights
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(command: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def _values(run: Path) -> dict[tuple, float]:
    results = json.loads((run / "results.json").read_text())
    rows = [(r, r["mean"]) for r in results["aggregates"]] + [(r, r["value"]) for r in results["dataset_metrics"]]
    return {(r["metric"], r["region"], r["mode"]): v for r, v in rows if isinstance(v, float)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", default="demo-irregular", help="shipped protocol to build")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="cores to spend (default: all)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--weights-dir", type=Path, default=REPO.parent / "shared" / "weights",
                        help="folder with the FID Inception file (FID and KID are added when it is there)")
    args = parser.parse_args()
    occbench = [sys.executable, "-m", "occbench.cli"]
    metrics = ["psnr", "ssim", "mae", "l1"]
    if (args.weights_dir / "weights-inception-2015-12-05-6726825d.pth").is_file():
        metrics += ["fid", "kid"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, preds = work / "data", work / "telea"
        subprocess.run(occbench + ["build-dataset", args.protocol, "--out", str(data), "--no-progress"], check=True,
                       capture_output=True)
        subprocess.run(occbench + ["predict", "--method", "telea", "--data", str(data), "--out", str(preds),
                                   "--no-progress"], check=True, capture_output=True)
        flags = ["evaluate", "--predictions", str(preds / "pred"), "--data", str(data), "--metrics", *metrics,
                 "--batch-size", str(args.batch_size), "--weights-dir", str(args.weights_dir), "--no-feature-cache",
                 "--no-progress"]
        one = _run(occbench + flags + ["--out", str(work / "one")], args.threads)
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc-per-node={args.processes}", "-m", "occbench.cli"]
        many = _run(launcher + flags + ["--out", str(work / "many")], max(1, args.threads // args.processes))
        a, b = _values(work / "one"), _values(work / "many")
        worst = max(a, key=lambda key: abs(a[key] - b[key]))
        identical = (work / "one" / "scores.csv").read_bytes() == (work / "many" / "scores.csv").read_bytes()
        samples = json.loads((work / "one" / "results.json").read_text())["dataset"]["samples"]
    print(f"{args.protocol}: {samples} images, metrics {' '.join(metrics)}, batch {args.batch_size}, "
          f"{args.threads} cores")
    print(f"1 process ({args.threads} threads)            {one:7.1f} s")
    print(f"torchrun {args.processes} processes ({max(1, args.threads // args.processes)} thread each)  "
          f"{many:7.1f} s   speed-up {one / many:.2f}x")
    print(f"agreement: {len(a)} values, largest difference {abs(a[worst] - b[worst]):.2e} ({'/'.join(worst)}: "
          f"{a[worst]:.6f} vs {b[worst]:.6f}); scores.csv identical: {identical}")


if __name__ == "__main__":
    main()

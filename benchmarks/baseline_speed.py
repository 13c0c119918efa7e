"""Training-step time, inference speed and peak memory of each trainable baseline at 256 px.

Each method runs in its own subprocess so peak memory is its own (CPU: the process's max RSS; CUDA:
torch.cuda.max_memory_allocated). Batches are synthetic (random images, centre holes, random labels) at the method's
configured batch size unless --batch-size is given; VGG weights are random if the real files are
missing (speed does not depend on them). On a machine with a GPU pass --device cuda.

    python benchmarks/baseline_speed.py                       # CPU, all methods
    python benchmarks/baseline_speed.py --device cuda --steps 10
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

METHODS = ("mcsam", "mcsam-segmenter", "fgi", "sgin-detector", "sgin-parser", "sgin", "sgenet")
# SGIN trained on the batch's labels (no parser checkpoint needed); SGE-Net on 19 classes (the engine would take
# the scheme from the dataset)
OVERRIDES = {"sgin": {"semantics": "gt"}, "sgenet": {"label_scheme": "celebamask19"}}

def inference(method: str, recipe, data: dict):
    """What evaluation runs for this network: the mask, the semantic map, or the inpainted image."""
    if hasattr(recipe, "predict_mask"):
        return lambda: recipe.predict_mask(data["occluded"])
    if hasattr(recipe, "predict_semantics"):
        return lambda: recipe.predict_semantics(data["occluded"] * (1 - data["mask"]))
    extras = {}
    if method == "sgin":
        from occbench.baselines.sgin.train import helen_labels, one_hot

        extras["semantics"] = one_hot(helen_labels(data["label"]))
    return lambda: recipe.inpaint(data["occluded"], data["mask"], extras)


def measure(method: str, device: str, size: int, batch_size: int | None, steps: int) -> dict:
    """Runs in the child process."""
    import resource
    import time
    import warnings

    import torch
    from occbench.baselines.engine.recipe import TrainSettings
    from occbench.baselines.engine.trainer import load_config, recipe_class

    warnings.filterwarnings("ignore", message=".*RANDOM weights.*")
    cls = recipe_class(method)
    config, _ = load_config(method, cls, OVERRIDES.get(method, {}))
    if "image_size" in config:  # networks sized for the input (FGI's critic has a dense layer)
        config["image_size"] = size
    batch = batch_size or int(config.get("batch_size", 4))
    dev = torch.device(device)
    recipe = cls()
    recipe.build(TrainSettings(config=config, device=dev, allow_random_backbones=True,
                               extras={"steps_per_epoch": 1000}, generator=torch.Generator().manual_seed(0)))
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(batch, 3, size, size, generator=gen)
    mask = torch.zeros(batch, 1, size, size)
    mask[:, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    label = torch.randint(0, 19, (batch, size, size), generator=gen)  # CelebAMask-HQ classes, for SGIN
    data = {"target": target.to(dev), "occluded": (target * (1 - mask)).to(dev), "mask": mask.to(dev),
            "label": label.to(dev)}

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    recipe.train_step(data, 1)  # warm-up
    sync()
    start = time.perf_counter()
    for step in range(2, steps + 2):
        recipe.train_step(data, step)
    sync()
    step_s = (time.perf_counter() - start) / steps
    with torch.no_grad():
        run = inference(method, recipe, data)
        run()
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            run()
        sync()
        infer_s = (time.perf_counter() - start) / steps
    peak = (torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"method": method, "batch": batch, "step_s": step_s, "train_img_s": batch / step_s,
            "infer_img_s": batch / infer_s, "peak_mib": peak, "device": device,
            "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.device, args.size, args.batch_size, args.steps)))
        return
    print(f"{'method':<17}{'batch':>6}{'step s':>9}{'train img/s':>13}{'infer img/s':>13}{'peak MiB':>10}  device")
    for method in args.methods:
        cmd = [sys.executable, __file__, "--child", method, "--device", args.device, "--size", str(args.size),
               "--steps", str(args.steps)] + (["--batch-size", str(args.batch_size)] if args.batch_size else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(f"{r['method']:<17}{r['batch']:>6}{r['step_s']:>9.2f}{r['train_img_s']:>13.2f}{r['infer_img_s']:>13.2f}"
              f"{r['peak_mib']:>10.0f}  {r['device']} ({r['threads']} threads)")


if __name__ == "__main__":
    main()

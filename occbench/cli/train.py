"""``occbench train``: train a reference method on a built dataset (resumable; DDP under torchrun)."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_device, add_progress, positive_int

EPILOG = """examples:
  occbench train --method fgi --data data/celebahq-center-256-train --out runs/fgi
  occbench train --method mcsam --data data/facemask-train --out runs/mcsam --device cuda --amp bf16
  occbench train --method mcsam --data data/tiny --out /tmp/smoke --max-steps 2 --allow-random-backbones \\
      --set batch_size=2
  torchrun --nproc-per-node 4 -m occbench train --method mcsam --data data/facemask-train --out runs/mcsam \\
      --device cuda
  occbench evaluate --method fgi --param checkpoint=runs/fgi/checkpoints/last.pt --data data/test --out runs/fgi/eval

Rerunning the same command resumes from OUT/checkpoints/last.pt. Under torchrun, --batch-size is per process.
"""


def run(args: argparse.Namespace) -> int:
    from occbench.baselines.engine.trainer import train
    from occbench.devices import resolve_device
    from occbench.params import parse_key_values

    device = resolve_device(args.device)
    overrides = parse_key_values(args.set, "--set")
    last = train(args.method, Path(args.data), Path(args.out), config_overrides=overrides,
                 max_steps=args.max_steps, batch_size=args.batch_size, device=device, seed=args.seed,
                 resume=not args.no_resume, log_every=args.log_every, checkpoint_every=args.checkpoint_every,
                 allow_random_backbones=args.allow_random_backbones, weights_dir=args.weights_dir, amp=args.amp,
                 tensorboard=args.tensorboard, progress=not args.no_progress, val_data=args.val_data)
    print(f"{args.out}: last checkpoint {last}")
    return 0


def _method(name: str) -> str:
    from occbench.baselines.engine.trainer import trainable_methods, unknown_method_message

    if name not in trainable_methods():
        raise argparse.ArgumentTypeError(unknown_method_message(name))
    return name


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    tr = subparsers.add_parser("train", help="train a reference method on a built dataset",
                               formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    tr.add_argument("--method", required=True, type=_method,
                    help="trainable network (occbench ls recipes: mcsam, mcsam-segmenter, fgi, sgin, sgin-detector, "
                         "sgin-parser)")
    tr.add_argument("--data", required=True, help="built dataset folder (occbench build-dataset)")
    tr.add_argument("--out", required=True, help="run folder: log.csv, checkpoints/, tensorboard/")
    tr.add_argument("--max-steps", type=positive_int, help="stop after N steps (default: the config's max_steps; the "
                                                  "LR schedule always follows the config)")
    tr.add_argument("--batch-size", type=positive_int, help="batch size per process (default: the config's)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value (dotted keys for nested ones; YAML values), repeatable")
    tr.add_argument("--seed", type=int, default=0, help="seeds initialisation, data order and every RNG (default 0)")
    add_device(tr, "training")
    tr.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none", help="autocast dtype (CUDA only)")
    tr.add_argument("--no-resume", action="store_true", help="start at step 0 even if OUT has a checkpoint")
    tr.add_argument("--log-every", type=int, default=50, help="write a log.csv row every N steps (default 50)")
    tr.add_argument("--checkpoint-every", type=int, default=1000, help="checkpoint every N steps (default 1000)")
    tr.add_argument("--allow-random-backbones", "--allow-random-vgg", dest="allow_random_backbones",
                    action="store_true",
                    help="use random weights for ImageNet backbones (VGG of the losses, ResNet-18 of BiSeNet) when "
                         "their files are missing (tests and smoke runs only; recorded in checkpoints and results)")
    tr.add_argument("--weights-dir", type=Path, help="folder searched first for weight files")
    tr.add_argument("--val-data", type=Path, help="built dataset for validation metrics at every checkpoint (val.csv: "
                                                  "detector IoU, parser per-class IoU and mIoU)")
    tr.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/tensorboard")
    add_progress(tr)
    tr.set_defaults(func=run)

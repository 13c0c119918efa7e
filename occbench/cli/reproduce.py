"""``occbench reproduce``: run a seed table's recipe (datasets → training → evaluation → leaderboard page)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from occbench.cli._args import add_progress, device_name, positive_int

EPILOG = """examples:
  occbench reproduce --list
  occbench reproduce sgin-t1 --work runs/repro --source-dir celebahq=/data/CelebAMask-HQ \\
      --source-dir coco=/data/coco --source-dir egohands=/data/egohands --source-dir helen=/data/helen \\
      --predictions DeepFill-v2=preds/deepfill --predictions MAT=preds/mat
  occbench reproduce sgin-t1 --dry-run                        # what is missing, and every command it would run
  occbench reproduce mcsam-t1 --smoke --work /tmp/smoke       # the whole chain at tiny size on ../shared/assets

Recipes are leaderboards/recipes/<table>.yaml (or pass a recipe file). Rerunning the same command resumes: finished
steps are skipped (their outputs, shared by recipes that need the same thing, live under --work), a failed step
is recorded and the steps that do not need it still run. State: <work>/state/<recipe>.json; logs: <work>/logs/.
A method occbench does not implement is a --predictions slot (<id>.png per test image, NAME=DIR; a slot used on
several datasets takes DIR/<dataset>/ or NAME@DATASET=DIR); its rows stay empty until filled.
"""


def _pairs(values: list[str] | None, flag: str) -> dict[str, Path]:
    from occbench.errors import OccbenchError

    out = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise OccbenchError(f"{flag}: Expected NAME=PATH, but got {value!r}")
        out[name.strip()] = Path(path).expanduser()
    return out


def _options(args: argparse.Namespace, work: Path | None = None):
    from occbench.reproduce import Options
    from occbench.reproduce.standins import shared_assets

    assets = shared_assets(args.shared)
    weights = args.weights_dir
    if weights is None and (assets.parent / "weights").is_dir():
        weights = assets.parent / "weights"  # ../shared/weights (the FID Inception file), as make demo does
    return Options(work=(work or args.work or Path("runs/reproduce" + ("-smoke" if args.smoke else ""))).resolve(),
                   smoke=args.smoke, source_dirs=_pairs(args.source_dir, "--source-dir"),
                   predictions=_pairs(args.predictions, "--predictions"), assets=assets, weights_dir=weights,
                   device=args.device, allow_random_backbones=args.allow_random_backbones)


def _list(args: argparse.Namespace) -> int:
    import json

    from occbench.leaderboard.conventions import TABLES
    from occbench.reproduce import find_recipe, make_plan, shipped_recipes

    options = _options(args)
    smoke_ready = options.assets is not None and options.assets.is_dir()
    for name in shipped_recipes():
        recipe = find_recipe(name)
        plan = make_plan(recipe, options, check_names=False)  # one --source-dir list for every recipe
        kinds = [s.kind for s in plan.steps]
        spec = TABLES.get(recipe.table)
        print(f"{name:<10} {recipe.table:<10} {spec.title if spec else recipe.description.splitlines()[0]}")
        print(f"{'':<10} steps: {kinds.count('dataset')} datasets, {kinds.count('train')} trainings, "
              f"{kinds.count('evaluate')} evaluations ({len(recipe.slots())} external prediction slots)")
        print(f"{'':<10} missing: {plan.missing.summary()}")
        print(f"{'':<10} smoke: {'ready' if smoke_ready else f'needs {options.assets}'}")
        state = options.work / "state" / f"{name}{'.smoke' if args.smoke else ''}.json"
        if state.is_file():
            steps = json.loads(state.read_text(encoding="utf-8")).get("steps", {})
            ok = sum(s.get("status") in ("done", "skipped") for s in steps.values())
            print(f"{'':<10} progress: {ok}/{len(plan.steps)} steps complete ({state})")
    return 0


def _dry_run(plan) -> int:
    for step in plan.steps:
        print(f"{step.key}: {step.title}")
        for need in step.needs:
            print(f"    missing: {need}")
        for argv in step.argv():
            print("    occbench " + " ".join(argv))
    return 0


def _summary(plan, outcome, seconds: float) -> None:
    counts = ", ".join(f"{outcome.count(s)} {s}" for s in ("done", "skipped", "failed", "missing", "blocked"))
    print(f"{plan.recipe.name}: {len(plan.steps)} steps: {counts} ({seconds:.1f} s)")
    for key, status in outcome.statuses.items():
        if status == "failed":
            log = outcome.state.parent.parent / "logs"
            print(f"  failed {key}: {outcome.details[key]} (logs under {log})")
    if outcome.leaderboard is not None:
        page = outcome.leaderboard / f"{plan.recipe.table}.md"
        print(f"leaderboard: {page}" + (" (smoke run: not a result)" if plan.options.smoke else ""))
        if not plan.options.smoke:
            print(f"  to publish: occbench leaderboard --results {plan.options.work}/evaluate/* --out leaderboards")
    print(f"state: {outcome.state}")


def run(args: argparse.Namespace) -> int:
    from occbench.errors import OccbenchError
    from occbench.reproduce import Runner, find_recipe, make_plan

    if args.list:
        return _list(args)
    if not args.recipe:
        raise OccbenchError("reproduce: name a recipe (occbench reproduce --list) or pass --list")
    start = time.monotonic()
    recipe = find_recipe(args.recipe)
    plan = make_plan(recipe, _options(args))
    mode = " --smoke" if args.smoke else ""
    print(f"occbench reproduce {recipe.name}{mode}: {recipe.description.strip().splitlines()[0]}")
    print(f"work folder: {plan.options.work}")
    print("what is missing:")
    for line in plan.missing.lines():
        print(f"  {line}")
    if args.dry_run:
        return _dry_run(plan)
    sys.stdout.flush()
    threads = args.threads if args.threads is not None else (1 if args.smoke else None)
    isolate = args.isolate if args.isolate is not None else not args.smoke
    outcome = Runner(plan, isolate=isolate, progress=not args.no_progress, threads=threads).run()
    _summary(plan, outcome, time.monotonic() - start)
    return outcome.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "reproduce", help="one command per seed-paper table: build, train, evaluate, leaderboard (resumable)",
        description="Run a seed table's recipe step by step: occluder banks and datasets, the occbench methods' "
                    "training, every evaluation under the paper's convention (external methods as --predictions "
                    "slots), then the table's leaderboard page. Prints what is missing first (data, weights, GPU, "
                    "predictions); --smoke runs the whole chain at tiny size on ../shared/assets on the CPU.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", metavar="RECIPE", help="recipe name (--list) or recipe YAML file")
    parser.add_argument("--list", action="store_true", help="list the recipes, their table and what is missing")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run on ../shared/assets stand-ins on the CPU; its leaderboard page is written "
                             "inside --work only and says it is a smoke run")
    parser.add_argument("--work", type=Path,
                        help="work folder: datasets, runs, logs, state (default runs/reproduce, or "
                             "runs/reproduce-smoke with --smoke)")
    parser.add_argument("--source-dir", action="append", metavar="NAME=PATH",
                        help="a source folder the recipe names (repeatable; --list and --dry-run show which)")
    parser.add_argument("--predictions", action="append", metavar="METHOD=DIR",
                        help="<id>.png predictions of an external method for its slot (repeatable)")
    parser.add_argument("--shared", type=Path,
                        help="folder holding assets/ for --smoke (default $OCCBENCH_SHARED, else ../shared)")
    parser.add_argument("--weights-dir", type=Path, help="folder searched first for weight files")
    parser.add_argument("--device", type=device_name, default="auto",
                        help="where training and evaluation run (default auto; --smoke always uses the CPU)")
    parser.add_argument("--allow-random-backbones", action="store_true",
                        help="train with random ImageNet backbones where their files are missing (wiring checks)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--isolate", dest="isolate", action="store_true", default=None,
                       help="run each command as a child process (the default without --smoke: memory is returned "
                            "between steps and a crash ends only its step)")
    where.add_argument("--in-process", dest="isolate", action="store_false",
                       help="run each command in this process (the default with --smoke: its steps take seconds and "
                            "importing torch and the networks once saves most of its time)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="torch threads for the steps (default: 1 with --smoke, whose steps are too small to "
                             "gain from more; else torch's default)")
    parser.add_argument("--dry-run", action="store_true", help="print what is missing and every command; run nothing")
    add_progress(parser)
    parser.set_defaults(func=run)

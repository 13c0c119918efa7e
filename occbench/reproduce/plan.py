"""A recipe as an ordered list of steps, each one or more ``occbench`` command lines with its output folder.

Outputs live under the work folder (``<work>/smoke/`` for smoke runs, so they never mix with real ones) as
``<kind>/<what>-<digest>/``: ``what`` names it without the recipe's words (protocol, training recipe, display name)
and the digest (8 hex) is the SHA-256 of the step's commands with the output folder left out and the folders of the
steps it reads in (so it covers everything upstream). Two recipes that need the same dataset or training (SGE-Net's
Tables 1, 3 and 4 share their SGE-Net; M-CSAM's three tables their datasets and M-CSAM) get the same folder, built
once. Options that change where or how fast a command runs but not its result (``--device``, ``--no-progress``,
``--weights-dir``) are left out of the digest.

Under ``--smoke`` the recipe's ``smoke`` blocks apply, sources are stand-ins built from ``../shared/assets``
(:mod:`occbench.reproduce.standins`), training runs on the CPU with random ImageNet backbones where their files are
missing, and a missing LPIPS trunk is replaced by a random one (``--allow-random-lpips``; results say so).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from occbench.reproduce.missing import Missing, train_weights
from occbench.reproduce.schema import REFERENCE, EvalSpec, Recipe

FOLDERS = {"occluders": "occluders", "dataset": "datasets", "train": "train", "predict": "predict",
           "evaluate": "evaluate"}
EXECUTION_ONLY = frozenset({"--device", "--no-progress", "--weights-dir"})  # not part of a step's digest
OUT = "{OUT}"


@dataclass
class Step:
    """``commands``: occbench argv lists (``{OUT}`` = :attr:`out`), run in order; ``action``: Python work run
    before them (stand-ins, derived protocol files). ``done``: the file in ``out`` whose presence (with the
    runner's marker) means the step is complete; empty = always run. ``needs``: what is missing, which keeps
    the step from running. ``soft``: runs with whichever of ``deps`` succeeded (the leaderboard)."""

    key: str
    kind: str
    title: str
    out: Path
    done: str
    commands: list[list[str]] = field(default_factory=list)
    action: Callable[[], None] | None = None
    deps: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    soft: bool = False
    digest: str = ""

    def argv(self) -> list[list[str]]:
        """The commands with the output folder filled in."""
        return [[str(self.out) if a == OUT else a.replace(OUT, str(self.out)) for a in cmd] for cmd in self.commands]


@dataclass
class Options:
    """How to run: ``source_dirs``/``predictions`` from ``--source-dir``/``--predictions``; ``assets``: the
    shared assets folder (smoke stand-ins); ``weights_dir``: searched first for weight files."""

    work: Path
    smoke: bool = False
    source_dirs: dict[str, Path] = field(default_factory=dict)
    predictions: dict[str, Path] = field(default_factory=dict)
    assets: Path | None = None
    weights_dir: Path | None = None
    device: str = "auto"
    allow_random_backbones: bool = False

    @property
    def root(self) -> Path:
        """Where the steps write: ``work``, or ``work/smoke`` for smoke runs (never mixed with real ones)."""
        return self.work / "smoke" if self.smoke else self.work


@dataclass
class Plan:
    recipe: Recipe
    options: Options
    steps: list[Step]
    missing: Missing

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (``w/o attention`` → ``w-o-attention``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _digest(kind: str, commands: list[list[str]], extra: Any = None) -> str:
    kept = []
    for cmd in commands:
        out, skip = [], False
        for arg in cmd:
            if skip:
                skip = False
            elif arg in EXECUTION_ONLY:
                skip = arg != "--no-progress"
            else:
                out.append(arg)
        kept.append(out)
    text = json.dumps([1, kind, kept, extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _value(value: Any) -> str:
    """A ``--set``/``--param`` value as occbench parses it (YAML): strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _write_protocol(path: Path, data: dict[str, Any]) -> None:
    """A derived protocol file (resolved, no includes), written atomically."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


class _Builder:
    """Builds the steps of one recipe in one mode (see :func:`make_plan`)."""

    def __init__(self, recipe: Recipe, options: Options) -> None:
        self.recipe, self.o = recipe, options
        self.steps: dict[str, Step] = {}
        self.missing = Missing(smoke=options.smoke, weights_dir=options.weights_dir)
        self.sources: dict[str, tuple[Path | None, str | None]] = {}  # name -> (folder, step key providing it)

    def add(self, kind: str, name: str, title: str, label: str, done: str, commands: list[list[str]],
            deps: list[str], needs: list[str], extra: Any = None, **kw: Any) -> Step:
        """A step ``kind:name`` writing to ``<work>/<kind>/<label>-<digest>``: ``label`` says what it is in
        recipe-independent words (protocol, training recipe, display name), so recipes share equal steps."""
        digest = _digest(kind, commands, extra)
        out = self.o.root / FOLDERS[kind] / f"{slug(label)}-{digest}"
        step = Step(f"{kind}:{name}", kind, title, out, done, commands, deps=list(dict.fromkeys(deps)),
                    needs=list(dict.fromkeys(needs)), digest=digest, **kw)
        self.steps[step.key] = step
        return step

    # ---- sources, references -------------------------------------------------------------------------------
    def source(self, name: str) -> tuple[Path | None, list[str], list[str]]:
        """(folder, deps, needs) of recipe source ``name`` in this mode."""
        if name not in self.sources:
            spec = self.recipe.sources[name]
            if self.o.smoke:
                self.sources[name] = self._standin(name, spec.smoke)
            else:
                given = self.o.source_dirs.get(name)
                self.sources[name] = (Path(given).resolve() if given else None, None)
                self.missing.source(name, spec.what, given)
        folder, key = self.sources[name]
        needs = [] if folder is not None and (key or folder.exists()) else [f"source {name}"]
        return folder, [key] if key else [], needs

    def _standin(self, name: str, standin: str | None) -> tuple[Path | None, str | None]:
        from occbench.reproduce.standins import BUILDERS
        from occbench.reproduce.standins import standin as build

        assets = self.o.assets
        if standin is None:
            self.missing.note("sources", name, f"has no smoke stand-in, but the smoke run reads it (recipe "
                                               f"{self.recipe.path})")
            return None, None
        if assets is None or not assets.is_dir():
            self.missing.shared(assets)
            return None, None
        what, builder = BUILDERS[standin]
        if isinstance(builder, str):
            return assets / builder, None
        step = Step(f"standin:{standin}", "standin", f"stand-in {standin}: {what}", self.o.root / "standins" / standin,
                    ".standin.json", action=lambda: build(standin, assets, self.o.root), digest="-")
        self.steps.setdefault(step.key, step)
        return step.out, step.key

    def resolve(self, text: str) -> tuple[str, list[str], list[str]]:
        """``text`` with ``{source:…}``, ``{data:…}``, ``{train:…}`` filled in; (text, deps, needs)."""
        deps: list[str] = []
        needs: list[str] = []

        def fill(match: re.Match[str]) -> str:
            kind, name = match[1], match[2]
            if kind == "source":
                folder, d, n = self.source(name)
                deps.extend(d)
                needs.extend(n)
                return str(folder) if folder is not None else f"<{name}>"
            step = self.dataset(name) if kind == "data" else self.train(name)
            deps.append(step.key)
            return str(step.out / "checkpoints" / "last.pt") if kind == "train" else str(step.out)

        return REFERENCE.sub(fill, text), deps, needs

    # ---- occluders, datasets --------------------------------------------------------------------------------
    def occluders(self, name: str) -> Step:
        if f"occluders:{name}" in self.steps:
            return self.steps[f"occluders:{name}"]
        spec = self.recipe.occluders[name]
        commands, deps, needs = [], [], []
        for build in spec.smoke if self.o.smoke else spec.builds:
            cmd = ["build-occluders"]
            for key, value in build.items():
                if value is True:
                    cmd.append(f"--{key}")
                elif value not in (False, None):
                    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
                    text, d, n = self.resolve(text)
                    cmd += [f"--{key}", text]
                    deps, needs = deps + d, needs + n
            commands.append([*cmd, "--out", OUT, "--no-progress"])
        return self.add("occluders", name, f"occluder bank {name}", name, "index.csv", commands, deps, needs)

    def protocol(self, name: str, resolution: int | None) -> tuple[str, dict[str, Any] | None]:
        """(protocol argument, derived protocol dict or None) of dataset ``name``, rebuilt at ``resolution``."""
        from occbench.protocol import load_protocol

        spec = self.recipe.datasets[name]
        if spec.derive is None and resolution is None:
            return spec.protocol, None
        data = dict(load_protocol(spec.protocol).resolved)
        if spec.derive is not None:
            data = _deep_merge(data, spec.derive["set"])
            data["name"] = spec.derive["name"]
        if resolution is not None:
            data["resolution"], data["name"] = resolution, f"{data['name']}-smoke{resolution}"
            note = f"smoke: {spec.protocol} rebuilt at {resolution} px for training (occbench reproduce --smoke)"
            data["notes"] = f"{note}\n{data.get('notes') or ''}".strip()
        return data["name"], data

    def dataset(self, name: str, resolution: int | None = None, limit: int | None = None) -> Step:
        spec = self.recipe.datasets[name]
        limit = limit or (spec.smoke.get("limit") if self.o.smoke else None) or spec.limit
        key = name + (f"@{resolution}px" if resolution else "") + (f"-n{limit}" if limit else "")
        if f"dataset:{key}" in self.steps:
            return self.steps[f"dataset:{key}"]
        protocol, derived = self.protocol(name, resolution)
        deps, needs, cmd = [], [], ["build-dataset", protocol, "--out", OUT, "--no-progress"]
        if spec.source:
            folder, deps, needs = self.source(spec.source)
            cmd += ["--source-dir", str(folder) if folder else f"<{spec.source}>"]
        if spec.assets in self.recipe.occluders:
            bank = self.occluders(spec.assets)
            cmd += ["--assets-dir", str(bank.out)]
            deps = [*deps, bank.key]
        elif spec.assets:
            folder, d, n = self.source(spec.assets)
            cmd += ["--assets-dir", str(folder) if folder else f"<{spec.assets}>"]
            deps, needs = deps + d, needs + n
        if limit:
            cmd += ["--limit", str(limit)]
        action = None
        if derived is not None:
            digest = _digest("protocol", [], derived)
            path = self.o.root / "protocols" / f"{derived['name']}-{digest}.yaml"
            cmd[1] = str(path)
            action = lambda: _write_protocol(path, derived)  # noqa: E731
        title = f"dataset {name}: {protocol}" + (f" at {resolution} px" if resolution else "") + \
            (f", first {limit}" if limit else "")
        label = protocol + (f"-n{limit}" if limit else "")
        return self.add("dataset", key, title, label, "dataset.json", [cmd], deps, needs, extra=derived,
                        action=action)

    # ---- training, evaluation -------------------------------------------------------------------------------
    def train(self, name: str) -> Step:
        if f"train:{name}" in self.steps:
            return self.steps[f"train:{name}"]
        spec = self.recipe.train[name]
        smoke = spec.smoke if self.o.smoke else {}
        data = self.dataset(smoke.get("data", spec.data), smoke.get("resolution"), smoke.get("limit"))
        val_name = smoke["val_data"] if "val_data" in smoke else spec.val_data
        cmd = ["train", "--method", spec.recipe, "--data", str(data.out), "--out", OUT, "--seed", str(spec.seed)]
        deps, needs = [data.key], []
        if val_name:
            val = self.dataset(val_name)
            cmd += ["--val-data", str(val.out)]
            deps = [*deps, val.key]
        for flag, value in (("--max-steps", smoke.get("max_steps", spec.max_steps)),
                            ("--batch-size", smoke.get("batch_size", spec.batch_size))):
            if value is not None:
                cmd += [flag, str(value)]
        for key, value in {**spec.set, **smoke.get("set", {})}.items():
            text, d, n = self.resolve(_value(value))
            cmd += ["--set", f"{key}={text}"]
            deps, needs = deps + d, needs + n
        random_ok = self.o.smoke or self.o.allow_random_backbones
        needs += self.missing.weights_for_training(name, train_weights(spec.recipe), random_ok)
        if random_ok:
            cmd.append("--allow-random-backbones")
        if self.o.smoke:
            cmd += ["--log-every", "1"]
        cmd += self._execution()
        return self.add("train", name, f"train {name} ({spec.recipe})", spec.recipe, "checkpoints/last.pt", [cmd], deps,
                        needs)

    def _execution(self) -> list[str]:
        cmd = ["--device", "cpu" if self.o.smoke else self.o.device, "--no-progress"]
        return cmd + (["--weights-dir", str(self.o.weights_dir)] if self.o.weights_dir else [])

    def _flags(self, run: EvalSpec) -> tuple[list[str], list[str]]:
        flags, notes = [], []
        metrics = list(run.flags.get("metrics", []))
        for metric in list(metrics):
            keep, note, extra = self.missing.metric(metric, run.flags.get("lpips_net", "alex"))
            if not keep:
                metrics.remove(metric)
            if note:
                notes.append(note)
            if extra and extra not in flags:
                flags.append(extra)
        if metrics:
            flags += ["--metrics", *metrics]
        for name in ("regions", "modes"):
            if run.flags.get(name):
                flags += [f"--{name}", *run.flags[name]]
        if "boundary_px" in run.flags:
            flags += ["--boundary-px", str(run.flags["boundary_px"])]
        if "lpips_net" in run.flags:
            flags += ["--lpips-net", run.flags["lpips_net"]]
        return flags, notes

    def evaluate(self, run: EvalSpec) -> Step:
        data = self.dataset(run.data)
        deps, needs = [data.key], []
        flags, notes = self._flags(run)
        name, cmd = run.name, ["evaluate"]
        if run.method is not None:
            cmd += ["--method", run.method]
            if run.checkpoint:
                text, d, n = self.resolve(run.checkpoint)
                cmd += ["--checkpoint", text]
                deps, needs = deps + d, needs + n
            if run.mask:
                cmd += ["--mask", run.mask]
            for key, value in run.params.items():
                text, d, n = self.resolve(_value(value))
                cmd += ["--param", f"{key}={text}"]
                deps, needs = deps + d, needs + n
        else:
            folder, standin = self._predictions(run, data)
            if standin is not None:
                deps.append(standin.key)
                name = f"{run.name} [smoke stand-in: {run.smoke['method']}]"
            elif folder is None:
                needs.append(f"predictions {run.slot}")
                self.missing.slot(run.predictions, run.data, run.slot != run.predictions, run.note)
            elif not folder.is_dir():
                needs.append(f"predictions {run.slot}")
                self.missing.note("predictions", str(run.slot), f"{folder} is not a folder (expected <id>.png "
                                                                f"per image of {run.data})")
            cmd += ["--predictions", str(folder) if folder else f"<{run.slot}>"]
            if run.masks_from is not None:  # the external method was given the masks that run's method found
                masks = self._masks_of(run)
                deps.append(masks.key)
                cmd += ["--predicted-masks", str(masks.out / "pred_mask")]
        cmd += ["--data", str(data.out), "--out", OUT, "--name", name, *flags, *self._execution()]
        return self.add("evaluate", f"{slug(run.name)}@{run.data}", f"evaluate {name} on {run.data}", name,
                        "results.json", [cmd], deps, needs, notes=notes)

    def _masks_of(self, slot: EvalSpec) -> Step:
        """The evaluation step of the run named by ``slot.masks_from`` on the slot's dataset (added when new)."""
        source = next(r for r in self.recipe.runs if r.name == slot.masks_from and r.data == slot.data)
        key = f"evaluate:{slug(source.name)}@{source.data}"
        return self.steps[key] if key in self.steps else self.evaluate(source)

    def _predictions(self, run: EvalSpec, data: Step) -> tuple[Path | None, Step | None]:
        """The folder given for a slot (``NAME@DATASET=DIR``, or ``NAME=DIR`` holding ``DATASET/`` when the slot
        covers several datasets), or, under --smoke, the predictions of its stand-in method."""
        given = self.o.predictions
        if run.slot in given:
            return Path(given[run.slot]).resolve(), None
        if run.predictions in given:
            base = Path(given[run.predictions]).resolve()
            return (base / run.data if run.slot != run.predictions else base), None
        if self.o.smoke and run.smoke.get("method"):
            cmd = ["predict", "--method", run.smoke["method"], "--data", str(data.out), "--out", OUT,
                   *self._execution()[:3]]  # predict reads no weight files: no --weights-dir
            step = self.add("predict", f"{slug(run.slot)}-standin", f"stand-in predictions for {run.slot} "
                            f"({run.smoke['method']})", run.smoke["method"], "run.json", [cmd], [data.key], [])
            return step.out / "pred", step
        return None, None

    def leaderboard(self, evaluations: list[Step]) -> Step:
        cmd = ["leaderboard", "--results", *[str(s.out) for s in evaluations], "--tables", *self.recipe.tables,
               "--out", OUT]
        step = Step("leaderboard", "leaderboard", f"leaderboard {' '.join(self.recipe.tables)}",
                    self.o.root / "leaderboards" / self.recipe.name, "", [cmd], deps=[s.key for s in evaluations],
                    soft=True, digest="-")
        self.steps[step.key] = step
        return step


ORDER = ("standin", "occluders", "dataset", "train", "predict", "evaluate", "leaderboard")


def _ordered(steps: dict[str, Step]) -> list[Step]:
    """Kinds in :data:`ORDER`; within a kind, dependencies first (trainings that read other checkpoints)."""
    out: list[Step] = []
    placed: set[str] = set()

    def visit(step: Step) -> None:
        if step.key in placed:
            return
        placed.add(step.key)
        for dep in step.deps:
            if dep in steps and steps[dep].kind == step.kind:
                visit(steps[dep])
        out.append(step)

    for kind in ORDER:
        for step in steps.values():
            if step.kind == kind:
                visit(step)
    return out


def make_plan(recipe: Recipe, options: Options, check_names: bool = True) -> Plan:
    """Every step of ``recipe`` in ``options``' mode, in running order, and the report of what is missing
    (``check_names``: also report ``--source-dir``/``--predictions`` names the recipe does not have)."""
    b = _Builder(recipe, options)
    for name in recipe.train:
        b.train(name)
    evaluations = [b.evaluate(run) for run in recipe.runs]
    b.leaderboard(evaluations)
    if not options.smoke:
        b.missing.gpu()
    if check_names:
        _unknown_names(recipe, options, b.missing)
    return Plan(recipe, options, _ordered(b.steps), b.missing)


def _unknown_names(recipe: Recipe, options: Options, missing: Missing) -> None:
    """``--source-dir``/``--predictions`` names the recipe does not have (a typo would otherwise pass unseen)."""
    slots = {run.slot for run in recipe.slots()} | {run.predictions for run in recipe.slots()}
    for given, known, category, flag in ((options.source_dirs, recipe.sources, "sources", "--source-dir"),
                                         (options.predictions, slots, "predictions", "--predictions")):
        for name in given:
            if name not in known:
                missing.note(category, name, f"{flag} {name}=... is not used: {recipe.name} has "
                                             f"{', '.join(sorted(known)) or 'none'}")

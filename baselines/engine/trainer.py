"""``occbench train``: the step loop shared by every trainable method (see recipe.py for the contract).

Config: ``baselines/<folder>/config_<method>.yaml`` when it exists (methods sharing a folder, e.g.
``mcsam-segmenter`` → ``baselines/mcsam/config_mcsam-segmenter.yaml``), else ``config.yaml`` in the folder
of the recipe's module; no file means an empty config (the recipe's defaults). ``--set a.b=v`` overrides
nested keys; with a config file, unknown keys are errors. Keys the engine itself reads (:data:`ENGINE_KEYS`):
``max_steps`` (the schedule length; ``--max-steps`` only stops earlier, so a smoke run and a resumed run
see the same schedule), ``batch_size`` (per process), ``num_workers``, ``augment_flip``, ``augment_rotate90``,
``ddp_find_unused_parameters``. A config's ``image_size`` follows the training dataset's resolution, and
``label_scheme: auto`` becomes the dataset's label scheme.

Seeding: ``torch.manual_seed(seed)`` right before ``recipe.build`` (parameter init: the one use of global
state), then the global torch/numpy/python RNGs are reseeded per rank from ``(seed, rank)`` for the
steps (dropout and the like), and ``settings.generator`` / ``settings.np_rng`` are seeded from the same.
Every one of them is saved in checkpoints and restored on resume; with the sampler position
(:mod:`.data`) this makes step ``n+1`` after a resume identical to step ``n+1`` of an uninterrupted run
(bitwise on CPU; on CUDA up to non-deterministic kernels).

Outputs in ``out``: ``log.csv`` (``step``, one column per loss, ``lr_<optimizer>``, ``seconds`` = wall time
of that step; one row every ``log_every`` steps with that step's values), ``tensorboard/`` (optional),
``checkpoints/step_<n>.pt`` and ``checkpoints/last.pt`` (written atomically; ``last.pt`` is a hard link
to the newest, or a copy where links are not supported). Under ``torchrun`` only rank 0 writes; logged
losses are rank 0's.

A checkpoint (``torch.load(..., weights_only=True)`` reads it; see :func:`load_checkpoint`) holds
``format``, ``method``, ``config`` (merged), ``occbench_version``, ``protocol`` and ``protocol_hash`` of the
training data, ``seed``, ``amp``, ``world_size``, ``step``, ``data_state`` (epoch and batches consumed),
``parameters`` (count per network, also printed at the start), ``recorded`` (facts a recipe reports in
``settings.extras["record"]``, e.g. FGI's ``fg_fallback``; they reach evaluation results), ``rng`` (one dict
per rank: torch CPU/CUDA, numpy, python, the recipe's generators), ``random_backbones`` (as the recipe
reported it in ``settings.extras``) and ``allow_random_backbones``, and the state dicts of
``networks``, ``optimizers``, ``schedulers`` and ``grad_scaler``. Resuming requires the same method,
config, seed and dataset (clear errors otherwise).

DDP notes: ``--batch-size`` is per process; BatchNorm statistics are not synchronised across processes
(no SyncBatchNorm); a different process count on resume continues with reseeded random streams.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import inspect
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from occbench.baselines.engine.data import BuiltDataset, batches_per_epoch, make_loader, start_epoch
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from torch import nn
from tqdm import tqdm

from occbench import __version__
from occbench.dataset.layout import read_dataset_info
from occbench.distributed import Dist, gather_objects, leave, setup_distributed
from occbench.errors import OccbenchError
from occbench.registry import RECIPES
from occbench.rng import sample_rng
from occbench.yamlio import read_yaml_file

CHECKPOINT_FORMAT = "occbench-checkpoint/1"
CHECKPOINT_KEYS = ("method", "config", "networks", "step", "seed", "protocol_hash")  # what loading needs
AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
ENGINE_KEYS: dict[str, Any] = {"max_steps": None, "batch_size": 8, "num_workers": "auto", "augment_flip": False,
                               "augment_rotate90": False,
                               "ddp_find_unused_parameters": False}


# --- recipes and configs ---------------------------------------------------------------------------------

def loader_workers(value: Any, device: torch.device) -> int:
    """``num_workers`` from the config: a count, or ``"auto"`` = up to 4 loader processes on CUDA (decoding
    overlaps the GPU's work) and 0 on the CPU (where workers would compete with training for the same cores)."""
    if value == "auto":
        return min(4, max((os.cpu_count() or 1) - 1, 0)) if device.type == "cuda" else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OccbenchError(f"num_workers: Expected a count >= 0 or 'auto', but got {value!r}")
    return value


def trainable_methods() -> list[str]:
    return RECIPES.names()


def unknown_method_message(name: str) -> str:
    return RECIPES.unknown_message(name)


def recipe_class(name: str) -> type[Recipe]:
    """The Recipe class registered as ``name`` (each method folder's ``register.py``)."""
    try:
        return RECIPES.get(name)
    except (ImportError, AttributeError) as exc:
        raise OccbenchError(f"trainable method {name!r}: cannot load its recipe ({type(exc).__name__}: {exc})") \
            from exc


def find_config(name: str, cls: type) -> Path | None:
    folder = Path(inspect.getfile(cls)).parent
    for candidate in (folder / f"config_{name}.yaml", folder / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any], strict: bool) -> dict[str, Any]:
    """A copy of ``config`` with dotted ``overrides`` set; unknown keys raise when ``strict``."""
    config = yaml.safe_load(yaml.safe_dump(config))  # deep copy of plain data
    for dotted, value in overrides.items():
        node, parts = config, dotted.split(".")
        for depth, part in enumerate(parts):
            known = list(node) if isinstance(node, dict) else []
            top_engine_key = depth == 0 and part in ENGINE_KEYS
            if strict and part not in known and not top_engine_key:
                close = difflib.get_close_matches(part, known, n=1)
                hint = f" Did you mean {'.'.join([*parts[:depth], close[0]])!r}?" if close else ""
                raise OccbenchError(f"--set {dotted}: unknown config key.{hint}")
            if depth == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise OccbenchError(f"--set {dotted}: {'.'.join(parts[:depth + 1])} is not a section")
    return config


def load_config(name: str, cls: type, overrides: dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    path = find_config(name, cls)
    config = read_yaml_file(path) if path else {}
    if not isinstance(config or {}, dict):
        raise OccbenchError(f"{path}: Expected a mapping of settings, but got {type(config).__name__}")
    return apply_overrides(config or {}, overrides, strict=path is not None), path


# --- distributed -----------------------------------------------------------------------------------------

def wrap_networks(recipe: Recipe, nets: dict[str, nn.Module], ddp: Dist, find_unused: bool) -> None:
    """Wrap each network with trainable parameters in DDP and hand them back to the recipe."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [ddp.device.index] if ddp.device.type == "cuda" else None
    wrapped = {name: DistributedDataParallel(net, device_ids=ids, find_unused_parameters=find_unused)
               if any(p.requires_grad for p in net.parameters()) else net for name, net in nets.items()}
    recipe.set_networks(wrapped)


# --- rng and checkpoints ---------------------------------------------------------------------------------

def _derived_seed(seed: int, *key: int | str) -> int:
    return int(sample_rng(seed, *key).integers(2**62))


def seed_step_rngs(settings: TrainSettings) -> None:
    """Per-rank seeds for the step loop (global torch/numpy/python RNGs and the recipe's generators)."""
    seed, rank = settings.seed, settings.rank
    torch.manual_seed(_derived_seed(seed, "torch", rank))
    np.random.seed(_derived_seed(seed, "numpy", rank) % 2**32)
    random.seed(_derived_seed(seed, "python", rank))
    settings.generator.manual_seed(_derived_seed(seed, "generator", rank))
    settings.np_rng.bit_generator.state = sample_rng(seed, "recipe", rank).bit_generator.state


def _numpy_state() -> dict[str, Any]:
    """numpy's global state as plain Python data (loadable with ``weights_only=True``)."""
    state = np.random.get_state(legacy=False)
    return {**state, "state": {"key": state["state"]["key"].tolist(), "pos": int(state["state"]["pos"])}}


def rng_state(settings: TrainSettings) -> dict[str, Any]:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": _numpy_state(), "python": random.getstate(),
            "generator": settings.generator.get_state(), "np_rng": settings.np_rng.bit_generator.state}


def restore_rng(state: dict[str, Any], settings: TrainSettings) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = dict(state["numpy"])
    numpy_state["state"] = {**numpy_state["state"], "key": np.asarray(numpy_state["state"]["key"], np.uint32)}
    np.random.set_state(numpy_state)
    random.setstate(state["python"])
    settings.generator.set_state(state["generator"])
    settings.np_rng.bit_generator.state = state["np_rng"]


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link_atomic(source: Path, path: Path) -> None:
    """Make ``path`` a hard link to (or else a copy of) ``source``, atomically."""
    tmp = path.with_name(f".{path.name}.link.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        import shutil

        shutil.copyfile(source, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`train`; clear errors for missing or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise OccbenchError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our file"
        raise OccbenchError(f"{path}: not a readable occbench checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise OccbenchError(f"{path}: Expected an occbench checkpoint ({CHECKPOINT_FORMAT}), but got another file")
    missing = [key for key in CHECKPOINT_KEYS if key not in ckpt]
    if missing or not isinstance(ckpt.get("networks"), dict) or not isinstance(ckpt.get("config"), dict):
        raise OccbenchError(f"{path}: damaged occbench checkpoint: Expected keys {', '.join(CHECKPOINT_KEYS)} "
                            f"(networks and config as mappings), but {', '.join(missing) or 'their types'} are wrong")
    return ckpt


def _unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)


# --- logs ------------------------------------------------------------------------------------------------

class CsvLog:
    """``log.csv`` with a header that grows when a new loss name appears (the file is then rewritten)."""

    def __init__(self, path: Path, resume_step: int, keep: bool = False):
        self.path = path
        self.rows: list[dict[str, str]] = []
        if (resume_step or keep) and path.is_file():
            with path.open(newline="") as handle:
                self.rows = [r for r in csv.DictReader(handle) if r.get("step") and int(r["step"]) <= resume_step]
        self.columns = list(dict.fromkeys(k for r in self.rows for k in r))
        self._rewrite()

    def _rewrite(self) -> None:
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, lineterminator="\n")
            if self.columns:
                writer.writeheader()
                writer.writerows(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        row = {k: (repr(v) if isinstance(v, float) else str(v)) for k, v in row.items()}
        self.rows.append(row)
        new = [k for k in row if k not in self.columns]
        if new:
            self.columns = [*self.columns[:-1], *new, self.columns[-1]] if "seconds" in self.columns else [
                *self.columns, *new]
            self._rewrite()
            return
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.columns, lineterminator="\n", restval="").writerow(row)


def _tensorboard(out: Path, purge_step: int):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise OccbenchError("--tensorboard: the tensorboard package is not installed (pip install tensorboard), "
                            "or leave out --tensorboard; log.csv is always written") from exc
    return SummaryWriter(str(out / "tensorboard"), purge_step=purge_step or None)


# --- the loop --------------------------------------------------------------------------------------------

@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    batch: int = 0  # batches of `epoch` already consumed


@dataclass(frozen=True)
class _Options:
    method: str
    data: Path
    out: Path
    total: int  # stop after this step
    seed: int
    resume: bool
    log_every: int
    checkpoint_every: int
    allow_random_backbones: bool
    weights_dir: str | None
    amp: str
    tensorboard: bool
    progress: bool
    val_data: Path | None = None

    @property
    def last(self) -> Path:
        return self.out / "checkpoints" / "last.pt"


def _check_resume(ckpt: dict[str, Any], method: str, config: dict[str, Any], protocol_hash: str, seed: int,
                  path: Path) -> None:
    if ckpt["seed"] != seed:
        raise OccbenchError(f"{path}: trained with --seed {ckpt['seed']}, not {seed}; resume with the same seed, "
                            "or start over with --no-resume or another --out")
    if ckpt["method"] != method:
        raise OccbenchError(f"{path}: a checkpoint of {ckpt['method']!r}, not {method!r}; use another --out")
    if ckpt["config"] != config:
        keys = sorted(k for k in {*config, *ckpt["config"]} if config.get(k) != ckpt["config"].get(k))
        raise OccbenchError(f"{path}: the config differs from the checkpoint's (keys: {', '.join(keys)}); resume "
                            "with the same --set values, or start over with --no-resume or another --out")
    if ckpt["protocol_hash"] != protocol_hash:
        raise OccbenchError(f"{path}: trained on another dataset (protocol hash {ckpt['protocol_hash'][:12]}); "
                            "resume on the same --data, or start over with --no-resume or another --out")


def _autocast(dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    return torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()


class _Session:
    """One process of a training run: recipe, data, position; builds or resumes in ``__init__``."""

    def __init__(self, opts: _Options, cls: type[Recipe], config: dict[str, Any], ddp: Dist):
        self.opts, self.ddp, self.main = opts, ddp, ddp.rank == 0
        self.settings = TrainSettings(
            config=config, device=ddp.device, allow_random_backbones=opts.allow_random_backbones,
            weights_dir=opts.weights_dir,
            amp_dtype=AMP_DTYPES[opts.amp], seed=opts.seed, generator=torch.Generator(),
            np_rng=np.random.default_rng(), rank=ddp.rank, world_size=ddp.world_size,
            grad_scaler=torch.amp.GradScaler("cuda") if opts.amp == "fp16" else None)
        dataset = BuiltDataset(opts.data, flip=bool(config.get("augment_flip", False)),
                               rotate90=bool(config.get("augment_rotate90", False)), seed=opts.seed)
        ckpt = load_checkpoint(opts.last) if opts.resume and opts.last.is_file() else None
        if ckpt is not None:
            _check_resume(ckpt, opts.method, config, dataset.info["protocol"]["content_hash"], opts.seed,
                          opts.last)
        self.loader = make_loader(dataset, batch_size=int(config.get("batch_size", ENGINE_KEYS["batch_size"])),
                                  seed=opts.seed, num_workers=loader_workers(config.get("num_workers", "auto"),
                                                                             ddp.device),
                                  rank=ddp.rank,
                                  world_size=ddp.world_size)
        self.meta = {"format": CHECKPOINT_FORMAT, "method": opts.method, "config": config,
                     "occbench_version": __version__, "protocol": dataset.info["protocol"]["name"],
                     "protocol_hash": dataset.info["protocol"]["content_hash"], "seed": opts.seed, "amp": opts.amp,
                     "world_size": ddp.world_size}
        self.settings.extras["steps_per_epoch"] = batches_per_epoch(self.loader)  # of this process
        torch.manual_seed(opts.seed)  # parameter init
        self.recipe = cls()
        self.recipe.build(self.settings)
        self.nets, self.optims, self.scheds = self.recipe.networks(), self.recipe.optimizers(), self.recipe.schedulers()
        self.meta["parameters"] = {name: sum(p.numel() for p in net.parameters()) for name, net in self.nets.items()}
        if self.main:
            counts = ", ".join(f"{name} {count:,}" for name, count in self.meta["parameters"].items())
            print(f"{opts.method}: parameters: {counts}", file=sys.stderr)
        self.state = _State()
        seed_step_rngs(self.settings)
        if ckpt is not None:
            self._restore(ckpt)
        self.resumed = ckpt is not None
        if ddp.active:
            wrap_networks(self.recipe, self.nets, ddp, bool(config.get("ddp_find_unused_parameters", False)))

    def _restore(self, ckpt: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(ckpt["networks"][name])
        for group, objects in (("optimizers", self.optims), ("schedulers", self.scheds)):
            for name, obj in objects.items():
                obj.load_state_dict(ckpt[group][name])
        if self.settings.grad_scaler is not None and ckpt.get("grad_scaler"):
            self.settings.grad_scaler.load_state_dict(ckpt["grad_scaler"])
        states = ckpt["rng"]
        if len(states) == self.ddp.world_size:
            restore_rng(states[self.ddp.rank], self.settings)
        else:
            print(f"occbench: warning: {self.opts.last} was written by {len(states)} processes, not "
                  f"{self.ddp.world_size}: random streams are reseeded, the run is not a bitwise continuation",
                  file=sys.stderr)
        self.state = _State(**ckpt["data_state"])

    def checkpoint(self) -> None:
        """Write ``step_<n>.pt`` and point ``last.pt`` at it (rank 0; every rank sends its RNG states)."""
        rng = gather_objects(rng_state(self.settings), self.ddp)
        if not self.main:
            return
        scaler = self.settings.grad_scaler
        payload = {**self.meta, "step": self.state.step, "data_state": vars(self.state).copy(), "rng": rng,
                   # as the recipe reported
                   "random_backbones": bool(self.settings.extras.get("random_backbones", False)),
                   "recorded": dict(self.settings.extras.get("record", {})),
                   "allow_random_backbones": self.opts.allow_random_backbones,
                   "networks": {n: _unwrap(m).state_dict() for n, m in self.nets.items()},
                   "optimizers": {n: o.state_dict() for n, o in self.optims.items()},
                   "schedulers": {n: s.state_dict() for n, s in self.scheds.items()},
                   "grad_scaler": scaler.state_dict() if scaler is not None else None}
        path = self.opts.out / "checkpoints" / f"step_{self.state.step}.pt"
        save_atomic(payload, path)
        _link_atomic(path, self.opts.last)

    def step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Run step ``state.step + 1`` on ``batch``; returns its finite losses."""
        batch = {k: v.to(self.ddp.device, non_blocking=True) for k, v in batch.items()}
        with _autocast(self.settings.amp_dtype):
            losses = {k: float(v) for k, v in self.recipe.train_step(batch, self.state.step + 1).items()}
        if self.settings.grad_scaler is not None:
            try:
                self.settings.grad_scaler.update()
            except AssertionError as exc:
                raise OccbenchError(f"--amp fp16: {self.opts.method} does not step through "
                                    "settings.backward_step; use --amp bf16 or none") from exc
        self.state.step += 1
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise OccbenchError(f"step {self.state.step}: non-finite loss ({', '.join(bad)}); the last checkpoint "
                                f"is {self.opts.last}")
        return losses

    def batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """Batches from the current position on, epoch after epoch (advances ``state.epoch/batch``)."""
        per_epoch = batches_per_epoch(self.loader)
        while True:
            if self.state.batch >= per_epoch:
                self.state.epoch, self.state.batch = self.state.epoch + 1, 0
            for batch in start_epoch(self.loader, self.state.epoch, self.state.batch):
                self.state.batch += 1
                yield batch

    @torch.no_grad()
    def validate(self, step: int) -> None:
        """Recipe metrics over ``--val-data`` (summed with ``validation_sums``, finished by ``validation_metrics``),
        appended to ``val.csv``; recipes without those hooks are skipped."""
        if not hasattr(self.recipe, "validation_sums"):
            return
        dataset = BuiltDataset(self.opts.val_data, flip=False, seed=self.opts.seed)
        loader = torch.utils.data.DataLoader(dataset, batch_size=int(self.settings.config.get("batch_size", 8)))
        totals: dict[str, torch.Tensor] = {}
        for batch in loader:
            batch = {k: v.to(self.ddp.device) for k, v in batch.items()}
            for key, value in self.recipe.validation_sums(batch).items():
                totals[key] = totals[key] + value if key in totals else value
        metrics = self.recipe.validation_metrics(totals)
        CsvLog(self.opts.out / "val.csv", step - 1 if step > 1 else 0, keep=True).append(
            {"step": step, "samples": len(dataset), **metrics})

    def run(self) -> Path:
        opts, main = self.opts, self.main
        if main:
            opts.out.mkdir(parents=True, exist_ok=True)
            log = CsvLog(opts.out / "log.csv", self.state.step)
        board = _tensorboard(opts.out, self.state.step + 1) if opts.tensorboard and main else None
        bar = tqdm(total=opts.total, initial=min(self.state.step, opts.total), desc=f"train {opts.method}",
                   unit="step", disable=not (opts.progress and main))
        batches = self.batches()
        try:
            while self.state.step < opts.total:
                started = time.perf_counter()
                losses = self.step(next(batches))
                step = self.state.step
                if main and (step % opts.log_every == 0 or step == opts.total):
                    lrs = {f"lr_{n}": float(o.param_groups[0]["lr"]) for n, o in self.optims.items()}
                    row = {"step": step, **losses, **lrs, "seconds": time.perf_counter() - started}
                    if self.ddp.device.type == "cuda":
                        row["peak_gpu_mb"] = torch.cuda.max_memory_allocated(self.ddp.device) / 2**20
                    log.append(row)
                    for key, value in ({**losses, **lrs}.items() if board is not None else ()):
                        board.add_scalar(key, value, step)
                if step % opts.checkpoint_every == 0 or step == opts.total:
                    self.checkpoint()
                    if opts.val_data is not None and main:
                        self.validate(step)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
        finally:
            bar.close()
            if board is not None:
                board.close()
        if not self.resumed and self.state.step == 0:  # max_steps 0: still leave a checkpoint of the initial state
            self.checkpoint()
        if self.ddp.active:
            dist.barrier()
        return opts.last


def _fit_dataset_facts(config: dict[str, Any], data: Path, overrides: dict[str, Any]) -> None:
    """The training dataset is the one place for its facts: a config's ``image_size`` (the paper's setting)
    follows its resolution, with a note (an explicit ``--set image_size`` that disagrees is an error), and
    ``label_scheme: auto`` becomes its label scheme (an explicit other scheme is an error)."""
    info = read_dataset_info(data)
    resolution = int(info["resolution"])
    if "image_size" in config and int(config["image_size"]) != resolution:
        if "image_size" in overrides:
            raise OccbenchError(f"{data}: the dataset is {resolution} px but --set image_size={config['image_size']}; "
                                f"build the dataset at {config['image_size']} px or drop the override")
        print(f"note: training at the dataset's {resolution} px (the config's image_size is {config['image_size']})",
              file=sys.stderr)
        config["image_size"] = resolution
    if "label_scheme" in config and info.get("labels"):
        from occbench.labels import dataset_scheme

        scheme = dataset_scheme(info).name
        if config["label_scheme"] == "auto":
            config["label_scheme"] = scheme
        elif config["label_scheme"] != scheme:
            raise OccbenchError(f"{data}: its labels are {scheme!r}, but this method reads {config['label_scheme']!r} "
                                "labels (its config's label_scheme); train it on such a dataset")


def train(method: str, data: Path, out: Path, *, config_overrides: dict[str, Any] | None = None,
          max_steps: int | None = None, batch_size: int | None = None, device: str = "cpu", seed: int = 0,
          resume: bool = True, log_every: int = 50, checkpoint_every: int = 1000,
          allow_random_backbones: bool = False,
          weights_dir: str | Path | None = None, amp: str = "none", tensorboard: bool = False,
          progress: bool = True, val_data: str | Path | None = None) -> Path:
    """Train ``method`` on the built dataset ``data`` into ``out``; returns ``out/checkpoints/last.pt``.

    ``max_steps`` stops the run (default: the config's); ``batch_size`` overrides the config's (per process).
    ``val_data``: a built dataset on which recipes with validation hooks report metrics at every checkpoint
    (``val.csv``: the detector's IoU, the parser's per-class IoU and mIoU).
    Rerunning with a larger ``max_steps`` resumes from ``last.pt`` unless ``resume=False``.
    """
    if amp not in AMP_DTYPES:
        raise OccbenchError(f"--amp: Expected one of {', '.join(AMP_DTYPES)}, but got {amp!r}")
    if log_every < 1 or checkpoint_every < 1:
        raise OccbenchError("--log-every and --checkpoint-every: Expected positive numbers of steps")
    cls = recipe_class(method)
    if amp != "none" and torch.device(device).type != "cuda":
        raise OccbenchError(f"--amp {amp}: autocast is only supported on CUDA; use --amp none on {device}")
    config, _ = load_config(method, cls, {**(config_overrides or {}),
                                          **({"batch_size": batch_size} if batch_size else {})})
    _fit_dataset_facts(config, Path(data), config_overrides or {})
    total = max_steps if max_steps is not None else config.get("max_steps")
    if total is None:
        raise OccbenchError(f"{method}: no max_steps in its config; pass --max-steps N")
    opts = _Options(method=method, data=Path(data), out=Path(out), total=int(total), seed=seed, resume=resume,
                    log_every=log_every, checkpoint_every=checkpoint_every,
                    allow_random_backbones=allow_random_backbones,
                    weights_dir=str(weights_dir) if weights_dir else None, amp=amp, tensorboard=tensorboard,
                    progress=progress, val_data=Path(val_data) if val_data else None)
    ddp = setup_distributed(device)
    try:
        return _Session(opts, cls, config, ddp).run()
    finally:
        leave(ddp)

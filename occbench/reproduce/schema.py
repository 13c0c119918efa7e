"""Recipe files (``leaderboards/recipes/<table>.yaml``): the schema, read strictly, with errors naming file and key.

A recipe (format 1) lists what one seed-paper table needs, as occbench commands::

    format: 1                      # this schema's version
    version: 1                     # the recipe's own version: bump it when what it runs changes
    name: sgin-t1                  # = the file name
    table: sgin-t1                 # the leaderboard table it fills (occbench leaderboard --tables)
    description: ...
    sources:                       # folders the user gives: occbench reproduce --source-dir NAME=PATH
      celebahq: {what: "the CelebAMask-HQ download", smoke: celebahq}   # smoke: a stand-in of standins.py
    occluders:                     # occluder banks: one build-occluders call per entry (options without --)
      natocc-bank: {builds: [{from: coco, annotations: "{source:coco}/…", …}], smoke: [{from: yolo, …}]}
    datasets:                      # build-dataset calls: a shipped protocol, or one derived from it
      sgin-val: {protocol: celebahq-natocc-sgin-256, source: celebahq, assets: natocc-bank, smoke: {limit: 2}}
      mf-train: {protocol: celeba-maskedfaces-256, derive: {name: celeba-maskedfaces-train-256,
                 set: {source: {split: train}}}, source: celeba}
    train:                         # occbench train calls (recipe = occbench ls recipes)
      detector: {recipe: sgin-detector, data: sgin-train, smoke: {resolution: 64, max_steps: 1, set: {…}}}
      sgin: {recipe: sgin, data: sgin-train, set: {parser_checkpoint: "{train:parser}"}, smoke: {max_steps: 1}}
    evaluate:
      flags: {metrics: [psnr, …], regions: [whole, zero_outside], modes: [raw]}   # the paper's convention
      runs:
        - {name: SGIN, method: sgin, checkpoint: "{train:sgin}", mask: predicted, params: {…}, data: sgin-val}
        - {name: DeepFill-v2, predictions: DeepFill-v2, masks_from: SGIN, data: sgin-val,    # a slot
           smoke: {method: telea}}
    leaderboard: {tables: [sgin-t1]}

Strings may name other entries: ``{source:NAME}`` (the folder given for a source), ``{data:NAME}`` (a built
dataset), ``{train:NAME}`` (that training's ``checkpoints/last.pt``). ``smoke`` blocks say how a step shrinks
under ``--smoke``: a dataset's ``limit``; a training's ``max_steps``, ``batch_size``, ``set`` (merged over the
full ``set``), ``data``/``val_data`` (another dataset, or null), ``resolution`` (train on the dataset rebuilt at
that size: the evaluation datasets keep the paper's protocol and resolution, which the leaderboard checks) and
``limit``; a prediction slot's ``method`` (a classical method whose predictions stand in for the missing ones, on
its first dataset). A slot's ``data`` may list several datasets: the user then gives one folder per dataset.
A slot's ``masks_from`` names a run of the recipe with ``mask: predicted``: the external method was given the
masks that run's method found (its ``pred_mask/``), so the slot is evaluated with ``--predicted-masks`` and its
rows are mask=predicted like the paper's.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError

FORMAT = 1
REFERENCE = re.compile(r"\{(source|data|train):([^{}]+)\}")
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
EVAL_FLAGS = {"metrics": list, "regions": list, "modes": list, "boundary_px": int, "lpips_net": str}
TRAIN_SMOKE = {"max_steps": int, "batch_size": int, "set": dict, "data": (str, type(None)),
               "val_data": (str, type(None)), "resolution": int, "limit": int}


class RecipeError(OccbenchError):
    """A recipe file that does not follow the schema."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    what: str
    smoke: str | None


@dataclass(frozen=True)
class OccluderSpec:
    name: str
    builds: tuple[dict[str, Any], ...]
    smoke: tuple[dict[str, Any], ...]
    note: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """``derive``: ``{name, set}``, a protocol written from ``protocol`` with ``set`` merged over it."""

    name: str
    protocol: str
    source: str | None
    assets: str | None
    derive: dict[str, Any] | None
    limit: int | None
    smoke: dict[str, Any]


@dataclass(frozen=True)
class TrainSpec:
    name: str
    recipe: str
    data: str
    val_data: str | None
    set: dict[str, Any]
    max_steps: int | None
    batch_size: int | None
    seed: int
    note: str
    smoke: dict[str, Any]


@dataclass(frozen=True)
class EvalSpec:
    """One ``evaluate`` call: ``method`` (occbench runs it) or ``predictions`` (a slot the user fills)."""

    name: str
    data: str
    method: str | None
    predictions: str | None  # the slot's method name
    slot: str | None  # the --predictions key: the method name, or NAME@DATASET when it covers several datasets
    checkpoint: str | None
    mask: str | None
    params: dict[str, Any]
    flags: dict[str, Any]
    note: str
    smoke: dict[str, Any]
    masks_from: str | None = None  # a slot's: the run (mask=predicted) whose pred_mask/ the external method got


@dataclass(frozen=True)
class Recipe:
    path: Path
    name: str
    version: int
    table: str
    description: str
    sources: dict[str, SourceSpec]
    occluders: dict[str, OccluderSpec]
    datasets: dict[str, DatasetSpec]
    train: dict[str, TrainSpec]
    runs: tuple[EvalSpec, ...]
    tables: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def slots(self) -> list[EvalSpec]:
        return [run for run in self.runs if run.predictions is not None]


class _Reader:
    """Typed access to one file's mappings; every error names the file and the dotted key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, got: Any) -> RecipeError:
        return RecipeError(f"{self.path}: {key}: Expected {expected}, but got {got!r}")

    def mapping(self, value: Any, key: str, allowed: dict[str, bool]) -> dict[str, Any]:
        """``value`` as a mapping whose keys are among ``allowed`` (name → required)."""
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping", value)
        for name in value:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), list(allowed), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise RecipeError(f"{self.path}: {key}.{name}: unknown key.{hint} Expected one of: "
                                  f"{', '.join(allowed)}")
        for name, required in allowed.items():
            if required and name not in value:
                raise RecipeError(f"{self.path}: {key}.{name}: missing")
        return value

    def get(self, data: dict[str, Any], name: str, key: str, types: type | tuple[type, ...], expected: str,
            default: Any = None) -> Any:
        value = data.get(name, default)
        if value is default and name not in data:
            return default
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in (
                types if isinstance(types, tuple) else (types,))):
            raise self.fail(f"{key}.{name}" if key else name, expected, value)
        return value

    def choice(self, value: Any, key: str, known: list[str] | tuple[str, ...], what: str) -> str:
        if value not in known:
            close = difflib.get_close_matches(str(value), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RecipeError(f"{self.path}: {key}: Expected {what}{hint}, but got {value!r}")
        return value


def _sources(r: _Reader, data: Any) -> dict[str, SourceSpec]:
    from occbench.reproduce.standins import BUILDERS

    if not isinstance(data, dict | None):
        raise r.fail("sources", "a mapping of source names to {what, smoke}", data)
    out = {}
    for name, entry in (data or {}).items():
        entry = r.mapping(entry, f"sources.{name}", {"what": True, "smoke": False})
        smoke = r.get(entry, "smoke", f"sources.{name}", (str, type(None)), "a stand-in name or null")
        if smoke is not None:
            r.choice(smoke, f"sources.{name}.smoke", list(BUILDERS), f"a smoke stand-in ({', '.join(BUILDERS)})")
        out[name] = SourceSpec(name, r.get(entry, "what", f"sources.{name}", str, "a description"), smoke)
    return out


def _build_list(r: _Reader, value: Any, key: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise r.fail(key, "a list of build-occluders option mappings (from, out-less options without --)", value)
    for i, build in enumerate(value):
        if "from" not in build or "licence" not in build:
            raise RecipeError(f"{r.path}: {key}[{i}]: Expected 'from' and 'licence' (build-occluders needs both), "
                              f"but got keys {sorted(build)}")
        if "out" in build:
            raise RecipeError(f"{r.path}: {key}[{i}].out: the runner chooses the bank folder; remove it")
    return tuple(value)


def _occluders(r: _Reader, data: Any) -> dict[str, OccluderSpec]:
    if not isinstance(data, dict | None):
        raise r.fail("occluders", "a mapping of bank names to {builds, smoke}", data)
    out = {}
    for name, entry in (data or {}).items():
        key = f"occluders.{name}"
        entry = r.mapping(entry, key, {"builds": True, "smoke": False, "note": False})
        builds = _build_list(r, entry["builds"], f"{key}.builds")
        smoke = _build_list(r, entry["smoke"], f"{key}.smoke") if "smoke" in entry else builds
        out[name] = OccluderSpec(name, builds, smoke, r.get(entry, "note", key, str, "text", ""))
    return out


def _protocol_names() -> list[str]:
    from occbench.protocol import shipped_protocols

    return list(shipped_protocols())


def _datasets(r: _Reader, data: Any) -> dict[str, DatasetSpec]:
    if not isinstance(data, dict) or not data:
        raise r.fail("datasets", "a mapping of dataset names to {protocol, source, ...}", data)
    shipped, out = _protocol_names(), {}
    for name, entry in data.items():
        key = f"datasets.{name}"
        entry = r.mapping(entry, key, {"protocol": True, "source": False, "assets": False, "derive": False,
                                       "limit": False, "smoke": False})
        r.choice(entry["protocol"], f"{key}.protocol", shipped, "a shipped protocol (occbench ls protocols)")
        derive = entry.get("derive")
        if derive is not None:
            derive = r.mapping(derive, f"{key}.derive", {"name": True, "set": True})
            if not SLUG.match(str(derive["name"])) or derive["name"] in shipped:
                raise r.fail(f"{key}.derive.name", "a new lower-case protocol name (not a shipped one)",
                             derive["name"])
            r.get(derive, "set", f"{key}.derive", dict, "a protocol fragment merged over the shipped one")
        smoke = r.mapping(entry.get("smoke") or {}, f"{key}.smoke", {"limit": False})
        for sub, where in ((entry, key), (smoke, f"{key}.smoke")):
            limit = r.get(sub, "limit", where, (int, type(None)), "a whole number >= 1 or null")
            if limit is not None and limit < 1:
                raise r.fail(f"{where}.limit", "a whole number >= 1", limit)
        out[name] = DatasetSpec(name, entry["protocol"], r.get(entry, "source", key, (str, type(None)), "a source"),
                                r.get(entry, "assets", key, (str, type(None)), "an occluders or sources name"),
                                derive, entry.get("limit"), dict(smoke))
    return out


def _train(r: _Reader, data: Any) -> dict[str, TrainSpec]:
    from occbench.registry import RECIPES

    if not isinstance(data, dict | None):
        raise r.fail("train", "a mapping of training names to {recipe, data, ...}", data)
    out = {}
    for name, entry in (data or {}).items():
        key = f"train.{name}"
        entry = r.mapping(entry, key, {"recipe": True, "data": True, "val_data": False, "set": False,
                                       "max_steps": False, "batch_size": False, "seed": False, "note": False,
                                       "smoke": False})
        r.choice(entry["recipe"], f"{key}.recipe", RECIPES.names(), "a training recipe (occbench ls recipes)")
        smoke = r.mapping(entry.get("smoke") or {}, f"{key}.smoke", {k: False for k in TRAIN_SMOKE})
        for sub, types in TRAIN_SMOKE.items():
            r.get(smoke, sub, f"{key}.smoke", types, f"{'a mapping' if types is dict else 'a value'} of type "
                                                     f"{getattr(types, '__name__', 'str or null')}")
        out[name] = TrainSpec(
            name, entry["recipe"], r.get(entry, "data", key, str, "a dataset name"),
            r.get(entry, "val_data", key, (str, type(None)), "a dataset name or null"),
            dict(r.get(entry, "set", key, dict, "a mapping of config keys to values", {})),
            r.get(entry, "max_steps", key, (int, type(None)), "a whole number or null"),
            r.get(entry, "batch_size", key, (int, type(None)), "a whole number or null"),
            r.get(entry, "seed", key, int, "a whole number", 0), r.get(entry, "note", key, str, "text", ""),
            dict(smoke))
    return out


def _flags(r: _Reader, value: Any, key: str) -> dict[str, Any]:
    from occbench.metrics import ALL_REGIONS, OUTPUT_MODES, selectable_metrics

    flags = r.mapping(value or {}, key, {k: False for k in EVAL_FLAGS})
    for name, types in EVAL_FLAGS.items():
        r.get(flags, name, key, types, "a list" if types is list else types.__name__)
    for name, known in (("metrics", selectable_metrics()), ("regions", ALL_REGIONS), ("modes", OUTPUT_MODES)):
        for i, item in enumerate(flags.get(name, [])):
            r.choice(item, f"{key}.{name}[{i}]", known, f"one of {', '.join(known)}")
    return dict(flags)


def _runs(r: _Reader, data: Any) -> tuple[dict[str, Any], tuple[EvalSpec, ...]]:
    from occbench.registry import METHODS

    evaluate = r.mapping(data, "evaluate", {"flags": False, "runs": True})
    flags = _flags(r, evaluate.get("flags"), "evaluate.flags")
    if not isinstance(evaluate["runs"], list) or not evaluate["runs"]:
        raise r.fail("evaluate.runs", "a non-empty list of runs", evaluate["runs"])
    runs = []
    for i, entry in enumerate(evaluate["runs"]):
        key = f"evaluate.runs[{i}]"
        entry = r.mapping(entry, key, {"name": True, "data": True, "method": False, "predictions": False,
                                       "checkpoint": False, "mask": False, "params": False, "flags": False,
                                       "note": False, "smoke": False, "masks_from": False})
        if ("method" in entry) == ("predictions" in entry):
            raise RecipeError(f"{r.path}: {key}: Expected exactly one of 'method' (occbench runs it) or "
                              f"'predictions' (a slot for an external method), but got "
                              f"{'both' if 'method' in entry else 'neither'}")
        method = entry.get("method")
        if method is not None:
            r.choice(method, f"{key}.method", METHODS.names(), "a registered method (occbench ls methods)")
        mask = r.get(entry, "mask", key, (str, type(None)), "given or predicted")
        if mask is not None:
            r.choice(mask, f"{key}.mask", ("given", "predicted"), "given or predicted")
        masks_from = r.get(entry, "masks_from", key, (str, type(None)), "the name of a run with mask: predicted")
        if masks_from is not None and method is not None:
            raise RecipeError(f"{r.path}: {key}.masks_from: only a prediction slot takes the masks of another run "
                              "(a method run by occbench records its own)")
        datasets = entry["data"] if isinstance(entry["data"], list) else [entry["data"]]
        if not datasets or not all(isinstance(d, str) for d in datasets) or (method and len(datasets) > 1):
            raise r.fail(f"{key}.data", "a dataset name (a list only for prediction slots)", entry["data"])
        smoke = r.mapping(entry.get("smoke") or {}, f"{key}.smoke", {"method": False})
        if "method" in smoke:
            if method is not None:
                raise RecipeError(f"{r.path}: {key}.smoke.method: only a prediction slot takes a stand-in method")
            r.choice(smoke["method"], f"{key}.smoke.method", METHODS.names(), "a registered method")
        for n, dataset in enumerate(datasets):
            slot = entry.get("predictions")
            if slot is not None and len(datasets) > 1:
                slot = f"{slot}@{dataset}"
            runs.append(EvalSpec(
                r.get(entry, "name", key, str, "the paper's row name"), dataset, method, entry.get("predictions"),
                slot,
                r.get(entry, "checkpoint", key, (str, type(None)), "a checkpoint ({train:NAME})"), mask,
                dict(r.get(entry, "params", key, dict, "a mapping of method parameters", {})),
                {**flags, **_flags(r, entry.get("flags"), f"{key}.flags")},
                r.get(entry, "note", key, str, "text", ""), dict(smoke) if n == 0 else {}, masks_from))
    for run in runs:
        if run.masks_from is None:
            continue
        sources = [s for s in runs if s.name == run.masks_from and s.data == run.data]
        if not sources or sources[0].method is None or sources[0].mask != "predicted":
            named = [f"{s.name} on {s.data}" for s in runs if s.method is not None and s.mask == "predicted"]
            raise RecipeError(f"{r.path}: evaluate.runs ({run.name}).masks_from: Expected the name of a run with "
                              f"mask: predicted on {run.data} ({', '.join(named) or 'none in this recipe'}), but "
                              f"got {run.masks_from!r}")
    return flags, tuple(runs)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _check_references(r: _Reader, recipe: Recipe) -> None:
    """Every ``{kind:NAME}`` and dataset/source/assets name points at an entry of the recipe."""
    known = {"source": recipe.sources, "data": recipe.datasets, "train": recipe.train}

    def check(value: Any, key: str) -> None:
        for text in _strings(value):
            for kind, name in REFERENCE.findall(text):
                if name not in known[kind]:
                    raise r.fail(key, f"a reference to one of {kind} {', '.join(known[kind]) or '(none)'}",
                                 f"{{{kind}:{name}}}")

    def name_in(value: str | None, table: dict, key: str, what: str) -> None:
        if value is not None and value not in table:
            raise r.fail(key, f"{what} ({', '.join(table) or 'none declared'})", value)

    for name, bank in recipe.occluders.items():
        check([*bank.builds, *bank.smoke], f"occluders.{name}")
    for name, ds in recipe.datasets.items():
        name_in(ds.source, recipe.sources, f"datasets.{name}.source", "a declared source")
        name_in(ds.assets, {**recipe.occluders, **recipe.sources}, f"datasets.{name}.assets",
                "a declared occluders or sources name")
    for name, tr in recipe.train.items():
        for field_name in ("data", "val_data"):
            name_in(getattr(tr, field_name), recipe.datasets, f"train.{name}.{field_name}", "a declared dataset")
            name_in(tr.smoke.get(field_name), recipe.datasets, f"train.{name}.smoke.{field_name}",
                    "a declared dataset")
        check([tr.set, tr.smoke.get("set", {})], f"train.{name}.set")
    for i, run in enumerate(recipe.runs):
        name_in(run.data, recipe.datasets, f"evaluate.runs[{i}].data", "a declared dataset")
        check([run.checkpoint, run.params], f"evaluate.runs[{i}]")


def parse_recipe(data: Any, path: Path) -> Recipe:
    """A validated :class:`Recipe` from parsed YAML ``data`` read from ``path``."""
    from occbench.leaderboard.conventions import TABLES

    r = _Reader(path)
    top = r.mapping(data, "(top level)", {"format": True, "version": True, "name": True, "table": True,
                                          "description": True, "sources": False, "occluders": False,
                                          "datasets": True, "train": False, "evaluate": True,
                                          "leaderboard": False})
    if top["format"] != FORMAT:
        raise r.fail("format", f"{FORMAT} (the recipe format this occbench reads)", top["format"])
    version, name = r.get(top, "version", "", int, "a whole number >= 1"), r.get(top, "name", "", str, "a name")
    if version < 1:
        raise r.fail("version", "a whole number >= 1", version)
    if not SLUG.match(name) or name != path.stem:
        raise r.fail("name", f"the file's name {path.stem!r} (lower-case letters, digits, '.', '_' or '-')", name)
    table = r.choice(top["table"], "table", list(TABLES), "a seed table (occbench leaderboard --help)")
    board = r.mapping(top.get("leaderboard") or {}, "leaderboard", {"tables": False})
    tables = board.get("tables", [table])
    for i, t in enumerate(tables if isinstance(tables, list) else [None]):
        r.choice(t, f"leaderboard.tables[{i}]", list(TABLES), "a seed table")
    _, runs = _runs(r, top["evaluate"])
    recipe = Recipe(path, name, version, table, r.get(top, "description", "", str, "text"),
                    _sources(r, top.get("sources")), _occluders(r, top.get("occluders")),
                    _datasets(r, top["datasets"]), _train(r, top.get("train")), runs, tuple(tables), top)
    _check_references(r, recipe)
    return recipe


def load_recipe(path: Path) -> Recipe:
    """Read and validate the recipe file ``path`` (strict YAML: no duplicate keys, no aliases)."""
    from occbench.yamlio import read_yaml_file

    return parse_recipe(read_yaml_file(path), path)

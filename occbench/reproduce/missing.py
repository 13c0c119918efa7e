"""What a recipe run lacks, found before anything runs: source folders, weight files, a GPU, external predictions.

Weight files are looked up as the commands themselves look them up (:func:`occbench.weights.find_weights`:
``--weights-dir``, ``$OCCBENCH_WEIGHTS``, the torch hub cache; digests checked). Consequences:

- a training whose ImageNet backbone (the VGG of its losses, BiSeNet's ResNet-18) is missing does not run, unless
  ``--allow-random-backbones`` (always under ``--smoke``; recorded in checkpoints and results);
- a metric whose network is missing is left out of the evaluations (a reproduced column stays empty), except
  LPIPS under ``--smoke``, which runs on a random trunk (``--allow-random-lpips``; results say so);
- no GPU is a warning: the paper-scale trainings take days on one;
- an unfilled ``--predictions`` slot leaves that method's rows empty; the rest runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRAIN_WEIGHTS = {"fgi": ("vgg16",), "mcsam": ("vgg16",), "sgenet": ("vgg16",), "sgin": ("vgg19",),
                 "sgin-parser": ("resnet18",)}
"""Training recipe → the ImageNet weight files (keys of :data:`occbench.weights.KNOWN`) its build loads."""


def train_weights(recipe: str) -> tuple[str, ...]:
    return TRAIN_WEIGHTS.get(recipe, ())


def metric_weights(metric: str, lpips_net: str = "alex") -> str | None:
    """The weight file key a metric needs (None: none, or dlib models that ship as a dependency)."""
    if metric == "lpips":
        return "alexnet" if lpips_net == "alex" else "vgg16"
    return "inception" if metric in ("fid", "kid") else None


_FOUND: dict[tuple[str, str], tuple[bool, str]] = {}


def weights_status(key: str, weights_dir: Path | None) -> tuple[bool, str]:
    """(found, its path or, when missing or refused, the reason) of weight file ``key``; cached per process."""
    from occbench.errors import OccbenchError
    from occbench.weights import find_weights

    cache_key = (key, str(weights_dir))
    if cache_key not in _FOUND:
        try:
            _FOUND[cache_key] = True, str(find_weights(key, weights_dir))
        except OccbenchError as exc:  # missing, or a digest occbench does not know
            _FOUND[cache_key] = False, str(exc)
    return _FOUND[cache_key]


@dataclass
class Missing:
    """Entries ``(category, item, message)`` (categories: sources, gpu, predictions) and, per missing weight
    file, what it affects; :meth:`lines` renders them."""

    smoke: bool = False
    weights_dir: Path | None = None
    entries: list[tuple[str, str, str]] = field(default_factory=list)
    weights: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # key -> consequence -> items
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)  # external method -> datasets, note

    def _add(self, category: str, item: str, message: str) -> None:
        if (category, item, message) not in self.entries:
            self.entries.append((category, item, message))

    def _weight(self, key: str, consequence: str, item: str) -> None:
        items = self.weights.setdefault(key, {}).setdefault(consequence, [])
        if item not in items:
            items.append(item)

    def note(self, category: str, item: str, message: str) -> None:
        self._add(category, item, message)

    def source(self, name: str, what: str, given: Path | None) -> None:
        if given is None:
            self._add("sources", name, f"not given: --source-dir {name}=PATH ({what})")
        elif not Path(given).exists():
            self._add("sources", name, f"{given} does not exist (--source-dir {name}=PATH: {what})")

    def shared(self, assets: Path | None) -> None:
        self._add("sources", "shared assets", f"{assets}: not found; --smoke builds its stand-ins from "
                                              "../shared/assets (set OCCBENCH_SHARED or --shared DIR)")

    def weights_for_training(self, train: str, keys: tuple[str, ...], random_ok: bool) -> list[str]:
        """Records missing backbone files of training ``train``; returns what blocks it (none if random_ok)."""
        from occbench.weights import KNOWN

        needs = []
        for key in keys:
            if not weights_status(key, self.weights_dir)[0]:
                self._weight(key, "random backbone" if random_ok else "blocked", train)
                if not random_ok:
                    needs.append(f"weights {KNOWN[key].filename}")
        return needs

    def metric(self, metric: str, lpips_net: str = "alex") -> tuple[bool, str, str]:
        """(keep the metric, note for the step, extra evaluate flag) given the weight files found."""
        from occbench.weights import KNOWN

        key = metric_weights(metric, lpips_net)
        if key is None or weights_status(key, self.weights_dir)[0]:
            return True, "", ""
        if metric == "lpips" and self.smoke:
            self._weight(key, "random lpips", metric)
            return True, "lpips on a random trunk (weights missing)", "--allow-random-lpips"
        self._weight(key, "dropped", metric)
        return False, f"{metric} left out ({KNOWN[key].filename} missing)", ""

    def slot(self, name: str, dataset: str, several: bool, note: str) -> None:
        """An unfilled slot: external method ``name`` on ``dataset`` (``several``: the slot covers more)."""
        entry = self.slots.setdefault(name, {"datasets": [], "several": several, "note": note})
        entry["datasets"].append(dataset)

    def _slot_lines(self) -> list[tuple[str, str, str]]:
        out = []
        for name, entry in self.slots.items():
            if entry["several"]:
                how = (f"--predictions {name}=DIR with DIR/<dataset>/<id>.png, or {name}@DATASET=DIR "
                       f"(datasets {', '.join(entry['datasets'])})")
            else:
                how = f"--predictions {name}=DIR (<id>.png per image of {entry['datasets'][0]})"
            out.append(("predictions", name, f"not given: {how}" + (f"; {entry['note']}" if entry["note"] else "")))
        return out

    def gpu(self) -> None:
        import torch

        if not torch.cuda.is_available():
            self._add("gpu", "cuda", "no GPU visible: training at the paper's scale takes days on a GPU and far "
                                     "longer on this CPU (--smoke runs the chain at tiny size instead)")

    def _weight_lines(self) -> list[tuple[str, str, str]]:
        from occbench.weights import KNOWN, search_dirs

        where = ", ".join(str(d) for d in search_dirs(self.weights_dir))
        out = []
        for key, effects in self.weights.items():
            spec = KNOWN[key]
            said = {"blocked": "training {} cannot run (get the file, or --allow-random-backbones for a wiring "
                               "check)",
                    "random backbone": "training {} uses a random backbone (recorded in checkpoints and results)",
                    "random lpips": "{} runs on a random trunk (--allow-random-lpips; results say so)",
                    "dropped": "{} left out of the evaluations (those columns stay empty)"}
            parts = [said[c].format(", ".join(items)) for c, items in effects.items()]
            out.append(("weights", spec.filename, f"not found ({spec.used_by}; {spec.size} from {spec.origin}; "
                                                  f"searched {where}): {'; '.join(parts)}"))
        return out

    def lines(self) -> list[str]:
        """The report, one line per entry, grouped by category."""
        entries = self.entries + self._weight_lines() + self._slot_lines()
        if not entries:
            return ["nothing missing"]
        order = ("sources", "weights", "gpu", "predictions")
        return [f"{cat:<12} {item}: {message}" for category in order for cat, item, message in entries
                if cat == category]

    def summary(self) -> str:
        """One line for ``--list``: what is missing, per category."""
        counts: dict[str, list[str]] = {category: [] for category in ("sources", "weights", "gpu", "predictions")}
        for category, item, _ in self.entries + self._weight_lines() + self._slot_lines():
            counts[category].append(item)
        counts = {category: items for category, items in counts.items() if items}
        parts = []
        for category, items in counts.items():
            if category == "predictions":
                parts.append(f"{len(items)} prediction slot{'s' * (len(items) != 1)} unfilled")
            else:
                parts.append("no GPU" if category == "gpu" else f"{category}: {', '.join(items)}")
        return "; ".join(parts) or "nothing missing"

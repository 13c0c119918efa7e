"""``occbench reproduce``: one command per seed-paper table, from a recipe file to a leaderboard page.

- :mod:`~occbench.reproduce.schema`: the recipe format (``leaderboards/recipes/<table>.yaml``) and its checks;
- :mod:`~occbench.reproduce.plan`: a recipe as ordered steps (occbench command lines, output folders, digests);
- :mod:`~occbench.reproduce.missing`: what a run lacks (sources, weights, GPU, external predictions);
- :mod:`~occbench.reproduce.standins`: the ``--smoke`` stand-ins built from ``../shared/assets``;
- :mod:`~occbench.reproduce.runner`: running the steps with resume, progress, logs and a state file.

The recipes ship with the package (``occbench/reproduce/recipes`` is a link to ``leaderboards/recipes`` in the
repository, resolved when the wheel is built).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from occbench.errors import OccbenchError
from occbench.reproduce.plan import Options, Plan, make_plan
from occbench.reproduce.runner import Outcome, Runner
from occbench.reproduce.schema import Recipe, RecipeError, load_recipe


def recipes_dir() -> Path:
    """Folder of the shipped recipes (package data ``occbench.reproduce.recipes``)."""
    return Path(__file__).parent / "recipes"


def shipped_recipes() -> dict[str, Path]:
    """Recipe name → file, in the order of the leaderboard's tables."""
    from occbench.leaderboard.conventions import TABLES

    found = {path.stem: path for path in recipes_dir().glob("*.yaml")}
    order = [name for name in TABLES if name in found] + sorted(set(found) - set(TABLES))
    return {name: found[name] for name in order}


def find_recipe(name_or_path: str | Path) -> Recipe:
    """A shipped recipe by name, or a recipe file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise OccbenchError(f"{path}: recipe file not found")
        return load_recipe(path)
    shipped = shipped_recipes()
    if str(name_or_path) not in shipped:
        close = difflib.get_close_matches(str(name_or_path), list(shipped), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise OccbenchError(f"Unknown recipe {str(name_or_path)!r}.{hint} Available: {', '.join(shipped)} "
                            "(occbench reproduce --list)")
    return load_recipe(shipped[str(name_or_path)])


def run_recipe(recipe: Recipe, options: Options, isolate: bool | None = None, progress: bool = True,
               threads: int | None = None) -> Outcome:
    """Plan and run ``recipe`` (``isolate`` default: child processes unless smoke); see
    :class:`~occbench.reproduce.runner.Runner`."""
    isolate = not options.smoke if isolate is None else isolate
    return Runner(make_plan(recipe, options), isolate=isolate, progress=progress, threads=threads).run()


__all__ = ["Options", "Outcome", "Plan", "Recipe", "RecipeError", "Runner", "find_recipe", "load_recipe",
           "make_plan", "recipes_dir", "run_recipe", "shipped_recipes"]

"""Run a plan's steps in order, with resume, a progress bar, a log per step, and going on past failures.

Each step's commands go through occbench's own entry point, :func:`occbench.cli.main`, with exactly the arguments
printed in its log. ``isolate=True`` (``occbench reproduce`` without ``--smoke``) runs each as
``python -m occbench …`` in a child process: paper-scale steps take hours, memory is returned between them, and a
crash, an out-of-memory kill or a CUDA fault ends only its step. ``isolate=False`` (with ``--smoke``) calls it in
this process: smoke steps take seconds, and importing torch, the metric networks and the baselines once instead of
once per step (about 4 s each) saves most of a smoke's time.

Resume: a step is complete when its output file exists beside the runner's marker (``.reproduce.json``, written
after the step's commands all succeeded) holding the same digest; complete steps are skipped, wherever they came
from (another recipe sharing them included). An interrupted step is simply run again: ``build-dataset`` and
``train`` resume from what they left. The state of every step (status, commands, time, log, error) is written to
``<work>/state/<recipe>[.smoke].json`` after each step.

Threads: ``occbench reproduce --smoke`` runs torch on one thread (``--threads``). Its steps are a few images and one
training step, which threads barely speed up, while on a machine that other work keeps busy two threads contend for
the cores: one SGIN training step took 9 s on one thread and 31 s on two beside another busy process (2 cores).

Statuses: ``done``, ``skipped`` (complete already), ``failed`` (see its log), ``missing`` (something the missing
report names), ``blocked`` (a step it needs did not succeed). The leaderboard runs with the evaluations that
succeeded.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from occbench.reproduce.plan import Plan, Step, slug

MARKER = ".reproduce.json"
STATE_FORMAT = "occbench-reproduce-state/1"
OK = ("done", "skipped")
SMOKE_BANNER = ("> **Smoke run** (`occbench reproduce {recipe} --smoke`): two stand-in images per dataset from "
                "`../shared/assets`, one training step on the CPU, random ImageNet backbones (and LPIPS trunk) where "
                "their files are missing. The reproduced rows check that the chain runs; they are not results.\n\n")


@dataclass
class Outcome:
    """Status per step key, the state file, and the leaderboard folder (None if it did not run)."""

    statuses: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    state: Path | None = None
    leaderboard: Path | None = None

    def count(self, status: str) -> int:
        return sum(s == status for s in self.statuses.values())

    @property
    def exit_code(self) -> int:
        """0 when every step is done or skipped, apart from unfilled prediction slots; else 1."""
        for key, status in self.statuses.items():
            if status not in OK and not (status == "missing" and self.details[key].startswith("predictions ")):
                return 1
        return 0


def state_file(plan: Plan) -> Path:
    return plan.options.work / "state" / f"{plan.recipe.name}{'.smoke' if plan.options.smoke else ''}.json"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def complete(step: Step) -> bool:
    """The step's output exists and the marker says it came from a step with this digest."""
    if not step.done or not (step.out / step.done).exists():
        return False
    try:
        return json.loads((step.out / MARKER).read_text(encoding="utf-8")).get("digest") == step.digest
    except (OSError, ValueError, AttributeError):
        return False


def _in_process(argv: list[str], log) -> int:
    from occbench.cli import main

    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            return main(argv)
        except SystemExit as exc:  # argparse's usage errors
            return exc.code if isinstance(exc.code, int) else 2
        except Exception:  # noqa: BLE001 - any failure of a step is recorded in its log; the run goes on
            traceback.print_exc(file=log)
            return 1


def _child(argv: list[str], log, threads: int | None) -> int:
    log.flush()
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {})}
    return subprocess.run([sys.executable, "-m", "occbench", *argv], stdout=log, stderr=subprocess.STDOUT,
                          env=env, check=False).returncode


def _last_error(log: Path) -> str:
    """The most telling line of a failed step's log: its last occbench error, else its last line."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("occbench: error:") or "Error:" in line]
    return (errors or lines or ["(empty log)"])[-1][:300]


class Runner:
    """Runs ``plan``; ``isolate``: each command in a child process; ``progress``: a bar over the steps;
    ``threads``: torch's intra-op threads while it runs (None: leave them; the previous count is restored)."""

    def __init__(self, plan: Plan, isolate: bool = False, progress: bool = True, threads: int | None = None) -> None:
        self.plan, self.isolate, self.progress, self.threads = plan, isolate, progress, threads
        self.outcome = Outcome(state=state_file(plan))
        self.logs = plan.options.work / "logs" / (plan.recipe.name + (".smoke" if plan.options.smoke else ""))
        self.state = self._load_state()

    def _load_state(self) -> dict[str, Any]:
        """The state file's steps that are still the plan's (a changed recipe drops the others)."""
        recipe, steps = self.plan.recipe, {}
        try:
            state = json.loads(self.outcome.state.read_text(encoding="utf-8"))
            if state.get("format") == STATE_FORMAT:
                keys = {step.key for step in self.plan.steps}
                steps = {key: value for key, value in state.get("steps", {}).items() if key in keys}
        except (OSError, ValueError, AttributeError):
            pass
        return {"format": STATE_FORMAT, "recipe": recipe.name, "recipe_version": recipe.version,
                "recipe_file": str(recipe.path), "smoke": self.plan.options.smoke, "work": str(self.plan.options.work),
                "steps": steps}

    def _decide(self, step: Step) -> tuple[str, str] | None:
        """(status, detail) for a step that is not to run now; None to run it."""
        if step.needs:
            return "missing", "; ".join(dict.fromkeys(step.needs))
        statuses = self.outcome.statuses
        failed = [d for d in step.deps if statuses.get(d) not in OK]
        if failed and (not step.soft or len(failed) == len(step.deps)):
            return "blocked", f"needs {failed[0]} ({statuses.get(failed[0], 'not run')})"
        if complete(step):
            return "skipped", f"complete in {step.out}"
        return None

    def _argv(self, step: Step) -> list[list[str]]:
        """The step's commands; a soft step's ``--results`` keep only the evaluations that succeeded."""
        commands = step.argv()
        if step.soft:
            dropped = {str(self.plan.step(d).out) for d in step.deps if self.outcome.statuses.get(d) not in OK}
            commands = [[a for a in cmd if a not in dropped] for cmd in commands]
        return commands

    def _execute(self, step: Step, log_path: Path) -> tuple[str, str]:
        (step.out / MARKER).unlink(missing_ok=True)
        commands = self._argv(step)
        with open(log_path, "w", encoding="utf-8") as log:
            print(f"# {step.title}\n# out: {step.out}", file=log)
            if step.action is not None:
                try:
                    step.action()
                except Exception as exc:  # noqa: BLE001 - recorded; later independent steps still run
                    traceback.print_exc(file=log)
                    return "failed", f"{type(exc).__name__}: {exc}"[:300]
            for argv in commands:
                print("$ occbench " + " ".join(_quote(a) for a in argv), file=log, flush=True)
                rc = _child(argv, log, self.threads) if self.isolate else _in_process(argv, log)
                if rc != 0:
                    log.flush()
                    return "failed", f"exit {rc}: {_last_error(log_path)}"
        step.out.mkdir(parents=True, exist_ok=True)
        _write_json(step.out / MARKER, {"digest": step.digest, "step": step.key, "commands": commands,
                                        "finished": _now()})
        if step.kind == "leaderboard" and self.plan.options.smoke:
            self._mark_smoke(step.out)
        return "done", str(step.out)

    def _mark_smoke(self, folder: Path) -> None:
        banner = SMOKE_BANNER.format(recipe=self.plan.recipe.name)
        for page in folder.glob("*.md"):
            text = page.read_text(encoding="utf-8")
            if not text.startswith(banner):
                page.write_text(banner + text, encoding="utf-8")
        self.outcome.leaderboard = folder

    def run(self) -> Outcome:
        if not self.threads or self.isolate:
            return self._run()
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._run()
        finally:
            torch.set_num_threads(previous)

    def _run(self) -> Outcome:
        from tqdm import tqdm

        self.logs.mkdir(parents=True, exist_ok=True)
        steps = self.plan.steps
        bar = tqdm(total=len(steps), unit="step", file=sys.stderr, disable=not self.progress, dynamic_ncols=True)
        try:
            for number, step in enumerate(steps, start=1):
                bar.set_description(step.key[:48])
                log_path = self.logs / f"{number:02d}-{slug(step.key)}.log"
                start = time.monotonic()
                decided = self._decide(step)
                status, detail = decided if decided else self._execute(step, log_path)
                seconds = time.monotonic() - start
                self.outcome.statuses[step.key], self.outcome.details[step.key] = status, detail
                if step.kind == "leaderboard" and status == "done":
                    self.outcome.leaderboard = step.out
                self.state["steps"][step.key] = {
                    "status": status, "detail": detail, "kind": step.kind, "title": step.title, "out": str(step.out),
                    "digest": step.digest, "commands": step.argv(), "needs": step.needs, "notes": step.notes,
                    "seconds": round(seconds, 2), "log": str(log_path) if decided is None else None,
                    "finished": _now()}
                self.state["updated"] = _now()
                _write_json(self.outcome.state, self.state)
                bar.update(1)
                line = f"{status:<8} {step.key}  ({seconds:.1f} s)" if decided is None else f"{status:<8} {step.key}"
                tqdm.write(f"{line}  {detail if status != 'done' else ''}".rstrip(), file=sys.stdout)
        except KeyboardInterrupt:
            self.state["interrupted"] = _now()
            _write_json(self.outcome.state, self.state)
            raise
        finally:
            bar.close()
        return self.outcome


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)

"""occbench reproduce: the recipe schema and its errors, the ten shipped recipes against the leaderboard's
conventions, --list, the missing report, resume and going on past a failed step, and the smoke runs on
../shared/assets (one in the default suite, all ten marked slow)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO, shared_path

from occbench.cli import main
from occbench.errors import OccbenchError
from occbench.leaderboard.conventions import TABLES
from occbench.leaderboard.reported import load_reported
from occbench.reproduce import Options, find_recipe, make_plan, shipped_recipes
from occbench.reproduce import missing as missing_module
from occbench.reproduce.plan import slug
from occbench.reproduce.schema import load_recipe

TINY = {
    "format": 1, "version": 1, "name": "tiny", "table": "fgi-t1",
    "description": "the built-in demo photographs, two classical methods and an external slot",
    "datasets": {"demo": {"protocol": "demo-center", "limit": 2}},
    "evaluate": {"flags": {"metrics": ["psnr", "ssim"], "regions": ["whole", "hole"], "modes": ["composite"]},
                 "runs": [{"name": "Telea", "method": "telea", "data": "demo"},
                          {"name": "Mean", "method": "mean-fill", "data": "demo"},
                          {"name": "External", "predictions": "External", "data": "demo"}]},
}


def _write(tmp_path: Path, data: dict, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


# ---- schema ----------------------------------------------------------------------------------------------------

def _mutate(path: str, value):
    def apply(data: dict) -> dict:
        data = copy.deepcopy(data)
        *parents, last = path.split("/")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
        return data
    return apply


@pytest.mark.parametrize(("change", "message"), [
    (_mutate("format", 2), "format: Expected 1 (the recipe format this occbench reads), but got 2"),
    (_mutate("evaluate/runs/0/mehtod", "x"), "evaluate.runs[0].mehtod: unknown key. Did you mean 'method'?"),
    (_mutate("description", KeyError), "(top level).description: missing"),
    (_mutate("name", "other"), "name: Expected the file's name 'tiny'"),
    (_mutate("table", "sgin-t9"), "table: Expected a seed table (occbench leaderboard --help) (did you mean "
                                  "'sgin-t2'?), but got 'sgin-t9'"),
    (_mutate("datasets/demo/protocol", "demo-centre"),
     "datasets.demo.protocol: Expected a shipped protocol (occbench ls protocols) (did you mean 'demo-center'?)"),
    (_mutate("datasets/demo/limit", 0), "datasets.demo.limit: Expected a whole number >= 1, but got 0"),
    (_mutate("evaluate/runs/0/method", "teela"), "evaluate.runs[0].method: Expected a registered method"),
    (_mutate("evaluate/runs/0/predictions", "X"), "evaluate.runs[0]: Expected exactly one of 'method'"),
    (_mutate("evaluate/runs/0/data", "demo2"), "evaluate.runs[0].data: Expected a declared dataset (demo)"),
    (_mutate("evaluate/runs/0/checkpoint", "{train:net}"),
     "evaluate.runs[0]: Expected a reference to one of train (none), but got '{train:net}'"),
    (_mutate("evaluate/flags/metrics", ["psnr", "lpisp"]), "evaluate.flags.metrics[1]: Expected one of psnr"),
    (_mutate("evaluate/runs/0/mask", "oracle"), "evaluate.runs[0].mask: Expected given or predicted"),
    (_mutate("evaluate/runs/2/masks_from", "Telea"),
     "evaluate.runs (External).masks_from: Expected the name of a run with mask: predicted on demo (none in this "
     "recipe), but got 'Telea'"),
    (_mutate("evaluate/runs/0/masks_from", "Mean"), "evaluate.runs[0].masks_from: only a prediction slot takes"),
    (_mutate("train", {"net": {"recipe": "fgii", "data": "demo"}}),
     "train.net.recipe: Expected a training recipe"),
    (_mutate("train", {"net": {"recipe": "fgi", "data": "demo", "smoke": {"max_step": 1}}}),
     "train.net.smoke.max_step: unknown key. Did you mean 'max_steps'?"),
    (_mutate("sources", {"faces": {"what": "x", "smoke": "celebhq"}}),
     "sources.faces.smoke: Expected a smoke stand-in"),
    (_mutate("occluders", {"bank": {"builds": [{"from": "coco"}]}}),
     "occluders.bank.builds[0]: Expected 'from' and 'licence'"),
    (_mutate("datasets/demo/derive", {"name": "demo-center", "set": {}}),
     "datasets.demo.derive.name: Expected a new lower-case protocol name"),
])
def test_schema_errors_name_the_file_and_key(tmp_path, change, message):
    path = _write(tmp_path, change(TINY))
    with pytest.raises(OccbenchError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value), str(info.value)


def test_schema_refuses_duplicate_keys_and_aliases(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False) + "name: tiny\n", encoding="utf-8")
    with pytest.raises(OccbenchError, match="duplicate key 'name'"):
        load_recipe(path)


# ---- the shipped recipes ---------------------------------------------------------------------------------------

def test_one_recipe_per_seed_table_each_following_its_convention():
    recipes = shipped_recipes()
    assert list(recipes) == list(TABLES)
    reported = load_reported()
    for name in recipes:
        recipe = find_recipe(name)
        spec = TABLES[recipe.table]
        assert recipe.name == recipe.table == name and recipe.tables == (name,)
        rows = {(r.method, r.variant) for r in reported if (r.paper, r.table) == (spec.paper, spec.table)}
        names = {_norm(m + v) for m, v in rows} | {_norm(v) if v else _norm(m) for m, v in rows}
        mine = [r for r in reported if (r.paper, r.table) == (spec.paper, spec.table)]
        columns = [spec.column(r.metric, r.region) for r in mine]
        protocols = set(spec.protocols.values())
        covered = set()
        for run in recipe.runs:
            protocol = recipe.datasets[run.data].protocol
            assert recipe.datasets[run.data].derive is None and protocol in protocols, (name, run.name)
            assert _norm(run.name) in names, f"{name}: {run.name!r} is none of the table's rows"
            if run.method is not None:
                assert (run.mask or "given") == spec.mask, (name, run.name)
            assert spec.mode in run.flags["modes"], (name, run.name)
            for column in columns:
                if column.metric:
                    assert column.metric in run.flags["metrics"] and column.region in run.flags["regions"], \
                        (name, column)
            covered.add((protocol, _norm(run.name)))
        # every (block, row) of the paper's table has a run or a prediction slot
        for r in reported:
            if (r.paper, r.table) == (spec.paper, spec.table):
                wanted = {_norm(r.method + r.variant), _norm(r.variant) if r.variant else _norm(r.method)}
                assert any(p == spec.protocols[(r.dataset, r.occlusion)] and n in wanted for p, n in covered), \
                    (name, r.dataset, r.occlusion, r.method, r.variant)


def test_recipes_share_steps_between_tables(tmp_path):
    """Equal commands get equal folders: Table 3's SGE-Net is Table 1's, and M-CSAM's tables share M-CSAM."""
    options = Options(work=tmp_path, smoke=True, assets=tmp_path / "assets")

    def outs(name: str) -> dict[str, Path]:
        return {s.key: s.out for s in make_plan(find_recipe(name), options).steps if s.kind in ("dataset", "train")}

    t1, t3, m1, m2 = outs("sgenet-t1"), outs("sgenet-t3"), outs("mcsam-t1"), outs("mcsam-t2")
    assert t1["train:sgenet-ost"] == t3["train:sgenet-ost"] and t1["train:sgnet-ost"] == t3["train:sgnet-ost"]
    assert m1["train:mcsam"] == m2["train:mcsam"] and m1["dataset:mf-test-n2"] == m2["dataset:mf-test-n2"]
    assert m2["train:mcsam-full"] != m2["train:mcsam"]
    fgi1 = {s.key: s.out for s in make_plan(find_recipe("fgi-t1"), options).steps}
    fgi2 = {s.key: s.out for s in make_plan(find_recipe("fgi-t2"), options).steps}
    assert fgi1["evaluate:Foreground-guided@qdimd-test"] == fgi2["evaluate:Foreground-guided@qdimd-test"]


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom occbench.cli import main\ntry:\n    main(['reproduce', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint(sorted({'torch', 'cv2', 'numpy', 'pandas'} & {m.split('.')[0] for m in sys.modules}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "[]", result.stderr[-2000:]
    assert "--predictions METHOD=DIR" in result.stdout


# ---- --list and the missing report -----------------------------------------------------------------------------

def test_list_shows_every_recipe_with_its_table_and_what_is_missing(tmp_path, capsys):
    assert main(["reproduce", "--list", "--work", str(tmp_path), "--source-dir", "celeba=/nowhere"]) == 0
    out = capsys.readouterr().out
    for name, spec in TABLES.items():
        assert re.search(rf"^{name}\s+{name}\s+{re.escape(spec.title)}$", out, re.M), name
    assert out.count("missing: ") == 10 and out.count("smoke: ") == 10
    assert "sources: celebahq, coco, egohands, helen" in out and "6 prediction slots unfilled" in out
    assert "sources: celeba;" in out  # given, but /nowhere does not exist


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """Nowhere to find weight files, and no GPU."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("OCCBENCH_WEIGHTS", raising=False)
    monkeypatch.setattr(missing_module, "_FOUND", {})
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    return tmp_path / "no-weights"


def test_missing_report_names_sources_weights_gpu_and_slots(tmp_path, no_weights):
    recipe = find_recipe("sgin-t1")
    plan = make_plan(recipe, Options(work=tmp_path / "w", weights_dir=no_weights))
    text = "\n".join(plan.missing.lines())
    for expected in ("--source-dir celebahq=PATH", "--source-dir coco=PATH", "--source-dir helen=PATH",
                     "vgg19-dcbb9e9d.pth: not found", "training sgin cannot run",
                     "resnet18-f37072fd.pth", "alexnet-owt-7be5be79.pth", "lpips left out of the evaluations",
                     "weights-inception-2015-12-05-6726825d.pth", "no GPU visible",
                     "--predictions DeepFill-v2=DIR", "--predictions MAT=DIR"):
        assert expected in text, expected
    steps = {s.key: s for s in plan.steps}
    assert "source celebahq" in steps["dataset:sgin-val"].needs
    assert steps["evaluate:MAT@sgin-val"].needs == ["predictions MAT"]
    assert "--metrics psnr ssim ms_ssim rmse --regions" in " ".join(steps["evaluate:SGIN@sgin-val"].argv()[0])
    # given sources, predictions and --allow-random-backbones, only weights and the GPU remain
    dirs = {name: tmp_path for name in ("celebahq", "coco", "egohands", "helen")}
    preds = {name: tmp_path for name in ("DeepFill-v2", "Crfill", "PsP", "E4E", "SEAN", "MAT")}
    plan = make_plan(recipe, Options(work=tmp_path / "w", weights_dir=no_weights, source_dirs=dirs,
                                     predictions=preds, allow_random_backbones=True))
    assert {c for c, _, _ in plan.missing.entries} == {"gpu"}
    assert all(not s.needs for s in plan.steps)
    assert "training sgin uses a random backbone" in "\n".join(plan.missing.lines())


def test_slots_over_several_datasets_take_one_folder_per_dataset(tmp_path, no_weights):
    (tmp_path / "gc" / "ost-irregular").mkdir(parents=True)
    (tmp_path / "ec").mkdir()
    options = Options(work=tmp_path, predictions={"GC": tmp_path / "gc", "EC@cs-center": tmp_path / "ec"})
    steps = {s.key: s for s in make_plan(find_recipe("sgenet-t1"), options).steps}
    assert str(tmp_path / "gc" / "ost-irregular") in steps["evaluate:GC@ost-irregular"].argv()[0]
    assert str(tmp_path / "ec") in steps["evaluate:EC@cs-center"].argv()[0]
    assert steps["evaluate:EC@ost-center"].needs == ["predictions EC@ost-center"]
    assert steps["evaluate:GC@ost-center"].needs == ["predictions GC@ost-center"]  # gc/ost-center/ does not exist
    # names the recipe does not have are reported, not silently ignored
    plan = make_plan(find_recipe("sgenet-t1"), Options(work=tmp_path, source_dirs={"cityscape": tmp_path},
                                                      predictions={"GatedConv": tmp_path}))
    text = "\n".join(plan.missing.lines())
    assert "cityscape: --source-dir cityscape=... is not used: sgenet-t1 has cityscapes, nvidia-masks, ost" in text
    assert "GatedConv: --predictions GatedConv=... is not used" in text


def test_nothing_given_reports_and_runs_nothing(tmp_path, capsys):
    code = main(["reproduce", "mcsam-t1", "--work", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1 and "sources      celeba: not given: --source-dir celeba=PATH" in out
    assert "missing  dataset:mf-train  source celeba" in out
    assert "blocked  train:segmenter  needs dataset:mf-train (missing)" in out
    state = json.loads((tmp_path / "state" / "mcsam-t1.json").read_text())
    assert state["steps"]["evaluate:CSA@mf-test"]["status"] == "missing"


# ---- running: resume, failures ---------------------------------------------------------------------------------

def _statuses(work: Path, name: str = "tiny") -> dict[str, str]:
    state = json.loads((work / "state" / f"{name}.json").read_text())
    return {key: step["status"] for key, step in state["steps"].items()}


def test_resume_skips_finished_steps_and_goes_on_past_a_failure(tmp_path, capsys):
    recipe, work, external = _write(tmp_path, TINY), tmp_path / "work", tmp_path / "external"
    external.mkdir()
    argv = ["reproduce", str(recipe), "--work", str(work), "--no-progress", "--device", "cpu", "--in-process",
            "--predictions", f"External={external}"]
    assert main(argv) == 1  # the external folder is empty: that step fails, the rest runs
    assert _statuses(work) == {"dataset:demo-n2": "done", "evaluate:Telea@demo": "done", "evaluate:Mean@demo": "done",
                               "evaluate:External@demo": "failed", "leaderboard": "done"}
    out = capsys.readouterr().out
    assert "failed evaluate:External@demo: exit 2: occbench: error:" in out
    state = json.loads((work / "state" / "tiny.json").read_text())
    log = Path(state["steps"]["evaluate:External@demo"]["log"])
    assert "$ occbench evaluate --predictions" in log.read_text() and "occbench: error:" in log.read_text()
    page = (work / "leaderboards" / "tiny" / "fgi-t1.md").read_text()
    assert "Smoke run" not in page  # not a smoke: the page is as `occbench leaderboard` writes it
    telea = Path(state["steps"]["evaluate:Telea@demo"]["out"])
    mtime = (telea / "results.json").stat().st_mtime_ns

    start = time.monotonic()
    assert main(argv) == 1
    assert _statuses(work) == {"dataset:demo-n2": "skipped", "evaluate:Telea@demo": "skipped",
                               "evaluate:Mean@demo": "skipped", "evaluate:External@demo": "failed",
                               "leaderboard": "done"}
    assert (telea / "results.json").stat().st_mtime_ns == mtime and time.monotonic() - start < 30
    capsys.readouterr()

    for png in (telea / "pred").glob("*.png"):  # the slot filled: only that step (and the page) run now
        shutil.copy(png, external / png.name)
    assert main(argv) == 0
    statuses = _statuses(work)
    assert statuses["evaluate:External@demo"] == "done" and statuses["evaluate:Telea@demo"] == "skipped"
    # a step whose output was removed runs again
    shutil.rmtree(telea)
    assert main(argv) == 0 and _statuses(work)["evaluate:Telea@demo"] == "done"
    assert "--name Telea" in " ".join(json.loads((telea / ".reproduce.json").read_text())["commands"][0])


def test_slots_on_predicted_masks_get_the_masks_of_their_run(tmp_path, no_weights):
    """SGIN Table 1's comparison methods were given SGIN's detector masks: their evaluations read the SGIN run's
    pred_mask/ through --predicted-masks (and wait for it), so they land in the paper's mask=predicted rows."""
    for name, source, slot in (("sgin-t1", "SGIN", "DeepFill-v2"), ("mcsam-t1", "M-CSAM", "GatedConv")):
        steps = {s.key: s for s in make_plan(find_recipe(name), Options(work=tmp_path / name,
                                                                         weights_dir=no_weights)).steps}
        runs = {key: step for key, step in steps.items() if step.kind == "evaluate"}
        origin = next(step for key, step in runs.items() if key.startswith(f"evaluate:{slug(source)}@"))
        external = next(step for key, step in runs.items() if key.startswith(f"evaluate:{slug(slot)}@"))
        command = external.commands[0]
        assert command[command.index("--predicted-masks") + 1] == str(origin.out / "pred_mask"), name
        assert origin.key in external.deps
        assert "--predicted-masks" not in origin.commands[0]


def test_dry_run_prints_commands_and_runs_nothing(tmp_path, capsys):
    recipe = _write(tmp_path, TINY)
    assert main(["reproduce", str(recipe), "--work", str(tmp_path / "w"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "occbench build-dataset demo-center --out" in out and "--limit 2" in out
    assert "missing: predictions External" in out and not (tmp_path / "w" / "datasets").exists()


# ---- smoke runs on ../shared/assets ----------------------------------------------------------------------------

def _smoke(name: str, work: Path) -> tuple[int, float]:
    start = time.monotonic()
    code = main(["reproduce", name, "--smoke", "--work", str(work), "--no-progress"])
    return code, time.monotonic() - start


def _check_smoke_page(work: Path, name: str) -> None:
    page = (work / "smoke" / "leaderboards" / name / f"{name}.md").read_text()
    assert page.startswith("> **Smoke run**") and "reproduced [r1]" in page, name
    statuses = _statuses(work, f"{name}.smoke")
    assert not {k for k, s in statuses.items() if s in ("failed", "blocked")}, statuses


def test_smoke_fgi_end_to_end(tmp_path, capsys):
    """The cheapest recipe through the whole chain on the shared assets (about 20 s on 2 cores)."""
    shared_path("assets")
    code, _ = _smoke("fgi-t1", tmp_path)
    assert code == 0
    _check_smoke_page(tmp_path, "fgi-t1")
    statuses = _statuses(tmp_path, "fgi-t1.smoke")
    assert statuses["train:fgi"] == "done" and statuses["evaluate:CE@qdimd-test"] == "done"  # a smoke stand-in
    assert statuses["evaluate:PConv@qdimd-test"] == "missing"
    results = json.loads(next((tmp_path / "smoke" / "evaluate").glob("Foreground-guided-*/results.json")).read_text())
    assert results["dataset"]["protocol"] == "celebahq-qdimd-256" and results["dataset"]["samples"] == 2
    # fgi-t2 runs the same commands: everything but its page is already done
    code, seconds = _smoke("fgi-t2", tmp_path)
    assert code == 0 and seconds < 15
    assert {s for k, s in _statuses(tmp_path, "fgi-t2.smoke").items() if k != "leaderboard"} <= {"skipped", "missing"}
    _check_smoke_page(tmp_path, "fgi-t2")
    capsys.readouterr()


@pytest.mark.slow
def test_smoke_of_every_recipe(tmp_path, capsys):
    """All ten smoke runs in one work folder (shared datasets and trainings); the sum is printed."""
    shared_path("assets")
    times = {}
    for name in shipped_recipes():
        code, times[name] = _smoke(name, tmp_path)
        assert code == 0, name
        _check_smoke_page(tmp_path, name)
    capsys.readouterr()
    with capsys.disabled():  # the per-recipe times, shown with the test's progress
        print(" smoke seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items())
              + f"; total {sum(times.values()):.0f}")


@pytest.mark.slow
def test_isolated_steps_run_as_child_processes(tmp_path, capsys):
    """Without --smoke each command runs as `python -m occbench`; a failure there is recorded the same way."""
    data = copy.deepcopy(TINY)
    data["evaluate"]["runs"] = data["evaluate"]["runs"][:1]
    recipe = _write(tmp_path, data)
    assert main(["reproduce", str(recipe), "--work", str(tmp_path / "w"), "--no-progress", "--device", "cpu"]) == 0
    assert set(_statuses(tmp_path / "w").values()) == {"done"}
    data["evaluate"]["runs"][0]["params"] = {"radius": -3}
    assert main(["reproduce", str(_write(tmp_path, data)), "--work", str(tmp_path / "w"), "--no-progress"]) == 1
    assert _statuses(tmp_path / "w")["evaluate:Telea@demo"] == "failed"
    capsys.readouterr()


@pytest.mark.slow
def test_wheel_ships_the_recipes(tmp_path):
    """occbench/reproduce/recipes links to leaderboards/recipes; the wheel holds the files themselves."""
    source = tmp_path / "src"
    for name in ("occbench", "baselines", "protocols"):  # copytree follows the link
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True)
    names = zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))).namelist()
    for recipe in (REPO / "leaderboards" / "recipes").glob("*.yaml"):
        assert f"occbench/reproduce/recipes/{recipe.name}" in names


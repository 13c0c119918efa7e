"""``occbench compare``: means with bootstrap confidence intervals and paired, Holm-corrected tests between runs on
the same dataset (conventions in :mod:`occbench.stats`); FID/KID shown with their sample count and KID's std."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_bootstrap, emit

DEFAULT_REGIONS = ("whole", "hole")
DEFAULT_MODES = ("composite",)
DATASET_FIELDS = ("protocol", "version", "content_hash", "content_sha256")
"""results.json ``dataset`` keys that must agree between compared runs (those both files record)."""
EPILOG = """examples:
  occbench compare runs/demo/telea runs/demo/navier-stokes
  occbench compare runs/c256/* --metrics psnr ssim lpips fid kid --regions whole hole --modes composite raw
  occbench compare runs/c256/telea runs/c256/lama --test bootstrap --resamples 5000 --seed 1 --out compare.md
  occbench compare runs/c256/lama runs/c256-v2/lama --allow-different-data --out compare.csv

Intervals: BCa bootstrap of the mean over images (seeded). Pairs: Wilcoxon signed-rank or paired bootstrap on the
sample ids both runs scored, Holm-corrected over all pairs of each metric/region/mode. See occbench/stats.py.
"""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"Expected a number between 0 and 1 (e.g. 0.95), but got {text!r}")
    return value


def _check_same_data(runs: list[dict], allow: bool) -> str:
    """Refuse runs whose results.json record different datasets (unless ``allow``); returns a note when allowed."""
    from occbench.errors import OccbenchError
    from occbench.report.results import SOURCE_KEY

    first = runs[0]["dataset"]
    for other in runs[1:]:
        theirs = other["dataset"]
        diffs = [f"dataset.{k}: {first[k]!r} vs {theirs[k]!r}" for k in DATASET_FIELDS
                 if first.get(k) is not None and theirs.get(k) is not None and first[k] != theirs[k]]
        if diffs and not allow:
            raise OccbenchError(f"{other[SOURCE_KEY]} was evaluated on a different dataset than {runs[0][SOURCE_KEY]} "
                                f"({'; '.join(diffs)}); paired statistics need the same samples. Pass "
                                "--allow-different-data to compare anyway (samples are then paired by id only)")
        if diffs:
            return f"note: the runs are on different datasets ({'; '.join(diffs)}); samples are paired by id only"
    return ""


def _labels(runs: list[dict]) -> list[str]:
    """Display labels as `occbench table` makes them, made unique across datasets too."""
    from occbench.report.results import method_labels

    labels = method_labels(runs)
    return [f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _dataset_rows(runs: list[dict], labels: list[str], metrics, regions, modes):
    """FID/KID rows of results.json (value, KID std and subset size, sample count), filtered like the scores."""
    import pandas as pd

    rows = [{"run": label, "metric": dm["metric"], "region": dm["region"], "mode": dm["mode"],
             "better": dm.get("better"), "value": dm.get("value"), "std": dm.get("std"), "n": dm.get("count"),
             "subset_size": dm.get("subset_size")}
            for label, results in zip(labels, runs) for dm in results.get("dataset_metrics") or []
            if (metrics is None or dm["metric"] in metrics) and dm["region"] in regions and dm["mode"] in modes]
    return pd.DataFrame(rows, columns=["run", "metric", "region", "mode", "better", "value", "std", "n",
                                       "subset_size"])


def _resolve_selection(scores: dict, runs: list[dict], args: argparse.Namespace) -> None:
    """Fill the default regions and modes (those of the defaults the runs have) and refuse a requested metric,
    region or mode that no run has, naming the files and what they have."""
    from occbench.errors import OccbenchError
    from occbench.report.results import scores_path

    for column, defaults in (("metric", None), ("region", DEFAULT_REGIONS), ("mode", DEFAULT_MODES)):
        present = set().union(*(set(frame[column]) for frame in scores.values()),
                              *({dm[column] for dm in r.get("dataset_metrics") or []} for r in runs))
        chosen = getattr(args, f"{column}s")
        if chosen is None and defaults is not None:
            setattr(args, f"{column}s", [name for name in defaults if name in present] or sorted(present))
        unknown = [name for name in chosen or () if name not in present]
        if unknown:
            files = ", ".join(str(scores_path(r)) for r in runs)
            raise OccbenchError(f"--{column}s: {', '.join(unknown)} not in {files}. Available: "
                                f"{', '.join(sorted(present)) or 'none'}")


def _num(value, decimals: int, scale: float = 1.0, sign: str = "") -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value * scale:{sign}.{decimals}f}"
    return f"{0:.{decimals}f}" if float(text) == 0 else text  # no "-0.00" for a difference that rounds to 0


def _p(value: float) -> str:
    return "–" if value != value else (f"{value:.3f}" if value >= 0.001 else f"{value:.1e}")


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def render(means, pairs, dataset, intro: list[str], args: argparse.Namespace) -> str:
    """The Markdown report: intro lines, means with intervals, pairwise differences, dataset-level metrics."""
    from occbench.metrics import metric_info

    pct = f"{args.confidence:.0%}" if round(args.confidence * 100, 6).is_integer() else f"{args.confidence:.1%}"
    arrow = {"higher": "↑", "lower": "↓"}
    lines = [*intro, "", f"## Means with {pct} CI (n = images scored; empty regions (NaN) dropped)", ""]
    rows = []
    for r in means.itertuples():
        info = metric_info(r.metric)
        rows.append([r.run, info.header(), r.region, r.mode, str(r.n), _num(r.mean, info.decimals, info.scale),
                     f"[{_num(r.ci_low, info.decimals, info.scale)}, {_num(r.ci_high, info.decimals, info.scale)}]"])
    lines += _md(["run", "metric", "region", "mode", "n", "mean", f"{pct} CI"], rows)
    if len(pairs):
        lines += ["", "## Paired differences A − B (on the sample ids both runs scored)", ""]
        rows = []
        for r in pairs.itertuples():
            info = metric_info(r.metric)
            mark = "–" if r.p_holm != r.p_holm else ("*" if r.significant else "=")
            rows.append([r.run_a, r.run_b, f"{info.header()} {arrow.get(r.better, '')}", r.region, r.mode,
                         str(r.n_paired), _num(r.mean_diff, info.decimals, info.scale, "+"),
                         f"[{_num(r.ci_low, info.decimals, info.scale, '+')}, "
                         f"{_num(r.ci_high, info.decimals, info.scale, '+')}]", _p(r.p_value), _p(r.p_holm), mark,
                         r.better_run or "–"])
        lines += _md(["A", "B", "metric", "region", "mode", "n paired", "A − B", f"{pct} CI", "p", "p Holm", "",
                      "better"], rows)
        lines += ["", f"`*` significant (Holm-adjusted p < {args.alpha:g}; `better` names the better run by the "
                      "metric's direction), `=` not significant."]
    if len(dataset):
        lines += ["", "## Dataset-level metrics (one value per image set: no CI or paired test applies)", ""]
        rows = []
        for r in dataset.itertuples():
            info = metric_info(r.metric)
            rows.append([r.run, info.header(), r.region, r.mode, _num(r.value, info.decimals, info.scale),
                         _num(r.std, info.decimals, info.scale) if r.metric == "kid" else "–",
                         "–" if r.n is None or r.n != r.n else str(int(r.n)),
                         "–" if r.subset_size is None or r.subset_size != r.subset_size else str(int(r.subset_size))])
        lines += _md(["run", "metric", "region", "mode", "value", "KID std", "n images", "KID subset"], rows)
    return "\n".join(lines) + "\n"


def _intro(runs: list[dict], labels: list[str], scores: dict, note: str, args: argparse.Namespace) -> list[str]:
    dataset = runs[0]["dataset"]
    ids = [set(frame["id"]) for frame in scores.values()]
    counts = ", ".join(f"{label}: {len(s)}" for label, s in zip(labels, ids))
    test = "Wilcoxon signed-rank" if args.test == "wilcoxon" else "paired bootstrap (shifted null)"
    n_pairs = len(runs) * (len(runs) - 1) // 2
    lines = [f"# occbench compare: {len(runs)} runs on {dataset.get('protocol')} v{dataset.get('version')} "
             f"(dataset {str(dataset.get('content_sha256') or '?')[:12]})", "",
             f"Samples scored per run: {counts}; {len(set.intersection(*ids))} sample ids shared by all runs "
             "(paired statistics use the ids each pair shares).",
             f"Intervals: BCa bootstrap of the mean over images, {args.resamples} resamples, seed {args.seed}. "
             f"Paired test: {test}, two-sided, Holm-corrected over the {n_pairs} pair{'s' * (n_pairs > 1)} of each "
             f"metric/region/mode."]
    return lines + ([note] if note else [])


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from occbench.errors import OccbenchError
    from occbench.report.results import load_results, read_scores, scores_path
    from occbench.stats import compare_scores

    if len(args.runs) < 2:
        raise OccbenchError(f"compare needs at least two runs, but got {len(args.runs)}: {args.runs[0]}")
    runs = load_results(args.runs)
    note = _check_same_data(runs, args.allow_different_data)
    labels = _labels(runs)
    scores = {label: read_scores(results, "compare") for label, results in zip(labels, runs)}
    _resolve_selection(scores, runs, args)
    better = {agg["metric"]: agg["better"] for results in runs for agg in results.get("aggregates") or []
              if agg.get("better") in ("higher", "lower")}
    try:
        means, pairs = compare_scores(scores, metrics=args.metrics, regions=args.regions, modes=args.modes,
                                      better=better, test=args.test, confidence=args.confidence,
                                      n_resamples=args.resamples, seed=args.seed, alpha=args.alpha)
    except ValueError as exc:  # a malformed scores.csv (duplicate rows, missing columns): name the files
        files = ", ".join(f"{label} = {scores_path(results)}" for label, results in zip(labels, runs))
        raise OccbenchError(f"{exc} ({files})") from None
    dataset = _dataset_rows(runs, labels, args.metrics, args.regions, args.modes)
    if not len(means) and not len(dataset):
        raise OccbenchError("nothing to compare: no scores for the chosen --metrics, --regions and --modes")
    if args.out and args.out.suffix == ".csv":
        settings = {"confidence": args.confidence, "resamples": args.resamples, "seed": args.seed}
        table = pd.concat([means.assign(table="mean", **settings),
                           pairs.assign(table="pair", test=args.test, alpha=args.alpha, **settings),
                           dataset.assign(table="dataset")], ignore_index=True)
        text = table[["table", *[c for c in table.columns if c != "table"]]].to_csv(index=False)
    else:
        text = render(means, pairs, dataset, _intro(runs, labels, scores, note, args), args)
    emit(text, args.out)
    return 0


def _out_file(text: str) -> Path:
    path = Path(text)
    if path.suffix not in (".csv", ".md"):
        raise argparse.ArgumentTypeError(f"Expected a file ending in .csv or .md, but got {text!r}")
    return path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare", help="means with bootstrap CIs and paired significance tests between runs on the same dataset",
        description="For every mean a BCa bootstrap confidence interval over images; for every pair of runs the "
                    "mean difference on the samples both scored, its interval and a paired test (Wilcoxon "
                    "signed-rank or paired bootstrap), Holm-corrected over the pairs. FID/KID are printed with "
                    "their sample count (and KID's std): one value per image set, so no interval or test. Runs on "
                    "different datasets (results.json dataset fingerprint) are refused. Prints Markdown to stdout "
                    "unless --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                        help="two or more run folders (results.json with scores.csv beside it) or results.json files")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="metrics to show (default: all in the runs)")
    parser.add_argument("--regions", nargs="+", metavar="REGION",
                        help="regions to show (default: whole and hole, those the runs have)")
    parser.add_argument("--modes", nargs="+", metavar="MODE",
                        help="output modes to show: composite, raw (default: composite)")
    parser.add_argument("--confidence", type=_fraction, default=0.95, help="interval level (default 0.95)")
    add_bootstrap(parser)
    parser.add_argument("--test", choices=("wilcoxon", "bootstrap"), default="wilcoxon",
                        help="paired test: wilcoxon (signed-rank, scipy) or bootstrap (paired, shifted null); "
                             "default wilcoxon")
    parser.add_argument("--alpha", type=_fraction, default=0.05,
                        help="significance level of the Holm-adjusted p-values (default 0.05)")
    parser.add_argument("--allow-different-data", action="store_true",
                        help="compare runs whose results.json record different datasets (samples paired by id)")
    parser.add_argument("--out", type=_out_file, metavar="FILE.csv|FILE.md",
                        help="write to this file instead of stdout: .md the printed tables, .csv one tidy table "
                             "(column 'table': mean, pair or dataset)")
    parser.set_defaults(func=run)

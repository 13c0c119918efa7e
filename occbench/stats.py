"""Confidence intervals and paired tests over per-image scores: what a bare mean does not say.

Conventions (the numbers ``occbench compare`` and ``occbench table --ci`` print):

- **Confidence interval of a mean**: BCa bootstrap (bias-corrected and accelerated; Efron & Tibshirani 1993,
  ch. 14) over images, ``n_resamples`` resamples drawn with replacement, percentiles by linear interpolation.
  The bias correction ``z0`` counts ties with the observed mean as half (so a constant sample gives the point
  interval); the acceleration ``a`` comes from the jackknife means. BCa was chosen over the plain percentile
  interval because it corrects for skewed per-image scores. Measured coverage of a nominal 95 % interval (4000
  synthetic samples each): at n = 50, 93.4 % (Gamma, shape 2), 93.9 % (exponential), 93.9 % (normal), 90.6 %
  (lognormal, sigma 1), against 93.0 %, 92.0 % and 89.3 % for the percentile interval on the skewed three; at
  n = 200, 94.9 % (Gamma). Small samples of strongly skewed scores undercover; benchmark sizes do not.
- **NaN** scores are samples whose region is empty (docs/conventions.md §5): they are dropped and counted
  (``nan_count``), never averaged in. Infinite scores (PSNR of an exact copy) make the mean infinite and the
  interval undefined (NaN bounds).
- **Randomness**: every resample comes from ``numpy.random.default_rng(seed)``, never the global RNG. In
  :func:`compare_scores` every cell and pair starts a fresh generator from the same ``seed``: a cell's interval
  is exactly ``bootstrap_ci(its values, seed=seed)`` whatever else was selected, and equal scores (raw and
  composite of a method that copies known pixels) get equal intervals. :func:`bootstrap_cis` gives those same
  intervals for many samples at once, drawing the resampling indices once per sample size.
- **Paired differences** are ``a - b`` over the sample ids present in both with finite values in both. The
  interval of the mean difference is the same BCa bootstrap. The p-value is two-sided: ``wilcoxon`` is
  :func:`scipy.stats.wilcoxon` on the nonzero differences (zero differences dropped, Wilcoxon's convention and
  scipy's default), exact when at most 50 remain without ties, otherwise the normal approximation with tie
  correction — equal to scipy's default ``method="auto"`` without zeros or ties, and never its randomised
  permutation test, which scipy >= 1.15 runs for small samples with ties or zeros (seconds per call and
  unseeded); ``bootstrap`` is the shifted-null paired bootstrap
  (Efron & Tibshirani §16.4): ``p = (1 + #{|m* - m| >= |m|}) / (B + 1)`` with ``m`` the mean difference and
  ``m*`` its resampled means. No differences at all (identical outputs) give ``p = 1``.
- **Multiple comparisons**: Holm–Bonferroni over all pairs of runs of one (metric, region, mode); a difference
  is *significant* when its Holm-adjusted p is below ``alpha`` (0.05) and the test's direction (the sign of the
  signed-rank sum for Wilcoxon, of the mean for the bootstrap) agrees with the sign of the mean difference; the
  better run then follows from the metric's direction (``better``: higher or lower, from the metric's record).

Usage — from Python, with per-sample score tables read from run folders' ``scores.csv``::

    import pandas as pd
    from occbench.stats import bootstrap_ci, compare_scores

    runs = {name: pd.read_csv(f"runs/{name}/scores.csv", dtype={"id": str}) for name in ("telea", "lama")}
    means, pairs = compare_scores(runs, metrics=["psnr", "lpips"], regions=["hole"], modes=["composite"], seed=0)
    bootstrap_ci(runs["telea"].query("metric == 'psnr' and region == 'hole'")["value"], seed=0)

and from the command line, which also refuses runs on different datasets and prints FID/KID with their sample
count and KID's std (one value per image set: no interval or paired test applies)::

    occbench compare runs/demo/telea runs/demo/navier-stokes --metrics psnr ssim --regions whole hole
    occbench compare runs/c256/* --test bootstrap --resamples 5000 --seed 1 --out compare.md
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

ID, METRIC, REGION, MODE, VALUE = "id", "metric", "region", "mode", "value"
"""scores.csv columns read here (a test checks them against :data:`occbench.results_schema.SCORE_COLUMNS`)."""
KEY = (METRIC, REGION, MODE)
MEAN_COLUMNS = ["run", METRIC, REGION, MODE, "n", "nan_count", "mean", "ci_low", "ci_high"]
PAIR_COLUMNS = ["run_a", "run_b", METRIC, REGION, MODE, "better", "n_paired", "mean_diff", "ci_low", "ci_high",
                "p_value", "p_holm", "significant", "better_run"]
TESTS = ("wilcoxon", "bootstrap")
_CHUNK = 2_000_000  # resampled values drawn at once (16 MB of float64)

Seed = int | Sequence[int] | np.random.SeedSequence | np.random.Generator


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` finite-or-infinite scores (``nan_count`` NaNs dropped) and its BCa interval."""

    mean: float
    low: float
    high: float
    n: int
    nan_count: int
    confidence: float


@dataclass(frozen=True)
class PairedResult:
    """``a - b`` over ``n`` paired samples: mean difference, its BCa interval, two-sided p-value, the test's
    direction (+1: a larger, -1: b larger, 0: none) and the test used."""

    n: int
    mean_diff: float
    low: float
    high: float
    p_value: float
    direction: int
    method: str


def _resampled_means(samples: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Means of ``n_resamples`` resamples with replacement of each of ``samples`` (all of one length), every sample
    resampled with the same indices, drawn in chunks of bounded memory: a sample's means are those it would get
    alone from the same ``rng`` state, at the cost of one draw for all."""
    n = len(samples[0])
    rows = max(1, _CHUNK // n)
    parts: list[list[np.ndarray]] = [[] for _ in samples]
    for start in range(0, n_resamples, rows):
        idx = rng.integers(0, n, size=(min(rows, n_resamples - start), n))
        for part, x in zip(parts, samples):
            part.append(x[idx].mean(axis=1))
    return [np.concatenate(part) for part in parts]


def _bca(x: np.ndarray, boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """BCa bounds of the mean of ``x`` from its resampled means ``boot``."""
    mean, n, count = float(x.mean()), len(x), len(boot)
    if np.all(boot == boot[0]):
        return float(boot[0]), float(boot[0])
    below = (np.count_nonzero(boot < mean) + 0.5 * np.count_nonzero(boot == mean)) / count
    z0 = ndtri(min(max(below, 0.5 / count), 1 - 0.5 / count))
    jack = (x.sum() - x) / (n - 1)
    d = jack.mean() - jack
    denom = 6.0 * float(np.sum(d**2)) ** 1.5
    accel = float(np.sum(d**3)) / denom if denom > 0 else 0.0
    z = ndtri(np.array([(1 - confidence) / 2, (1 + confidence) / 2]))
    levels = ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.quantile(boot, levels)
    return float(low), float(high)


def _check_settings(confidence: float, n_resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: Expected a number in (0, 1), but got {confidence!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples: Expected at least 1, but got {n_resamples!r}")


def _finite_part(values: Iterable[float]) -> tuple[np.ndarray, int]:
    """``values`` as a float array without its NaNs, and how many NaNs were dropped."""
    x = np.asarray(values if hasattr(values, "__len__") else list(values), dtype=np.float64).ravel()
    nan = np.isnan(x)
    return x[~nan], int(nan.sum())


def _defined(x: np.ndarray) -> bool:
    """Whether ``x`` has an interval: at least two values, all finite."""
    return len(x) >= 2 and bool(np.all(np.isfinite(x)))


def bootstrap_ci(values: Iterable[float], confidence: float = 0.95, n_resamples: int = 2000,
                 seed: Seed = 0) -> Interval:
    """Mean of ``values`` with its ``confidence`` BCa bootstrap interval (module docstring); NaNs dropped and
    counted. Fewer than two values, or an infinite one, give NaN bounds. ``seed``: anything
    :func:`numpy.random.default_rng` takes (a Generator is used and advanced)."""
    _check_settings(confidence, n_resamples)
    x, nan_count = _finite_part(values)
    mean = float(x.mean()) if len(x) else math.nan
    if not _defined(x):
        return Interval(mean, math.nan, math.nan, len(x), nan_count, confidence)
    boot = _resampled_means([x], n_resamples, np.random.default_rng(seed))[0]
    return Interval(mean, *_bca(x, boot, confidence), len(x), nan_count, confidence)


def bootstrap_cis(samples: Sequence[Iterable[float]], confidence: float = 0.95, n_resamples: int = 2000,
                  seed: int | Sequence[int] | np.random.SeedSequence = 0) -> list[Interval]:
    """``[bootstrap_ci(values, confidence, n_resamples, seed) for values in samples]``, equal to it number for
    number but faster: each sample starts a fresh generator from ``seed``, so samples of one size (after dropping
    NaNs) draw the same resampling indices, which are drawn once for all of them."""
    _check_settings(confidence, n_resamples)
    if isinstance(seed, np.random.Generator):  # would be advanced: the samples would not draw the same indices
        raise TypeError("seed: Expected an int, a sequence of ints or a SeedSequence, but got a Generator")
    parts = [_finite_part(values) for values in samples]
    out = [Interval(float(x.mean()) if len(x) else math.nan, math.nan, math.nan, len(x), nan_count, confidence)
           for x, nan_count in parts]
    by_size: dict[int, list[int]] = {}
    for i, (x, _) in enumerate(parts):
        if _defined(x):
            by_size.setdefault(len(x), []).append(i)
    for members in by_size.values():
        xs = [parts[i][0] for i in members]
        for i, x, boot in zip(members, xs, _resampled_means(xs, n_resamples, np.random.default_rng(seed))):
            out[i] = Interval(out[i].mean, *_bca(x, boot, confidence), len(x), parts[i][1], confidence)
    return out


def _aligned(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """``a``, ``b`` as paired float arrays: Series or mappings keyed by sample id are matched by id (ids in both),
    plain sequences by position (equal lengths); pairs with a non-finite value on either side are dropped."""
    keyed = [isinstance(v, (pd.Series, Mapping)) for v in (a, b)]
    if any(keyed):
        if not all(keyed):
            raise TypeError("paired_test: Expected a and b both keyed by sample id (Series or mapping) or both "
                            "plain sequences, but got one of each")
        sa, sb = (v if isinstance(v, pd.Series) else pd.Series(dict(v), dtype=float) for v in (a, b))
        for name, s in (("a", sa), ("b", sb)):
            if s.index.has_duplicates:
                raise ValueError(f"paired_test: {name}: Expected unique sample ids, but got duplicates such as "
                                 f"{s.index[s.index.duplicated()][0]!r}")
        joined = pd.concat([sa.astype(float).rename("a"), sb.astype(float).rename("b")], axis=1, join="inner")
        xa, xb = joined["a"].to_numpy(np.float64), joined["b"].to_numpy(np.float64)
    else:
        xa, xb = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
        if xa.shape != xb.shape:
            raise ValueError(f"paired_test: Expected a and b of equal length, but got {len(xa)} and {len(xb)}")
    finite = np.isfinite(xa) & np.isfinite(xb)
    return xa[finite], xb[finite]


def paired_test(a: Any, b: Any, method: Literal["wilcoxon", "bootstrap"] = "wilcoxon", *, confidence: float = 0.95,
                n_resamples: int = 2000, seed: Seed = 0) -> PairedResult:
    """Paired comparison of ``a - b`` (module docstring): mean difference, its BCa interval and a two-sided
    p-value from the Wilcoxon signed-rank test or the paired bootstrap; pairs as :func:`_aligned` forms them."""
    if method not in TESTS:
        raise ValueError(f"method: Expected one of {', '.join(TESTS)}, but got {method!r}")
    _check_settings(confidence, n_resamples)
    xa, xb = _aligned(a, b)
    d = xa - xb
    n = len(d)
    if n == 0:
        return PairedResult(0, math.nan, math.nan, math.nan, math.nan, 0, method)
    mean = float(d.mean())
    if n < 2 or not np.any(d):
        low = high = mean if n >= 2 else math.nan
        return PairedResult(n, mean, low, high, 1.0, 0, method)
    boot = _resampled_means([d], n_resamples, np.random.default_rng(seed))[0]
    low, high = _bca(d, boot, confidence)
    if method == "wilcoxon":
        from scipy.stats import rankdata, wilcoxon  # here: scipy.stats takes a second to import, intervals need none

        nonzero = d[d != 0]
        ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
        p = float(wilcoxon(nonzero, method="exact" if len(nonzero) <= 50 and not ties else "asymptotic").pvalue)
        direction = int(np.sign(np.sum(np.sign(nonzero) * rankdata(np.abs(nonzero)))))
    else:
        p = (1 + np.count_nonzero(np.abs(boot - mean) >= abs(mean))) / (n_resamples + 1)
        direction = int(np.sign(mean))
    return PairedResult(n, mean, low, high, p, direction, method)


def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values, in the input order: the i-th smallest of m becomes
    ``max_{j<=i} min(1, (m - j + 1) p_(j))``. NaN p-values stay NaN and do not count in m."""
    p = np.asarray(list(p_values), dtype=np.float64)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if valid.size == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def metric_better(name: str) -> str:
    """``"higher"`` or ``"lower"``: the metric's direction from occbench's metric record (the registry's
    ``metric_info``, or the older ``METRIC_INFO`` table); unknown metrics read as lower-is-better."""
    import occbench.metrics as metrics

    if hasattr(metrics, "metric_info"):
        return metrics.metric_info(name).better
    info = getattr(metrics, "METRIC_INFO", {}).get(name)
    return info.better if info is not None else "lower"


def _cells(frame: pd.DataFrame, run: str, metrics: Sequence[str] | None, regions: Sequence[str] | None,
           modes: Sequence[str] | None) -> dict[tuple[str, str, str], pd.Series]:
    """``{(metric, region, mode): values indexed by sample id}`` of one run's scores."""
    missing = [c for c in (ID, *KEY, VALUE) if c not in frame.columns]
    if missing:
        raise ValueError(f"{run}: Expected scores.csv columns {', '.join((ID, *KEY, VALUE))}, but got "
                         f"{', '.join(map(str, frame.columns))}")
    keep = np.ones(len(frame), dtype=bool)
    for column, chosen in ((METRIC, metrics), (REGION, regions), (MODE, modes)):
        if chosen is not None:
            keep &= frame[column].isin(list(chosen)).to_numpy()
    frame = frame.loc[keep]
    duplicated = frame.duplicated([ID, *KEY])
    if duplicated.any():
        row = frame.loc[duplicated].iloc[0]
        raise ValueError(f"{run}: Expected one score per (id, metric, region, mode), but got several for "
                         f"{tuple(row[[ID, *KEY]])}")
    frame = frame.assign(**{ID: frame[ID].astype(str), VALUE: pd.to_numeric(frame[VALUE], errors="coerce")})
    return {tuple(key): pd.Series(group[VALUE].to_numpy(np.float64), index=group[ID].to_numpy())
            for key, group in frame.groupby(list(KEY), sort=False)}


def _ordered(keys: Iterable[tuple[str, str, str]], *orders: Sequence[str] | None) -> list[tuple[str, str, str]]:
    """Cell keys sorted by the order metrics / regions / modes were asked for (by name where not asked)."""
    def rank(key: tuple[str, str, str]) -> tuple:
        return tuple((list(order).index(part), "") if order and part in order else (len(order or ()), part)
                     for part, order in zip(key, orders))
    return sorted(keys, key=rank)


def _interval_rows(run: str, by_key: Mapping[tuple[str, str, str], pd.Series], orders: tuple, confidence: float,
                   n_resamples: int, seed: int) -> list[list]:
    """:data:`MEAN_COLUMNS` rows of one run's cells (from :func:`_cells`), in the order of ``orders``."""
    keys = _ordered(by_key, *orders)
    intervals = bootstrap_cis([by_key[key].to_numpy() for key in keys], confidence, n_resamples, seed)
    return [[run, *key, ci.n, ci.nan_count, ci.mean, ci.low, ci.high] for key, ci in zip(keys, intervals)]


def mean_intervals(scores: pd.DataFrame, run: str = "scores", *, metrics: Sequence[str] | None = None,
                   regions: Sequence[str] | None = None, modes: Sequence[str] | None = None,
                   confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The ``means`` rows :func:`compare_scores` gives one run's scores (a scores.csv frame), without the paired
    tests: one row per metric × region × mode (:data:`MEAN_COLUMNS`), each cell's interval exactly
    ``bootstrap_ci(its values, confidence, n_resamples, seed)``. ``run`` names the run in the rows and errors."""
    by_key = _cells(scores, run, metrics, regions, modes)
    return pd.DataFrame(_interval_rows(run, by_key, (metrics, regions, modes), confidence, n_resamples, seed),
                        columns=MEAN_COLUMNS)


def compare_scores(scores: Mapping[str, pd.DataFrame], *, metrics: Sequence[str] | None = None,
                   regions: Sequence[str] | None = None, modes: Sequence[str] | None = None,
                   better: Mapping[str, str] | None = None, test: Literal["wilcoxon", "bootstrap"] = "wilcoxon",
                   confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means with intervals and paired tests of several runs' per-sample scores (scores.csv frames, by run name).

    Returns ``(means, pairs)``: ``means`` has one row per run × metric × region × mode (:data:`MEAN_COLUMNS`);
    ``pairs`` one row per pair of runs (in the given order, ``mean_diff = run_a - run_b``) × metric × region × mode
    both runs have (:data:`PAIR_COLUMNS`), with Holm's correction over the pairs of each (metric, region, mode).
    ``metrics`` / ``regions`` / ``modes``: the ones to keep (default all present); ``better``: direction per metric
    overriding :func:`metric_better` (e.g. as recorded in results.json).
    """
    if test not in TESTS:
        raise ValueError(f"test: Expected one of {', '.join(TESTS)}, but got {test!r}")
    better = dict(better or {})
    cells = {run: _cells(frame, run, metrics, regions, modes) for run, frame in scores.items()}
    means = [row for run, by_key in cells.items()
             for row in _interval_rows(run, by_key, (metrics, regions, modes), confidence, n_resamples, seed)]
    pairs = []
    for run_a, run_b in itertools.combinations(cells, 2):
        for key in _ordered(cells[run_a].keys() & cells[run_b].keys(), metrics, regions, modes):
            direction_of = better.get(key[0]) or metric_better(key[0])
            res = paired_test(cells[run_a][key], cells[run_b][key], test, confidence=confidence,
                              n_resamples=n_resamples, seed=seed)
            pairs.append({"run_a": run_a, "run_b": run_b, METRIC: key[0], REGION: key[1], MODE: key[2],
                          "better": direction_of, "n_paired": res.n, "mean_diff": res.mean_diff, "ci_low": res.low,
                          "ci_high": res.high, "p_value": res.p_value, "_direction": res.direction})
    means_frame = pd.DataFrame(means, columns=MEAN_COLUMNS)
    pairs_frame = pd.DataFrame(pairs, columns=[*PAIR_COLUMNS[:-3], "_direction"])
    pairs_frame["p_holm"] = np.nan
    for _, index in pairs_frame.groupby(list(KEY)).groups.items():
        pairs_frame.loc[index, "p_holm"] = holm(pairs_frame.loc[index, "p_value"])
    sign = np.sign(pairs_frame["mean_diff"].to_numpy(dtype=float))
    pairs_frame["significant"] = ((pairs_frame["p_holm"] < alpha) & (sign != 0)
                                  & (pairs_frame["_direction"].to_numpy() == sign)).astype(bool)
    a_better = (sign > 0) == (pairs_frame["better"] == "higher").to_numpy()
    pairs_frame["better_run"] = np.where(pairs_frame["significant"], np.where(a_better, pairs_frame["run_a"],
                                                                              pairs_frame["run_b"]), "")
    return means_frame, pairs_frame[PAIR_COLUMNS]

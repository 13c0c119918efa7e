"""The one metric layer: registered records, back ends through one interface, plugins, and the results schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import torch

from occbench.errors import OccbenchError, RegistryError
from occbench.evaluate.scoring import Scorer, ScoreSettings
from occbench.metrics import MetricInfo, default_metrics, get_metric, metric_info, metric_names, selectable_metrics
from occbench.metrics.base import MetricBackend, Values
from occbench.metrics.catalog import BUILTIN
from occbench.registry import METRICS, REGISTRIES, Registry
from occbench.results_schema import READABLE_FORMATS, RESULTS_FORMAT, check_results


class ToyBackend(MetricBackend):
    """A plugin back end: mean signed difference, whole image and hole."""

    def per_image(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, fg: torch.Tensor | None, *,
                  regions: Sequence[str], weights: Mapping[str, torch.Tensor], prepared: list | None) -> Values:
        diff = (pred - target).mean(1, keepdim=True).double()
        return {("toy_bias", r): (diff * weights[r]).flatten(1).sum(1) / weights[r].flatten(1).sum(1)
                for r in ("whole", "hole") if r in regions}


TOY = MetricInfo("toy_bias", "0-1 scale, signed", "lower", ("whole", "hole"), "image", "Bias", decimals=3,
                 backend=f"{__name__}:ToyBackend")


def test_builtins_are_registered_lazily_and_resolve_to_their_record():
    assert REGISTRIES["metrics"] is METRICS
    assert [info.name for info in BUILTIN] == metric_names()[:len(BUILTIN)]
    for info in BUILTIN:
        assert get_metric(info.name) is info and METRICS.describe(info.name)
        assert info.backend or not info.selectable  # only the mask-agreement records have no back end
    assert default_metrics() == ("psnr", "ssim", "ms_ssim", "rmse", "mae", "mse", "l1", "lpips", "fid", "kid",
                                 "identity")  # what evaluate scored before the registry
    assert "identity_distance" not in selectable_metrics() and "ssim_mcsam" in selectable_metrics()


def test_pixel_back_end_implements_exactly_its_records():
    from occbench.metrics import pixel

    assert set(pixel.IMPLEMENTED) == {i.name for i in BUILTIN if i.backend == "occbench.metrics.pixel:PixelMetrics"}
    assert get_metric("psnr").backend_class() is pixel.PixelMetrics
    with pytest.raises(ValueError, match="Expected a 'module:Class' back end"):
        get_metric("mask_iou").backend_class()


def test_unknown_names():
    with pytest.raises(RegistryError, match="Unknown metrics 'psnrr'. Did you mean 'psnr'"):
        get_metric("psnrr")
    neutral = metric_info("someone_elses_metric")  # read from a results file: shown, never an error
    assert neutral.display == "someone_elses_metric" and neutral.better == "lower"
    with pytest.raises(OccbenchError, match="--metrics: Expected values from psnr, .*ssim_mcsam.*, but got"):
        ScoreSettings(metrics=("psnr", "identity_distance"))
    with pytest.raises(ValueError, match="Expected better in"):
        MetricInfo("x", "", "up", ("whole",), "image", "X")


def test_entry_point_group_adds_metrics(monkeypatch):
    from importlib import metadata

    registry = Registry("metrics")
    point = metadata.EntryPoint(name="toy_bias", value=f"{__name__}:TOY", group="occbench.metrics")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [point] if group == "occbench.metrics" else [])
    assert registry.get("toy_bias") is TOY


def test_plugin_metric_is_scored_through_the_one_interface_and_read_by_reports(monkeypatch):
    monkeypatch.setitem(METRICS._objects, "toy_bias", TOY)
    assert "toy_bias" in selectable_metrics() and "toy_bias" not in default_metrics()
    scorer = Scorer(ScoreSettings(metrics=("psnr", "toy_bias"), regions=("whole", "hole"), modes=("raw",),
                                  explicit=True, feature_cache=False))
    assert [type(b).__name__ for b in scorer.backends] == ["PixelMetrics", "ToyBackend"]
    target = torch.full((2, 3, 16, 16), 0.5)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    scores = scorer.score_batch(target + 0.1 * mask, target, mask, None)
    assert scores[("toy_bias", "hole", "raw")].tolist() == pytest.approx([0.1, 0.1])
    assert scores[("toy_bias", "whole", "raw")].tolist() == pytest.approx([0.025, 0.025])

    import pandas as pd

    from occbench.report.plot import axis_label
    from occbench.report.table import build_table, to_markdown

    frame = pd.DataFrame([{"method": m, "protocol": "p", "metric": "toy_bias", "region": "whole", "mode": "raw",
                           "value": v, "std": 0.0, "count": 2, "better": "lower"} for m, v in (("a", 0.0251),
                                                                                               ("b", 0.5))])
    text = to_markdown(build_table(frame, metrics=["toy_bias"], regions=["whole"], mode="raw"))
    assert "Bias ↓" in text and "**0.025**" in text  # display name, direction, decimals from the record
    assert axis_label("toy_bias") == "Bias ↓"


def test_results_schema_checks_what_readers_need():
    assert RESULTS_FORMAT in READABLE_FORMATS
    check_results({"format": RESULTS_FORMAT, "method": {"name": "x"}, "dataset": {}}, "r.json")
    with pytest.raises(ValueError, match="r.json: format: Expected 'occbench-results/1', but got 'other/2'"):
        check_results({"format": "other/2"}, "r.json")
    with pytest.raises(ValueError, match="r.json: method.name: missing"):
        check_results({"format": RESULTS_FORMAT, "method": {}, "dataset": {}}, "r.json")

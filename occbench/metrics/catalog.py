"""The built-in metrics' records (:class:`~occbench.metrics.MetricInfo`), registered lazily in ``occbench.registry``.

Light on purpose (no torch): tables and plots read these facts without importing any back end. Order here is the
order of ``evaluate``'s default metric list.
"""

from __future__ import annotations

from occbench.metrics import ALL_REGIONS, MetricInfo

_WHOLE_ZERO = ("whole", "zero_outside")
_ALL = ALL_REGIONS  # metrics with a pixel-aligned map: every weight-map region, the face parts included
_PIXEL = "occbench.metrics.pixel:PixelMetrics"
_INCEPTION = "occbench.metrics.distribution:InceptionMetrics"
_IDENTITY = "occbench.metrics.identity:IdentityMetric"

PSNR = MetricInfo("psnr", "dB (data range 1.0 on [0, 1] images, i.e. 255 on 0-255)", "higher", _ALL, "image",
                  "PSNR", "dB", 2, backend=_PIXEL, default=True)
SSIM = MetricInfo("ssim", "unitless, at most 1 (Gaussian window sigma 1.5, 11 px)", "higher", _ALL, "image", "SSIM",
                  backend=_PIXEL, default=True, source="torchmetrics structural_similarity_index_measure defaults")
MS_SSIM = MetricInfo("ms_ssim", "unitless, at most 1 (5 scales; needs H, W >= 176 px)", "higher", _WHOLE_ZERO, "image",
                     "MS-SSIM", backend=_PIXEL, default=True,
                     source="torchmetrics multiscale_structural_similarity_index_measure defaults")
RMSE = MetricInfo("rmse", "0-255 scale (root of the per-image MSE)", "lower", _ALL, "image", "RMSE", "0–255", 2,
                  backend=_PIXEL, default=True)
MAE = MetricInfo("mae", "0-255 scale", "lower", _ALL, "image", "MAE", "0–255", 2, backend=_PIXEL, default=True)
MSE = MetricInfo("mse", "0-255 scale, squared", "lower", _ALL, "image", "MSE", "0–255²", 2, backend=_PIXEL,
                 default=True)
L1 = MetricInfo("l1", "0-1 scale (mean absolute error / data range)", "lower", _ALL, "image", "L1", "0–1",
                backend=_PIXEL, default=True)
LPIPS = MetricInfo("lpips", "unitless distance (LPIPS v0.1, AlexNet trunk by default)", "lower", _ALL, "image",
                   "LPIPS", backend="occbench.metrics.lpips_metric:LPIPSMetric", default=True)
FID = MetricInfo("fid", "Frechet distance of Inception-v3 pool features", "lower", _WHOLE_ZERO, "dataset", "FID", "",
                 2, backend=_INCEPTION, default=True)
KID = MetricInfo("kid", "squared MMD of Inception-v3 features (x1 in results, mean over subsets)", "lower",
                 _WHOLE_ZERO, "dataset", "KID", "", 2, 1000.0, backend=_INCEPTION, default=True)
IDENTITY = MetricInfo("identity", "cosine similarity of dlib face descriptors, -1..1", "higher", ("whole",), "image",
                      "ID sim", backend=_IDENTITY, default=True)
IDENTITY_DISTANCE = MetricInfo("identity_distance", "Euclidean distance of dlib face descriptors", "lower",
                               ("whole",), "image", "ID dist", backend=_IDENTITY, selectable=False)
MASK_IOU = MetricInfo("mask_iou", "intersection over union of the predicted and the dataset's mask, 0..1", "higher",
                      ("whole",), "image", "mask IoU", selectable=False)
MASK_PRECISION = MetricInfo("mask_precision", "share of predicted hole pixels that are dataset hole pixels, 0..1",
                            "higher", ("whole",), "image", "mask prec.", selectable=False)
MASK_RECALL = MetricInfo("mask_recall", "share of dataset hole pixels the predicted mask covers, 0..1", "higher",
                         ("whole",), "image", "mask rec.", selectable=False)

# Paper variants: conventions of the seed papers' tables (reported/README.md), opt-in.
SSIM_MCSAM = MetricInfo(
    "ssim_mcsam", "unitless, at most 1 (uniform 11x11 window, sample covariance, on uint8 images, data range 255)",
    "higher", _WHOLE_ZERO, "image", "SSIM (M-CSAM)", backend=_PIXEL,
    source="M-CSAM Tables 1-3: scikit-image structural_similarity(win_size=11, gaussian_weights=False, "
           "use_sample_covariance=True, channel_axis=-1, data_range=255) on uint8 RGB, per the review in issue 15 "
           "(-0.043 against occbench's ssim on the same outputs)")
L1_MCSAM = MetricInfo(
    "l1_mcsam", "0-1 scale (|channel mean of pred - channel mean of target| / data range, averaged over pixels)",
    "lower", _ALL, "image", "L1 (M-CSAM)", "0–1", backend=_PIXEL,
    source="M-CSAM Tables 1-3 l1 loss: channel mean first, then the absolute value (issue 15 review); 0-1 scale as "
           "its values 0.0076-0.0372 imply (reported/README.md, scale checks)")
MS_SSIM_REDUCED = MetricInfo(
    "ms_ssim_reduced", "unitless, at most 1 (4 scales, MS-SSIM's first 4 betas renormalised to sum 1; needs H, W >= "
    "99 px)", "higher", _WHOLE_ZERO, "image", "MS-SSIM (4 scales)", backend=_PIXEL,
    source="SGIN Table 2 is at 128 px, where 5-scale MS-SSIM with an 11 px window is undefined (needs 176 px); "
           "equals torchmetrics multiscale_structural_similarity_index_measure(betas=<these 4>)")

BUILTIN: tuple[MetricInfo, ...] = (PSNR, SSIM, MS_SSIM, RMSE, MAE, MSE, L1, LPIPS, FID, KID, IDENTITY,
                                   IDENTITY_DISTANCE, MASK_IOU, MASK_PRECISION, MASK_RECALL, SSIM_MCSAM, L1_MCSAM,
                                   MS_SSIM_REDUCED)

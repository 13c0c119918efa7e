"""How each seed-paper table was scored, in words and as occbench names: the one place for those facts.

A :class:`TableSpec` per table says which occbench protocol reproduces each (dataset, occlusion) block, which
output mode and mask source the paper used, how each paper (metric, region) column maps to an occbench
metric and region (:class:`Column`), and the convention in words, citing the numbered ambiguities of
``reported/README.md`` where the paper leaves a setting open. Column statuses, from best to worst, are
:data:`STATUSES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = {
    "comparable": "occbench scores it as the paper states",
    "reading": "the paper leaves a setting open; occbench scores it under the reading stated on the page",
    "variant": "scored by a named occbench metric variant that follows the paper's definition (`occbench evaluate "
               "--metrics NAME`)",
    "not comparable": "no occbench metric or region expresses it; reproduced values are never placed here",
}


@dataclass(frozen=True)
class Column:
    """One paper column in occbench terms; ``metric``/``region`` are None when not comparable."""

    metric: str | None
    region: str | None
    status: str
    note: str


@dataclass(frozen=True)
class Mapping:
    """Half of a column: the occbench name of a paper metric or region, its status and why."""

    name: str | None
    status: str = "comparable"
    note: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A seed-paper table. ``mode``: occbench output mode; ``mask``: ``given`` or ``predicted`` (runs with the
    other are not matched to reported cells); ``protocols``: (dataset, occlusion) → occbench protocol;
    ``aliases``: occbench method name → (paper method, variant); ``convention``: (aspect, words) lines;
    ``ablation``: runs of methods the table does not list get no row (they belong on the comparison tables)."""

    key: str
    paper: str
    table: str
    title: str
    mode: str
    mask: str
    protocols: dict[tuple[str, str], str]
    aliases: dict[str, tuple[str, str]]
    convention: tuple[tuple[str, str], ...]
    ambiguities: tuple[int, ...]
    metrics: dict[str, Mapping] = field(default_factory=dict)
    regions: dict[str, Mapping] = field(default_factory=dict)
    not_comparable: dict[tuple[str, str], str] = field(default_factory=dict)
    ablation: bool = False

    def column(self, metric: str, region: str) -> Column:
        """The occbench column of the paper's ``metric`` in ``region`` (unlisted names map to themselves)."""
        if (metric, region) in self.not_comparable:
            return Column(None, None, "not comparable", self.not_comparable[metric, region])
        m = self.metrics.get(metric, Mapping(metric))
        r = self.regions.get(region, Mapping(region))
        order = list(STATUSES)
        status = max(m.status, r.status, key=order.index)
        return Column(m.name, r.name, status, " ".join(filter(None, (m.note, r.note))))


# ---- SGIN -----------------------------------------------------------------------------------------------------
_SGIN_MASKS = ("Masks", "SGIN found the occlusions with its occlusion detector (predicted masks, not the NatOcc "
               "ground truth). Reproduced runs are matched to reported cells only when evaluated with "
               "`mask=predicted`.")
_SGIN_UNITS = ("Units and data range", "PSNR in dB with peak 255 (occbench: data range 1.0 on [0, 1] images), "
               "averaged per image; RMSE on the 0–255 scale (the printed PSNRs sit 0.21–0.84 dB above "
               "20·log10(255/RMSE), as per-image averaging gives). Data range and pooling are not stated: that "
               "is the reading used.")
_SGIN_LPIPS = ("LPIPS", "backbone not stated; occbench's LPIPS v0.1 with the AlexNet trunk.")
_SGIN_DATA = ("Data", "CelebA-HQ faces occluded with NatOcc (128 COCO objects in 20 categories, 200 EgoHands "
              "hands); the 2,800 validation faces, which the paper gives only as a count: occbench takes CelebA-HQ "
              "ids 27200–29999 (split `sgin-val`).")
_SGIN_FID = "implementation and sample count not stated; occbench's FID (torch-fidelity Inception-v3) over the "
_SGIN_METRICS = {
    "psnr": Mapping("psnr", "reading", "Peak 255, per-image mean."),
    "ssim": Mapping("ssim", "reading", "SSIM settings not stated."),
    "ms_ssim": Mapping("ms_ssim", "reading", "MS-SSIM settings not stated."),
    "rmse": Mapping("rmse", "reading", "0–255 scale, per-image mean."),
    "lpips": Mapping("lpips", "reading", "Backbone not stated (AlexNet used)."),
    "fid": Mapping("fid", "reading", "Implementation not stated."),
}

SGIN_T1 = TableSpec(
    key="sgin-t1", paper="sgin", table="Table 1", title="SGIN Table 1: comparison with seven methods",
    mode="raw", mask="predicted",
    protocols={("CelebA-HQ", "NatOcc objects+hands"): "celebahq-natocc-sgin-256"},
    aliases={"sgin": ("SGIN", "")},
    convention=(
        _SGIN_DATA, _SGIN_MASKS,
        ("Baselines", "every baseline was retrained by the SGIN authors on the same NatOcc data and given the "
                      "detector's masks (SEAN also SGIN's predicted semantic maps), except MAT: its authors' public "
                      "CelebA-HQ checkpoint, used as is with the same masks (whether its training images overlap the "
                      "2,800 validation images is not discussed)."),
        ("Region", "every cell has two numbers: left on the whole image (occbench `whole`), right on \"the masked "
                   "region only, where the unmasked region has pixel value of 0\" (occbench `zero_outside`). The "
                   "paper does not say whether the target is zeroed too, nor which mask defines the region "
                   "(ambiguity 5); the reading used: both images zeroed outside the dataset's NatOcc mask. The other "
                   "reading, zeroing outside the detector's predicted mask, is not expressible in occbench (its "
                   "`zero_outside` always uses the dataset's mask)."),
        ("Output mode", "each output as the method returned it (occbench `raw`): PsP, E4E, SEAN and SGIN "
                        "generate the whole image; DeepFill-v2, Crfill and MAT copy the known pixels, so raw equals "
                        "composite for them."),
        _SGIN_UNITS,
        ("PSNR anomaly", "DeepFill-v2's and MAT's PSNR differ between whole image and masked region although their "
                         "RMSE does not, which a fixed peak cannot give (ambiguity 4); kept as printed."),
        ("SSIM and MS-SSIM", "settings not stated; occbench's `ssim` (Gaussian window σ 1.5, 11 px) and `ms_ssim` "
                             "(5 scales, standard weights)."),
        _SGIN_LPIPS,
        ("FID", _SGIN_FID + "2,800 validation images; the right-hand FID is computed on the zeroed images "
                            "(occbench `fid` in `zero_outside`)."),
        ("Transcription", "the extracted table ran group by group; the left/right order of one-number-per-line "
                          "values (all SSIM, MS-SSIM, LPIPS and SEAN's and SGIN's FID) is inferred (ambiguities 1, "
                          "2); DeepFill-v2's whole SSIM is printed with one decimal, \"0.9\" (ambiguity 3)."),
    ),
    ambiguities=(1, 2, 3, 4, 5),
    metrics=_SGIN_METRICS,
    regions={"zero_outside": Mapping("zero_outside", "reading", "Both images zeroed outside the dataset mask "
                                                                "(ambiguity 5).")},
)

SGIN_T2 = TableSpec(
    key="sgin-t2", paper="sgin", table="Table 2", title="SGIN Table 2: ablation at 128 px",
    ablation=True, mode="raw", mask="predicted",
    protocols={("CelebA-HQ", "NatOcc objects+hands"): "celebahq-natocc-sgin-128"},
    aliases={"sgin": ("SGIN", "FULL")},
    convention=(
        _SGIN_DATA, _SGIN_MASKS,
        ("Region", "not stated; read as the whole image (occbench `whole`), since the FULL row is close to Table "
                   "1's whole-image SGIN values (ambiguity 6). The sample count is not restated: 2,800 assumed."),
        ("Output mode", "SGIN generates the whole image: its output as returned (occbench `raw`)."),
        _SGIN_UNITS,
        ("SSIM and MS-SSIM", "settings not stated; occbench's `ssim` (Gaussian window σ 1.5, 11 px). At 128 px "
                             "occbench's 5-scale `ms_ssim` is undefined (it needs 176 px), so MS-SSIM maps to the "
                             "reduced-scale variant `ms_ssim_reduced`."),
        _SGIN_LPIPS,
        ("FID", _SGIN_FID + "2,800 validation images at 128 px."),
        ("Transcription", "printed deltas are in the CSV's notes; \"w/o attention\" SSIM 0.767 contradicts its "
                          "printed delta (ambiguity 7), \"w/o self-distill loss\" FID delta is misprinted (ambiguity "
                          "8), and G.T. semantics' FID is worse although the text says no difference (ambiguity 9)."),
    ),
    ambiguities=(6, 7, 8, 9),
    metrics={**_SGIN_METRICS,
             "ms_ssim": Mapping("ms_ssim_reduced", "variant", "occbench's ms_ssim needs 176 px; 128 px needs the "
                                                              "reduced-scale variant.")},
    regions={"unspecified": Mapping("whole", "reading", "Region not stated; whole image (ambiguity 6).")},
)

# ---- SGE-Net --------------------------------------------------------------------------------------------------
_SGENET_PROTOCOLS = {
    ("Outdoor Scenes", "centering holes"): "ost-center128-256",
    ("Outdoor Scenes", "irregular holes (PConv)"): "ost-nvidia-irregular-256",
    ("Cityscapes", "centering holes"): "cityscapes-center96-256",
    ("Cityscapes", "irregular holes (PConv)"): "cityscapes-nvidia-irregular-256",
}
_SGENET_COMMON = (
    ("Data", "Outdoor Scenes (OutdoorSceneTest300, 300 test images) and Cityscapes (the 500 validation images)."),
    ("Preprocessing", "training crops are 256×256 from images with a short side of 256 (Outdoor Scenes) or 512 "
                      "(Cityscapes); the test-time image size is not stated (ambiguity 13). Reading: the same "
                      "scaling with a fixed centre 256×256 crop. For Cityscapes this discards most of each 1024×2048 "
                      "frame and may not be what the paper tested on; occbench cannot recover the unstated "
                      "procedure, so Cityscapes differences carry that caveat."),
    ("Holes", "centring holes are 128×128 (Outdoor Scenes) and 96×96 (Cityscapes); irregular holes are Liu et al.'s "
              "(PConv) masks with hole ratios and assignment not stated (ambiguity 13). Reading: the NVIDIA "
              "irregular test masks in PConv's six bins (0.01–0.6), one fixed mask per image. Holes are given to "
              "every method (`mask=given`)."),
    ("Region", "not stated; read as the whole image (occbench `whole`)."),
    ("Output mode", "not stated; read as the composite (occbench `composite`: known pixels copied back)."),
    ("Units and data range", "PSNR in dB, data range not stated; peak 255 (occbench: 1.0 on [0, 1] images), "
                             "averaged per image."),
    ("SSIM", "settings not stated; occbench's `ssim` (Gaussian window σ 1.5, 11 px)."),
    ("FID", "implementation not stated; occbench's FID (torch-fidelity Inception-v3) over the 300 or 500 test "
            "images, the whole test set. Both counts are below occbench's 2,048-image floor for FIDs comparable "
            "with published ones (FID is biased upwards at small N): occbench warns, and so should a reader."),
    ("Baselines", "GC and EC are Places2-pretrained models fine-tuned on each dataset by the SGE-Net authors; SPG "
                  "was re-implemented by them (no public code)."),
)
_SGENET_METRICS = {
    "psnr": Mapping("psnr", "reading", "Data range not stated (peak 255)."),
    "ssim": Mapping("ssim", "reading", "SSIM settings not stated."),
    "fid": Mapping("fid", "reading", "Implementation not stated; 300/500 images."),
}
_SGENET_REGIONS = {"unspecified": Mapping("whole", "reading", "Region not stated; whole image.")}
_SGENET_T34 = ("Hole type", "not stated in this table; centring holes inferred because its values equal Table 1's "
                            "centring-hole values (ambiguity 12).")

SGENET_T1 = TableSpec(
    key="sgenet-t1", paper="sgenet", table="Table 1", title="SGE-Net Table 1: comparison on two datasets and two "
                                                            "hole types",
    mode="composite", mask="given", protocols=_SGENET_PROTOCOLS, aliases={"sgenet": ("SGE-Net", "")},
    convention=(*_SGENET_COMMON,
                ("Transcription", "the column blocks follow the header order; the two irregular-hole blocks rest on "
                                  "that order alone (ambiguity 10). Values that stand out are kept as printed "
                                  "(ambiguity 11).")),
    ambiguities=(10, 11, 13), metrics=_SGENET_METRICS, regions=_SGENET_REGIONS)

SGENET_T3 = TableSpec(
    key="sgenet-t3", paper="sgenet", table="Table 3", title="SGE-Net Table 3: ablation on Outdoor Scenes",
    ablation=True, mode="composite", mask="given", protocols=_SGENET_PROTOCOLS,
    aliases={"sgenet": ("SGE-Net", "SGE-Net (SGIM + SCEM)")},
    convention=(*_SGENET_COMMON, _SGENET_T34), ambiguities=(12, 13), metrics=_SGENET_METRICS,
    regions=_SGENET_REGIONS)

SGENET_T4 = TableSpec(
    key="sgenet-t4", paper="sgenet", table="Table 4", title="SGE-Net Table 4: predicted vs labelled segmentation "
                                                            "for training",
    ablation=True, mode="composite", mask="given", protocols=_SGENET_PROTOCOLS,
    aliases={"sgenet": ("SGE-Net", "Label-segs")},
    convention=(*_SGENET_COMMON, _SGENET_T34,
                ("Training labels", "Auto-segs: trained on DPN (Outdoor Scenes) or DeepLab v3+ (Cityscapes) "
                                    "segmentation; Label-segs: human labels, the setting of Table 1.")),
    ambiguities=(12, 13), metrics=_SGENET_METRICS, regions=_SGENET_REGIONS)

# ---- Foreground-guided facial inpainting ---------------------------------------------------------------------
_FGI_COMMON = (
    ("Data", "CelebA-HQ with PConv's 27k/3k split; the 3,000 test images (occbench split `pconv-test`, ids "
             "27000–29999)."),
    ("Masks", "the Quick Draw Irregular Mask set (Iskakov) resized to 256×256, hole ratio 0.01–0.60, given to "
              "every method (`mask=given`). The image resolution is stated only through the masks (ambiguity 15)."),
    ("Output mode", "not stated; read as the composite (occbench `composite`)."),
    ("Units and data range", "no definitions, scale or data range are given. Reading: MSE and MAE on the 0–255 "
                             "scale (occbench `mse`, `mae`), PSNR with peak 255, all averaged per image. The printed "
                             "MSE and MAE cannot share any scale (mean MAE ≤ √(mean MSE) is violated), and MSE "
                             "disagrees with PSNR (ambiguity 14): differences in these columns say little."),
    ("SSIM", "settings not stated; occbench's `ssim` (Gaussian window σ 1.5, 11 px)."),
    ("Baselines", "how CE, PConv and GC were obtained or trained is not stated."),
)
_FGI_METRICS = {
    "psnr": Mapping("psnr", "reading", "Peak 255 assumed; disagrees with MSE (ambiguity 14)."),
    "ssim": Mapping("ssim", "reading", "SSIM settings not stated."),
    "mse": Mapping("mse", "reading", "0–255 scale assumed; inconsistent with MAE (ambiguity 14)."),
    "mae": Mapping("mae", "reading", "0–255 scale assumed; inconsistent with MSE (ambiguity 14)."),
    "fid": Mapping("fid", "reading", "Implementation not stated."),
}
_FGI_PROTOCOLS = {("CelebA-HQ", "QuickDraw masks"): "celebahq-qdimd-256"}

FGI_T1 = TableSpec(
    key="fgi-t1", paper="fgi", table="Table 1", title="Foreground-guided facial inpainting, Table 1: whole image",
    mode="composite", mask="given", protocols=_FGI_PROTOCOLS, aliases={"fgi": ("Foreground-guided", "")},
    convention=(*_FGI_COMMON,
                ("Region", "read as the whole image (\"inpainted images\", set against Table 2's face and hair "
                           "regions; ambiguity 15)."),
                ("FID", "implementation not stated; occbench's FID (torch-fidelity Inception-v3) over the 3,000 test "
                        "images.")),
    ambiguities=(14, 15), metrics=_FGI_METRICS)

FGI_T2 = TableSpec(
    key="fgi-t2", paper="fgi", table="Table 2", title="Foreground-guided facial inpainting, Table 2: face and hair "
                                                      "only",
    mode="composite", mask="given", protocols=_FGI_PROTOCOLS, aliases={"fgi": ("Foreground-guided", "")},
    convention=(*_FGI_COMMON,
                ("Region", "\"the foreground inpainted face and hair regions only\" (skin and hair labels of "
                           "CelebAMask-HQ). Whether that is the whole foreground or hole ∩ foreground, and how other "
                           "pixels are treated, is not stated (ambiguity 15). Reading: the whole foreground, occbench "
                           "`fg` (CelebAMask-HQ classes 1–13); the other reading is occbench `hole_fg`."),
                ("FID", "computed on the foreground; not comparable (see below)."),
                ("Transcription", "CE's row repeats its Table 1 row except FID (ambiguity 14).")),
    ambiguities=(14, 15), metrics=_FGI_METRICS,
    regions={"foreground": Mapping("fg", "reading", "Whole foreground read (ambiguity 15); hole_fg is the other "
                                                    "reading.")},
    not_comparable={("fid", "foreground"): "occbench's FID is defined on whole images (regions whole and "
                                           "zero_outside); a FID restricted to face and hair pixels has no occbench "
                                           "metric, and the paper does not say how it cut the foreground out."},
)

# ---- M-CSAM ---------------------------------------------------------------------------------------------------
_MCSAM_COMMON = (
    ("Data", "Masked-Faces, built from aligned CelebA with a face-mask image fitted to 21 dlib landmarks; evaluated "
             "on CelebA's validation split, 19,026 images per Table 1 (the split counts are inconsistent by 8 "
             "images, ambiguity 18). occbench protocol `celeba-maskedfaces-256` (CelebA's official validation "
             "partition, images without exactly one detected face skipped)."),
    ("Resolution", "images \"cropped\" to 256×256 although aligned CelebA is 178×218; reading: the short side "
                   "enlarged to 256, then a centre crop."),
    ("Masks", "predicted by the paper's U-Net segmenter (IoU > 0.99 against ground truth); reproduced runs are "
              "matched to reported cells only when evaluated with `mask=predicted`."),
    ("Region", "SSIM \"between the recovered image and the ground truth\" (occbench `whole`); PSNR and ℓ1 region "
               "not stated, read as the whole image (ambiguity 16)."),
    ("Output mode", "M-CSAM outputs the composite I_syn = (1 − M)·I_inp + M·I_r (occbench `composite`); whether "
                    "the baselines were composited, or retrained on Masked-Faces, is not stated (ambiguity 16): "
                    "composite is used for every row."),
    ("Units and data range", "ℓ1 on the 0–1 scale (values 0.0076–0.0372); PSNR in dB with peak 1 on [0, 1] images "
                             "(≡ 255 on 0–255), averaged per image."),
    ("SSIM", "M-CSAM's SSIM uses scikit-image's uniform 11×11 window with sample covariance on uint8 images, about "
             "0.043 below occbench's Gaussian `ssim` on the same outputs: it maps to the variant `ssim_mcsam`."),
    ("ℓ1", "M-CSAM averages the colour channels first, then takes |·|: it maps to the variant `l1_mcsam`, not "
           "occbench's per-channel `l1`."),
    ("FID", "not reported."),
)
_MCSAM_METRICS = {
    "psnr": Mapping("psnr", "reading", "Data range not stated (values fit peak 1 on [0, 1])."),
    "ssim": Mapping("ssim_mcsam", "variant", "Uniform 11×11 window, sample covariance, on uint8."),
    "l1": Mapping("l1_mcsam", "variant", "Channel mean first, then |·|; 0–1 scale."),
}
_MCSAM_REGIONS = {"unspecified": Mapping("whole", "reading", "Region not stated; whole image (ambiguity 16).")}
_MCSAM_PROTOCOLS = {("Masked-Faces (CelebA)", "face masks"): "celeba-maskedfaces-256"}
_MCSAM_ABLATION = ("Ablation", "the row equal to Table 1's M-CSAM repeats its numbers exactly; the text says the "
                               "M-CSAM results are in the supplementary material (ambiguity 17).")

MCSAM_T1 = TableSpec(
    key="mcsam-t1", paper="mcsam", table="Table 1", title="M-CSAM Table 1: comparison on Masked-Faces",
    mode="composite", mask="predicted", protocols=_MCSAM_PROTOCOLS, aliases={"mcsam": ("M-CSAM", "")},
    convention=_MCSAM_COMMON, ambiguities=(16, 18), metrics=_MCSAM_METRICS, regions=_MCSAM_REGIONS)

MCSAM_T2 = TableSpec(
    key="mcsam-t2", paper="mcsam", table="Table 2", title="M-CSAM Table 2: local vs full supervision",
    ablation=True, mode="composite", mask="predicted", protocols=_MCSAM_PROTOCOLS,
    aliases={"mcsam": ("M-CSAM", "local supervision")},
    convention=(*_MCSAM_COMMON, _MCSAM_ABLATION,
                ("Variants", "local supervision puts the losses on the composite I_syn (the masked region), full "
                             "supervision on the raw output I_r.")),
    ambiguities=(16, 17, 18), metrics=_MCSAM_METRICS, regions=_MCSAM_REGIONS)

MCSAM_T3 = TableSpec(
    key="mcsam-t3", paper="mcsam", table="Table 3", title="M-CSAM Table 3: with and without CSAM",
    ablation=True, mode="composite", mask="predicted", protocols=_MCSAM_PROTOCOLS,
    aliases={"mcsam": ("M-CSAM", "w/ CSAM")},
    convention=(*_MCSAM_COMMON, _MCSAM_ABLATION,
                ("Variants", "w/o CSAM replaces CSAM by a 3×3 convolution and keeps the four dilated convolutions.")),
    ambiguities=(16, 17, 18), metrics=_MCSAM_METRICS, regions=_MCSAM_REGIONS)

TABLES: dict[str, TableSpec] = {spec.key: spec for spec in (SGIN_T1, SGIN_T2, SGENET_T1, SGENET_T3, SGENET_T4,
                                                            FGI_T1, FGI_T2, MCSAM_T1, MCSAM_T2, MCSAM_T3)}
"""Every seed-paper table, keyed ``<paper>-t<number>`` (the page and recipe names)."""

PAPERS = {
    "sgin": "SGIN (Semantics-Guided Inpainting Network)",
    "sgenet": "SGE-Net (Semantic Guidance and Evaluation Network)",
    "fgi": "Foreground-guided facial inpainting",
    "mcsam": "M-CSAM face-mask removal",
}

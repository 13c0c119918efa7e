"""torchvision from PyPI is a CUDA build; occbench.compat makes it importable on CPU torch."""

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_torchmetrics_lpips_torch_fidelity_import_through_occbench():
    code = (
        "from occbench.compat import import_torchvision_dependent as imp\n"
        "tm = imp('torchmetrics'); lp = imp('lpips'); tf = imp('torch_fidelity')\n"
        "from torchmetrics.image.fid import FrechetInceptionDistance\n"
        "from torchmetrics.functional.image import structural_similarity_index_measure as ssim\n"
        "import torch\n"
        "x = torch.rand(1, 3, 16, 16)\n"
        "assert abs(float(ssim(x, x, data_range=1.0)) - 1) < 1e-6\n"
        "import torchvision; print('ok', torchvision.__version__)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_stub_is_only_registered_when_missing():
    code = (
        "from occbench.compat import ensure_torchvision_importable as fix\n"
        "first = fix(); second = fix()\n"
        "import torchvision\n"
        "print(first, second, fix())\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    first, rest = result.stdout.split("]", 1)
    assert rest.strip() == "[] []"  # second call and calls after import register nothing


def test_stub_raises_clear_error_when_called():
    code = (
        "from occbench.compat import ensure_torchvision_importable as fix\n"
        "import torch\n"
        "if fix():\n"
        "    try:\n"
        "        torch.ops.torchvision.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)\n"
        "    except NotImplementedError as e:\n"
        "        print('stub:', 'occbench.compat' in str(e))\n"
        "else:\n"
        "    print('stub: True')\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stub: True" in result.stdout

"""occbench train → evaluate with a real reference method (M-CSAM), at 64 px on real faces."""

import json

import pytest
import yaml

from occbench.cli import main


@pytest.mark.slow
def test_train_then_evaluate_mcsam(tmp_path, assets, capsys):
    faces = tmp_path / "faces"
    faces.mkdir()
    for path in sorted((assets / "celeba_hq_faces_sean").glob("*.jpg"))[:4]:
        (faces / path.name).symlink_to(path)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "smoke", "version": 1, "seed": 1, "resolution": 64,
                                        "source": {"name": "folder"},
                                        "generator": {"name": "center", "params": {"size": 0.4}}}))
    data, run, evaluation = tmp_path / "data", tmp_path / "run", tmp_path / "eval"
    assert main(["build-dataset", str(protocol), "--source-dir", str(faces), "--out", str(data), "--no-progress"]) == 0
    assert main(["train", "--method", "mcsam", "--data", str(data), "--out", str(run), "--max-steps", "2",
                 "--batch-size", "2", "--allow-random-backbones", "--no-progress"]) == 0
    checkpoint = run / "checkpoints" / "last.pt"
    assert checkpoint.is_file() and len((run / "log.csv").read_text().splitlines()) >= 2
    assert main(["evaluate", "--method", "mcsam", "--checkpoint", str(checkpoint), "--data", str(data),
                 "--out", str(evaluation), "--metrics", "psnr", "--no-progress"]) == 0
    results = json.loads((evaluation / "results.json").read_text())
    assert results["method"]["checkpoint_sha256"] and results["method"]["trained_step"] == 2
    assert any("random ImageNet backbones" in w for w in results["provenance"]["random_weights"])
    psnr = next(a for a in results["aggregates"] if (a["metric"], a["region"], a["mode"]) == ("psnr", "hole", "raw"))
    assert psnr["count"] == 4 and psnr["mean"] > 0
    # a missing checkpoint says how to train one
    assert main(["evaluate", "--method", "mcsam", "--data", str(data), "--out", str(tmp_path / "x"),
                 "--metrics", "psnr", "--no-progress"]) == 2
    assert "occbench train --method mcsam" in capsys.readouterr().err

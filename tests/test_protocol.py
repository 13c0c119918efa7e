from pathlib import Path

import pytest
import yaml

from occbench.errors import ProtocolError
from occbench.protocol import content_hash, find_protocol, load_protocol, shipped_protocols

REQUIRED = {
    "center", "half", "center70", "freeform", "lama-thick", "lama-medium", "lama-thin", "irregular",
    "nvidia-irregular", "qdimd",
}


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def minimal(tmp_path) -> dict:
    return {"name": "t", "version": 1, "seed": 1, "resolution": 32,
            "source": {"name": "folder"}, "generator": {"name": "center", "params": {"size": 8}}}


def test_every_shipped_protocol_validates_and_is_named_after_its_file():
    shipped = shipped_protocols()
    for name, path in shipped.items():
        protocol = load_protocol(name)
        assert protocol.name == name == path.stem
        assert len(protocol.content_hash) == 64
    for base in ("celebahq", "folder"):
        assert {f"{base}-{kind}-256" for kind in REQUIRED} <= set(shipped)
    hashes = [load_protocol(n).content_hash for n in shipped]
    assert len(set(hashes)) == len(hashes), "two shipped protocols hash the same"


def test_published_parameters_resolved():
    center = load_protocol("celebahq-center-256")
    assert center.resolution == 256 and center.generator_name == "center"
    assert dict(center.generator_params) == {"size": 128}
    assert center.source_name == "celebahq" and center.split == "pconv-test"
    nvidia = load_protocol("folder-nvidia-irregular-256")
    assert nvidia.generator_params["polarity"] == "white_hole" and len(nvidia.generator_params["bins"]) == 6
    qd = load_protocol("celebahq-qdimd-256")
    assert qd.generator_params["polarity"] == "black_hole"


def test_include_merges_and_renamed_component_replaces(tmp_path, minimal):
    write(tmp_path / "base.yaml", {**minimal, "preprocess": {"upscale": True}})
    child = write(tmp_path / "child.yaml", {"include": "base.yaml", "name": "child", "resolution": 64,
                                            "generator": {"name": "half"}})
    protocol = load_protocol(child)
    assert protocol.resolution == 64 and protocol.seed == 1
    assert protocol.preprocess.upscale and protocol.preprocess.resize == "short-side"
    assert protocol.generator_name == "half" and dict(protocol.generator_params) == {}


def test_include_cycle_and_missing_include(tmp_path, minimal):
    write(tmp_path / "a.yaml", {"include": "b.yaml", **minimal})
    write(tmp_path / "b.yaml", {"include": "a.yaml"})
    with pytest.raises(ProtocolError, match="cycle"):
        load_protocol(tmp_path / "a.yaml")
    write(tmp_path / "c.yaml", {"include": "nope.yaml", **minimal})
    with pytest.raises(ProtocolError, match=r"c\.yaml: include: file 'nope\.yaml' not found"):
        load_protocol(tmp_path / "c.yaml")


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"resolutoin": 3}, r"bad\.yaml: resolutoin: unknown key\. Did you mean 'resolution'\?"),
        ({"seed": "x"}, r"bad\.yaml: seed: Expected a non-negative integer"),
        ({"version": 0}, r"bad\.yaml: version: Expected a positive integer"),
        ({"variants": True}, r"bad\.yaml: variants: Expected"),
        ({"preprocess": {"resize": "squash"}}, r"bad\.yaml: preprocess\.resize: Expected one of"),
        ({"generator": {"name": "centre"}},
         r"bad\.yaml: generator\.name: Unknown generators 'centre'\. Did you mean 'center'"),
        ({"generator": {"name": "center", "params": {"sise": 3}}},
         r"bad\.yaml: generator\.params\.sise: unknown parameter .*Did you mean 'size'"),
        ({"generator": {"name": "center", "params": {"size": "big"}}}, r"bad\.yaml: generator\.params\.size: Expected"),
        ({"source": {"name": "folder", "split": "nope"}}, r"bad\.yaml: source\.split: Expected one of"),
    ],
)
def test_errors_name_file_and_key(tmp_path, minimal, change, pattern):
    path = write(tmp_path / "bad.yaml", {**minimal, **change})
    with pytest.raises(ProtocolError, match=pattern):
        load_protocol(path)


def test_missing_required_key(tmp_path, minimal):
    del minimal["seed"]
    with pytest.raises(ProtocolError, match=r"bad\.yaml: seed: missing"):
        load_protocol(write(tmp_path / "bad.yaml", minimal))


def test_hash_ignores_text_but_not_parameters(tmp_path, minimal):
    base = load_protocol(write(tmp_path / "a.yaml", minimal)).content_hash
    described = load_protocol(write(tmp_path / "b.yaml", {**minimal, "description": "words"})).content_hash
    changed = load_protocol(write(tmp_path / "c.yaml", {**minimal, "seed": 2})).content_hash
    assert base == described != changed
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})


def test_unknown_protocol_name_suggests():
    with pytest.raises(ProtocolError, match="Did you mean 'celebahq-center-256'"):
        find_protocol("celebahq-centre-256")

"""baselines/readme_tables.py: the config tables in the method READMEs are the generator's output."""

from __future__ import annotations

import pytest
from occbench.baselines.readme_tables import (
    NO_SOURCE,
    ConfigEntry,
    ConfigTableError,
    method_readmes,
    read_config_text,
    render_table,
    update_readme,
)

CONFIG = """\
# Toy config. "paper": the paper.
image_size: 256            # paper: 256×256
generator:                 # paper: encoder-decoder
  dilations: [1, 2, 4]     # paper
  inner:
    width: 64              # choice # with a hash
name: "a # b"              # quoted value keeps its hash
clip: null
"""


def test_committed_readmes_are_up_to_date():
    readmes = method_readmes()
    assert {p.parent.name for p in readmes} >= {"mcsam", "fgi", "sgin", "sgenet"}
    for readme in readmes:
        new, _ = update_readme(readme)
        assert new == readme.read_text(encoding="utf-8"), \
            f"{readme} is out of date: run python -m baselines.readme_tables"


def test_reader_gives_dotted_keys_values_and_comments():
    entries, header = read_config_text(CONFIG)
    assert header == ['Toy config. "paper": the paper.']
    assert entries == [
        ConfigEntry("image_size", "256", "paper: 256×256"),
        ConfigEntry("generator", None, "paper: encoder-decoder"),
        ConfigEntry("generator.dilations", "[1, 2, 4]", "paper"),
        ConfigEntry("generator.inner", None, None),
        ConfigEntry("generator.inner.width", "64", "choice # with a hash"),
        ConfigEntry("name", '"a # b"', "quoted value keeps its hash"),
        ConfigEntry("clip", "null", None),
    ]
    table, missing = render_table(entries, header)
    assert missing == ["clip"]
    assert f"| `clip` | `null` | {NO_SOURCE} |" in table
    assert "| `generator` |  | paper: encoder-decoder |" in table
    assert "generator.inner`" not in table.replace("generator.inner.width`", "")  # plain header: no row


def test_reader_refuses_what_yaml_reads_differently():
    with pytest.raises(ConfigTableError, match="toy.yaml"):
        read_config_text("a: [1,\n  2]\n", "toy.yaml")  # a multi-line flow value


def test_missing_end_marker_names_the_readme(tmp_path):
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# Toy\n\n<!-- config-table: config.yaml -->\nold table\n", encoding="utf-8")
    with pytest.raises(ConfigTableError, match=r"README\.md.*<!-- /config-table -->"):
        update_readme(readme)
    readme.write_text("# Toy\n\n<!-- config-table: config.yaml -->\nold\n<!-- /config-table -->\n", encoding="utf-8")
    new, missing = update_readme(readme)
    assert "old" not in new and "| `generator.dilations` | `[1, 2, 4]` | paper |" in new
    assert missing == {"config.yaml": ["clip"]}
    assert update_readme(readme, new)[0] == new  # regenerating is a fixed point

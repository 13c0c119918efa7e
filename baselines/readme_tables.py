"""Configuration tables of the method READMEs, generated from each config YAML and its trailing comments.

A config line ``key: value  # where it comes from`` becomes the row ``| `key` | `value` | where it comes from |``.
Nested keys (by indentation) are dotted (``generator.dilations``); a comment on a mapping header
(``optimizer:  # paper: ...``) is the header's own row, with an empty value. Values are shown as written in the
file; the file is also parsed with yaml, and both readings must agree key for key and value for value. A value
without a comment gets the source "—" (listed as a warning). The file's leading comment block is quoted above
the table.

A README holds one region per config file of its folder, between the marker lines
``<!-- config-table: config.yaml -->`` and ``<!-- /config-table -->`` (the name relative to the README's folder).

    python -m baselines.readme_tables            # rewrite every method README in place
    python -m baselines.readme_tables --check    # exit 1 naming each README that is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError
from occbench.yamlio import load_yaml

BASELINES = Path(__file__).resolve().parent
START = re.compile(r"^<!-- config-table: (?P<name>\S+) -->$")
END = "<!-- /config-table -->"
NO_SOURCE = "—"
_KEY_LINE = re.compile(r"^(?P<key>[A-Za-z0-9_.\-]+):(?:\s+(?P<value>.*))?$")


class ConfigTableError(OccbenchError):
    """A config file or README region the generator cannot read; the message names the file."""


@dataclass(frozen=True)
class ConfigEntry:
    """One config line: dotted ``key``, ``value`` as written (None for a mapping header), ``source`` comment."""

    key: str
    value: str | None
    source: str | None


def _split_comment(line: str) -> tuple[str, str | None]:
    """``(content, comment)``: a ``#`` starts a comment at the line start or after whitespace, outside quotes;
    runs of whitespace in the comment become one space."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"" and line[:i].rstrip()[-1:] in ("", ":", "[", "{", ","):  # a quoted scalar starts
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), " ".join(line[i + 1:].split())
    return line.rstrip(), None


def read_config_text(text: str, where: str = "<string>") -> tuple[list[ConfigEntry], list[str]]:
    """Entries of a config in file order, and its leading comment lines (without ``#``).

    Supports what occbench's configs use: ``key: value`` and ``key:`` (a nested mapping) lines with flow values,
    full-line comments and blank lines. Raises ConfigTableError naming ``where`` for anything else, or when
    the line reading disagrees with yaml's.
    """
    entries: list[ConfigEntry] = []
    header: list[str] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the open mapping headers
    for number, raw in enumerate(text.splitlines(), start=1):
        content, comment = _split_comment(raw)
        if not content.strip():
            if comment is not None and not entries:
                header.append(comment)
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ConfigTableError(f"{where}:{number}: tab in the indentation; use spaces")
        indent = len(content) - len(content.lstrip(" "))
        match = _KEY_LINE.match(content.strip())
        if match is None:
            raise ConfigTableError(f"{where}:{number}: Expected 'key: value' or 'key:' (a nested mapping), but got "
                                   f"{content.strip()!r}")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = ".".join([*(k for _, k in stack), match["key"]])
        value = match["value"]
        entries.append(ConfigEntry(key, value if value else None, comment))
        if not value:
            stack.append((indent, match["key"]))
    _check_against_yaml(entries, load_yaml(text, where) or {}, where)
    return entries, header


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted leaf keys of nested mappings (an empty mapping or a null is a leaf)."""
    if not isinstance(node, dict) or not node:
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _check_against_yaml(entries: list[ConfigEntry], parsed: Any, where: str) -> None:
    if not isinstance(parsed, dict):
        raise ConfigTableError(f"{where}: Expected a mapping of settings, but got {type(parsed).__name__}")
    flat = _flatten(parsed)
    parents = {e.key.rsplit(".", 1)[0] for e in entries if "." in e.key}
    leaves = {e.key: e.value for e in entries if e.value is not None or e.key not in parents}
    if set(leaves) != set(flat):
        raise ConfigTableError(f"{where}: the line reader and yaml disagree on the keys: only read "
                               f"{sorted(set(leaves) - set(flat))}, only in yaml {sorted(set(flat) - set(leaves))}")
    for key, written in leaves.items():
        if load_yaml(f"v: {written or ''}", where)["v"] != flat[key]:
            raise ConfigTableError(f"{where}: {key}: the written value {written!r} does not parse to yaml's "
                                   f"{flat[key]!r} (multi-line values are not supported)")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(entries: list[ConfigEntry], header: list[str] = ()) -> tuple[str, list[str]]:
    """The Markdown region body, and the keys of values without a source comment.

    Rows: every value, and every mapping header that carries a comment (empty value)."""
    lines = [f"> {_cell(' '.join(header))}", ""] if header else []
    lines += ["| setting | value | source |", "|---|---|---|"]
    missing = []
    for entry in entries:
        if entry.value is None and entry.source is None:
            continue  # a plain mapping header: its values carry the dotted key
        if entry.value is not None and entry.source is None:
            missing.append(entry.key)
        value = f"`{_cell(entry.value)}`" if entry.value is not None else ""
        lines.append(f"| `{entry.key}` | {value} | {_cell(entry.source) if entry.source else NO_SOURCE} |")
    return "\n".join(lines), missing


def config_table(path: Path) -> tuple[str, list[str]]:
    """Rendered table of one config file and its keys without a source comment."""
    entries, header = read_config_text(path.read_text(encoding="utf-8"), str(path))
    return render_table(entries, header)


def update_readme(readme: Path, text: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """``readme``'s text (or ``text``) with every config-table region regenerated, and, per config file, the
    keys without a source comment. Raises ConfigTableError for a missing end marker, a marker naming a missing
    file, or a config file of the folder without a region."""
    text = readme.read_text(encoding="utf-8") if text is None else text
    lines = text.split("\n")
    out: list[str] = []
    missing: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        match = START.match(lines[i].strip())
        out.append(lines[i])
        i += 1
        if match is None:
            continue
        name = match["name"]
        end = next((j for j in range(i, len(lines)) if lines[j].strip() == END or START.match(lines[j].strip())),
                   None)
        if end is None or lines[end].strip() != END:
            raise ConfigTableError(f"{readme}: the region '<!-- config-table: {name} -->' (line {i}) has no "
                                   f"'{END}' line before the {'next region' if end is not None else 'end of file'}")
        config = readme.parent / name
        if not config.is_file():
            raise ConfigTableError(f"{readme}: line {i} names {name}, but {config} does not exist")
        if name in missing:
            raise ConfigTableError(f"{readme}: two regions for {name}")
        table, missing[name] = config_table(config)
        out += ["", table, "", END]
        i = end + 1
    unlisted = sorted(p.name for p in readme.parent.glob("config*.yaml") if p.name not in missing)
    if unlisted:
        raise ConfigTableError(f"{readme}: no '<!-- config-table: NAME -->' region for {', '.join(unlisted)}")
    return "\n".join(out), missing


def method_readmes(root: Path = BASELINES) -> list[Path]:
    """README.md of every method folder with a config file."""
    return sorted(p / "README.md" for p in root.iterdir() if p.is_dir() and any(p.glob("config*.yaml"))
                  and (p / "README.md").is_file())


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.readme_tables",
                                     description="Regenerate the config tables of the method READMEs.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README is out of date")
    args = parser.parse_args(argv)
    stale = []
    for readme in method_readmes():
        try:
            new, missing = update_readme(readme)
        except ConfigTableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for name, keys in missing.items():
            if keys:
                print(f"warning: {_shown(readme.parent / name)}: no source comment for {', '.join(keys)}",
                      file=sys.stderr)
        if new == readme.read_text(encoding="utf-8"):
            continue
        stale.append(readme)
        if args.check:
            print(f"{_shown(readme)}: config tables out of date (run python -m baselines.readme_tables)")
        else:
            readme.write_text(new, encoding="utf-8")
            print(f"updated {_shown(readme)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

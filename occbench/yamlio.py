"""Reading the YAML that users hand to occbench (protocols, --param/--set values, configs) strictly.

``yaml.safe_load`` runs no code, but it still accepts a mapping that names the same key twice (the last one
silently wins) and anchors/aliases, with which a few hundred bytes expand into gigabytes ("billion laughs").
occbench's files need neither, so :func:`load_yaml` refuses both, and files larger than :data:`MAX_BYTES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from occbench.errors import OccbenchError

MAX_BYTES = 1 << 20  # 1 MiB: the largest shipped protocol is under 2 KB


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in occbench files",
                                       event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.MarkedYAMLError("while reading a mapping", node.start_mark,
                                           f"duplicate key {key!r} (first at line {seen[key].line + 1})",
                                           key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, where: str) -> Any:
    """Parse ``text``; any problem raises OccbenchError starting with ``where`` (a file or an option name)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise OccbenchError(f"{where}: Expected YAML of at most {MAX_BYTES} bytes, but got {len(text)} characters")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise OccbenchError(f"{where}: invalid YAML{at}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise OccbenchError(f"{where}: invalid YAML: {' '.join(str(exc).split())}") from exc


def read_yaml_file(path: Path) -> Any:
    """Read and parse a UTF-8 YAML file with :func:`load_yaml`; unreadable or non-UTF-8 files raise OccbenchError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OccbenchError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise OccbenchError(f"{path}: Expected a YAML file of at most {MAX_BYTES} bytes, but got {len(data)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OccbenchError(f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
                            "expected a UTF-8 YAML file") from exc
    return load_yaml(text, str(path))

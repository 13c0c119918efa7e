"""Typed parameters for registered components (sources, generators, methods).

Every registered component is a frozen dataclass whose fields are its documented parameters.
:func:`build_component` builds one from a plain mapping (a protocol's ``params:``), checks names and
types, and turns any problem into :class:`ProtocolError` naming the place (``file: key``). Range
checks live in each class's ``__post_init__`` and raise ``ValueError("field: expected ..., got ...")``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from occbench.errors import ProtocolError

C = TypeVar("C")


def _type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is Path:
        return isinstance(value, (str, Path))
    if origin in (list, tuple, typing.Sequence) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(annotation)
        if not args or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            inner = args[0] if args else Any
            return all(_type_ok(v, inner) for v in value)
        if origin is tuple:
            return len(value) == len(args) and all(_type_ok(v, a) for v, a in zip(value, args))
        return all(_type_ok(v, args[0]) for v in value)
    if origin is dict or annotation is dict:
        return isinstance(value, Mapping)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _convert(value: Any, annotation: Any) -> Any:
    """Lists become tuples (dataclasses stay hashable) and strings become Paths where declared."""
    if isinstance(value, list):
        return tuple(_convert(v, Any) for v in value)
    if annotation is Path or (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                              and Path in typing.get_args(annotation) and isinstance(value, str)):
        return Path(value)
    return value


def describe_type(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def build_component(cls: type[C], params: Mapping[str, Any] | None, where: str, fixed_where: str | None = None,
                    **fixed: Any) -> C:
    """Instantiate dataclass ``cls`` from ``params``; errors read ``"{where}.{key}: Expected ..., but got ..."``.

    ``fixed`` are values supplied outside ``params`` (a source's root folder, its split); errors about
    them are reported under ``fixed_where`` (e.g. ``"file: source"``) instead of ``where``.
    """
    params = dict(params or {})
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    user_fields = [name for name in fields if name not in fixed]
    for key in params:
        if key not in fields or key in fixed:
            close = difflib.get_close_matches(key, user_fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ProtocolError(f"{where}.{key}: unknown parameter of {cls.__name__}.{hint} "
                                f"Expected one of: {', '.join(user_fields) or '(none)'}")
    kwargs = dict(fixed)
    for key, value in params.items():
        annotation = hints.get(key, Any)
        if not _type_ok(value, annotation):
            raise ProtocolError(f"{where}.{key}: Expected {describe_type(annotation)}, but got {value!r}")
        kwargs[key] = _convert(value, annotation)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        message = str(exc)
        key, sep, rest = message.partition(": ")
        if sep and key in fields:
            prefix = fixed_where if key in fixed and fixed_where else where
            raise ProtocolError(f"{prefix}.{key}: {rest}") from exc
        raise ProtocolError(f"{where}: {message}") from exc
    except TypeError as exc:  # a required field is missing
        raise ProtocolError(f"{where}: {exc}") from exc


def parse_key_values(pairs: list[str], option: str) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` → ``{"a": 1, "b.c": "x"}``; values are read as YAML; errors name the option."""
    from occbench.yamlio import load_yaml

    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ProtocolError(f"{option}: Expected KEY=VALUE, but got {pair!r}")
        values[key] = load_yaml(value, f"{option} {key}")
    return values


def public_params(component: Any) -> dict[str, Any]:
    """The component's parameters as JSON-ready values (for manifests and results)."""
    out = {}
    for f in dataclasses.fields(component):
        if not f.init or f.name.startswith("_"):
            continue
        value = getattr(component, f.name)
        out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    return out

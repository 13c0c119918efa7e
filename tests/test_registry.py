import pytest

from occbench.errors import RegistryError
from occbench.registry import GENERATORS, METHODS, SOURCES, Registry


def test_lazy_entries_listed_without_import():
    assert {"folder", "celebahq", "celeba", "demo"} <= set(SOURCES.names())
    assert {"center", "half", "free-form", "lama-thick", "lama-medium", "lama-thin", "irregular", "quickdraw",
            "external"} <= set(GENERATORS.names())
    assert {"telea", "navier-stokes", "biharmonic", "mean-fill"} <= set(METHODS.names())


def test_unknown_name_suggests_closest():
    with pytest.raises(RegistryError) as info:
        METHODS.get("telae")
    message = str(info.value)
    assert "Did you mean 'telea'?" in message and "Available:" in message and "biharmonic" in message


def test_decorator_and_lazy_registration():
    registry = Registry("things")

    @registry.register("a")
    class A:
        pass

    registry.add("b", "collections:OrderedDict")
    assert registry.get("a") is A
    from collections import OrderedDict

    assert registry.get("b") is OrderedDict
    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", dict)
    # registering the very object a lazy entry points at is allowed (decorator running on import)
    registry.add("c", "collections:OrderedDict")
    registry.add("c", OrderedDict)
    assert registry.get("c") is OrderedDict


def test_entry_points_are_discovered(monkeypatch):
    from importlib import metadata

    registry = Registry("methods")
    point = metadata.EntryPoint(name="thirdparty", value="collections:Counter", group="occbench.methods")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [point] if group == "occbench.methods" else [])
    from collections import Counter

    assert "thirdparty" in registry.names()
    assert registry.get("thirdparty") is Counter

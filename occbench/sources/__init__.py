"""Image sources: where targets (and their parsing labels) come from. Registered in occbench.registry.SOURCES."""

from occbench.sources.base import Source, SourceItem, SourceSample

__all__ = ["Source", "SourceItem", "SourceSample"]

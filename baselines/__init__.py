"""Reference methods (docs/conventions.md §1, §4), installed as ``occbench.baselines``.

One folder per method (or family of methods), each with the same file set: the code, and a
``README.md`` citing the paper and listing every deviation from it; learned methods add their model,
losses, training entry and config beside them. Methods are registered lazily in
:mod:`occbench.registry` by ``"module:attr"`` strings, so importing this package imports nothing heavy.
The classical references in :mod:`occbench.baselines.classical` need no weights.
"""

"""Paper-style tables and plots from ``results.json`` files (docs/results.md): load, tabulate, plot, CLI."""

"""occbench evaluate: load -> (predict) -> score -> aggregate -> write (docs/results.md)."""

"""Building datasets on disk (docs/conventions.md §3): planning, per-sample work, manifests, resume, shards."""

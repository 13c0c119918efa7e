"""Building datasets on disk (DESIGN §3): planning, per-sample work, manifests, resume, shards."""

"""The worker role: the projection consumer and the periodic sweeps."""

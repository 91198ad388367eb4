"""The janitor's use cases (sweeps, projection) and its composition root."""

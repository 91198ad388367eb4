"""The analytics domain: pure beacon admission rules and the view rollup (no I/O)."""

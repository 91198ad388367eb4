"""SQL of the analytics database."""

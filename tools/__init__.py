"""Repository tooling that is not part of any package (import-linter contract types)."""

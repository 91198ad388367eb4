"""The variants API (the `api` role)."""

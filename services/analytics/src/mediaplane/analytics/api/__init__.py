"""The HTTP API of analytics: beacon ingest and the reports."""

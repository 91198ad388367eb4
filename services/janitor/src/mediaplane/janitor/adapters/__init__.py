"""Postgres projection and queues, JetStream progress, Prometheus metrics."""

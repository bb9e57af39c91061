"""Correlation ids, JSON logs and Prometheus metrics."""

"""Versioned prediction-protocol configuration files (read with importlib.resources)."""

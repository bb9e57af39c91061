"""RESCUE trial console: server-rendered pages over the four services' public HTTP APIs."""

"""The prediction service's use cases: plain functions taking a unit of work."""

"""Shared library of the RESCUE trial platform."""

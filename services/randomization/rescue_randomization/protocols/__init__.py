"""Versioned randomization configuration files (randomization-v<version>.yaml), package data."""

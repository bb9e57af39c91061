"""Versioned eligibility protocol files (eligibility-v<version>.yaml), read as package data."""

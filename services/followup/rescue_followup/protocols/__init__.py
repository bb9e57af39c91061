"""Versioned follow-up protocol files (followup-v<version>.yaml), read as package data."""

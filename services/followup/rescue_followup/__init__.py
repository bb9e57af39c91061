"""RESCUE followup service."""

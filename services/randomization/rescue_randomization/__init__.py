"""RESCUE randomization service: allocates arms and keeps the tamper-evident audit trail."""

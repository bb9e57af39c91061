"""HTTP conventions shared by every service: problem+json, idempotency, health, metrics."""

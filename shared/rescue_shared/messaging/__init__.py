"""Messaging on aiokafka: outbox relay (publisher) and idempotent consumer runner."""

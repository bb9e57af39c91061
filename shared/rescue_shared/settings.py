"""Settings every service reads from its environment (pydantic-settings).

Each service subclasses `ServiceSettings` to set its name, port and database file; nothing here is
instantiated at import time: the composition root (the service's `create_app`) builds it.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only good for a laptop: the local secret is public in this repository.
LOCAL_DEV_JWT_SECRET = "rescue-local-development-secret-not-for-production"


class ServiceSettings(BaseSettings):
    """Configuration shared by all four services. Every field maps to an environment variable."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(description="Producer name written in every event envelope.")
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, description="HTTP port.")
    trial_id: str = Field("NCT07295132", description="Trial identifier stamped on every event.")
    trial_timezone: str = Field(
        "Asia/Seoul", description="IANA time zone of the dates the platform assigns (randomization "
                                  "date, visit status); the sponsor's.")
    database_url: str = Field(
        "sqlite+aiosqlite:///./.local/run/service.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://...",
    )
    protocol_version: str = Field(
        "1", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$",
        description="The protocol version in force for new records (the service's "
                    "`<stem>-v<version>.yaml`); existing records keep theirs.")
    migrate_on_start: bool = Field(True, description="Run alembic upgrade head before serving.")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_topic_namespace: str = Field(
        "", description="Prefix for every topic name (isolates environments sharing a cluster)."
    )
    kafka_topic_partitions: int = Field(3, ge=1, description="Partitions for topics we create.")
    kafka_replication_factor: int = Field(1, ge=1, description="Replication of topics we create.")
    messaging_enabled: bool = Field(
        True, description="Run the outbox relay and event consumers (off only for HTTP-only tools)."
    )
    kafka_send_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one publish.")
    outbox_batch_size: int = Field(100, ge=1, description="Outbox rows published per pass.")
    outbox_sweep_seconds: float = Field(
        2.0, gt=0, description="Relay re-check period for rows committed by other replicas."
    )
    consumer_max_attempts: int = Field(
        4, ge=1, description="Attempts to apply one event before it goes to the dead-letter topic."
    )
    consumer_retry_backoff_seconds: float = Field(
        0.2, ge=0, description="First retry delay; doubles per attempt."
    )
    consumer_fetch_max_wait_ms: int = Field(100, ge=0, description="Kafka fetch wait (latency).")

    jwt_algorithm: Literal["HS256", "RS256"] = Field("HS256", description="Token signature.")
    jwt_secret: str | None = Field(
        LOCAL_DEV_JWT_SECRET, description="HS256 shared secret (local default is public)."
    )
    jwt_public_key: str | None = Field(None, description="RS256 PEM public key.")
    jwt_jwks_url: str | None = Field(None, description="RS256 JWKS URL (instead of a PEM key).")
    jwt_issuer: str | None = Field(None, description="Required `iss` claim, when set.")
    jwt_audience: str | None = Field(None, description="Required `aud` claim, when set.")

    max_request_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body (bytes) on ordinary routes; 413 "
                                        "beyond, before the body is read further.")
    max_bulk_request_body_bytes: int = Field(
        67_108_864, ge=1024, description="Largest request body (bytes) on bulk routes (cohort "
                                         "calculators, posted data sets).")

    log_level: str = Field("INFO", description="Python log level.")
    # Trace export (the standard OpenTelemetry names; the SDK reads the other OTEL_* variables).
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL (http://collector:4318): traces are "
                          "exported only when this or the traces endpoint is set.")
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        None, description="Full OTLP/HTTP traces URL (http://collector:4318/v1/traces).")
    otel_traces_exporter: Literal["otlp", "none"] = Field(
        "otlp", description="`none` turns trace export off even with an endpoint.")
    idempotency_claim_ttl_seconds: float = Field(
        60.0, gt=0, description="After this, an unfinished Idempotency-Key claim may be retaken."
    )

    @field_validator("trial_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _key_material_matches_algorithm(self) -> ServiceSettings:
        if self.jwt_algorithm == "HS256" and not self.jwt_secret:
            raise ValueError("JWT_SECRET is required when JWT_ALGORITHM=HS256")
        if self.jwt_algorithm == "RS256" and not (self.jwt_public_key or self.jwt_jwks_url):
            raise ValueError("JWT_PUBLIC_KEY or JWT_JWKS_URL is required when JWT_ALGORITHM=RS256")
        return self

    def topic(self, base_name: str) -> str:
        """The physical topic name of a registered topic, in this environment's namespace."""
        return f"{self.kafka_topic_namespace}{base_name}"

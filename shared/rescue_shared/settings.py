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
# Identity-provider role value -> platform role(s).
RoleMap = dict[str, str | list[str]]


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

    rescue_env: Literal["development", "production"] = Field(
        "production", description="`development` only on a developer machine (the public local "
                                  "JWT secret is accepted); anything else is `production`: a "
                                  "service refuses to start with the public secret or no key.")

    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = Field(
        "HS256", description="Token signature: HS256 (shared secret), RS256 or ES256 (public key "
                             "or the identity provider's JWKS).")
    jwt_secret: str | None = Field(
        LOCAL_DEV_JWT_SECRET, description="HS256 shared secret (local default is public)."
    )
    jwt_public_key: str | None = Field(None, description="RS256/ES256 PEM public key.")
    jwt_jwks_url: str | None = Field(
        None, description="RS256/ES256 JWKS URL of the identity provider (instead of a PEM key).")
    jwt_jwks_cache_seconds: float = Field(
        300.0, gt=0, description="How long the fetched JWKS is trusted before it is fetched again.")
    jwt_jwks_refresh_cooldown_seconds: float = Field(
        30.0, ge=0, description="Least time between two fetches caused by an unknown `kid` (a "
                                "rotated key): bounds what unknown-kid tokens can make us fetch.")
    jwt_jwks_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of one JWKS fetch.")
    jwt_issuer: str | None = Field(None, description="Required `iss` claim, when set.")
    jwt_audience: str | None = Field(None, description="Required `aud` claim, when set.")
    jwt_leeway_seconds: float = Field(
        30.0, ge=0, le=300, description="Clock skew tolerated on `exp`, `nbf` and `iat`.")

    auth_roles_claim: str = Field(
        "roles", min_length=1, description="Claim holding the caller's roles: a dotted path "
                                           "(`realm_access.roles` for Keycloak); a list or a "
                                           "space/comma separated string.")
    auth_role_map: RoleMap = Field(
        default_factory=dict, description="JSON object: identity-provider role value -> platform "
                                          "role(s); values not in it are ignored. Empty: the "
                                          "values are the platform's role names.")
    auth_sites_claim: str = Field(
        "site_id", min_length=1, description="Claim holding the caller's site(s): a dotted path; "
                                             "a list or a space/comma separated string.")
    auth_site_map: dict[str, str] = Field(
        default_factory=dict, description="JSON object: identity-provider value (group, "
                                          "organisation) -> site id; values not in it are "
                                          "ignored. Empty: the values are the site ids.")

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

    @field_validator("auth_role_map")
    @classmethod
    def _maps_to_platform_roles(cls, role_map: RoleMap) -> RoleMap:
        # Imported here: the auth package imports these settings.
        from rescue_shared.auth.roles import ROLES

        for source, targets in role_map.items():
            for role in [targets] if isinstance(targets, str) else targets:
                if role not in ROLES:
                    raise ValueError(f"AUTH_ROLE_MAP maps {source!r} to {role!r}, not a platform "
                                     f"role ({', '.join(sorted(ROLES))})")
        return role_map

    @model_validator(mode="after")
    def _key_material_matches_algorithm(self) -> ServiceSettings:
        if self.jwt_algorithm == "HS256" and not self.jwt_secret:
            raise ValueError("JWT_SECRET is required when JWT_ALGORITHM=HS256")
        if self.jwt_algorithm != "HS256" and not (self.jwt_public_key or self.jwt_jwks_url):
            raise ValueError(f"JWT_PUBLIC_KEY or JWT_JWKS_URL is required when "
                             f"JWT_ALGORITHM={self.jwt_algorithm}")
        return self

    @model_validator(mode="after")
    def _production_identity(self) -> ServiceSettings:
        """Outside development, refuse the public secret, and tokens that any tenant of a shared
        identity provider could sign (its keys sign every tenant's tokens: iss and aud tell)."""
        if self.rescue_env == "development":
            return self
        if self.jwt_algorithm == "HS256" and self.jwt_secret == LOCAL_DEV_JWT_SECRET:
            raise ValueError(
                "JWT_SECRET is the public local-development secret: configure the identity "
                "provider (JWT_ALGORITHM=RS256 with JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE) or "
                "a secret of your own; RESCUE_ENV=development only on a developer machine")
        if self.jwt_algorithm != "HS256" and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(f"JWT_ISSUER and JWT_AUDIENCE are required with "
                             f"JWT_ALGORITHM={self.jwt_algorithm} outside development")
        return self

    def topic(self, base_name: str) -> str:
        """The physical topic name of a registered topic, in this environment's namespace."""
        return f"{self.kafka_topic_namespace}{base_name}"

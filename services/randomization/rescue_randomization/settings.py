"""Randomization service settings (environment variables; see the README)."""

from pydantic import AliasChoices, Field

from rescue_shared.settings import ServiceSettings


class RandomizationSettings(ServiceSettings):
    service_name: str = "randomization"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./.local/run/randomization.db"
    # The version in force, as in every service (PROTOCOL_VERSION); this service's former
    # setting RANDOMIZATION_PROTOCOL_VERSION is still read, as an alias.
    protocol_version: str = Field(
        "1", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$",
        validation_alias=AliasChoices("protocol_version", "randomization_protocol_version"),
        description="Version of protocols/randomization-v<N>.yaml used when the trial is set "
                    "up (first use); the trial keeps the configuration it was set up with. "
                    "RANDOMIZATION_PROTOCOL_VERSION is accepted as an alias.")

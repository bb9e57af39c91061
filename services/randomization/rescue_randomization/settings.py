"""Randomization service settings (environment variables; see the README)."""

from pydantic import Field

from rescue_shared.settings import ServiceSettings


class RandomizationSettings(ServiceSettings):
    service_name: str = "randomization"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./.local/run/randomization.db"
    randomization_protocol_version: str = Field(
        "1", description="Version of protocols/randomization-v<N>.yaml used when the trial is set "
                         "up (first use); the trial keeps the configuration it was set up with.")

"""Randomization service settings (environment variables; see the README)."""

from rescue_shared.settings import ServiceSettings


class RandomizationSettings(ServiceSettings):
    service_name: str = "randomization"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./.local/run/randomization.db"

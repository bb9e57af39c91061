"""Eligibility service settings (environment variables; see the README)."""

from rescue_shared.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    service_name: str = "eligibility"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./.local/run/eligibility.db"

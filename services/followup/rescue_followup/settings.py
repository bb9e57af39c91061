"""Followup service settings (environment variables; see the README)."""

from rescue_shared.settings import ServiceSettings


class FollowupSettings(ServiceSettings):
    service_name: str = "followup"
    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///./.local/run/followup.db"

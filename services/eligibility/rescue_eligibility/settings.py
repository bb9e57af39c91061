"""Eligibility service settings (environment variables; see the README)."""

from pydantic import field_validator

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_shared.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    service_name: str = "eligibility"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./.local/run/eligibility.db"

    @field_validator("protocol_version")
    @classmethod
    def _protocol_file_is_valid(cls, version: str) -> str:
        """The version in force must be shipped and valid: found at start, not at a screening."""
        PROTOCOL_FILES.load(version)  # ProtocolFileError (a ValueError) names the file
        return version

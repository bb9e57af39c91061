"""Prediction service settings (environment variables; see the README)."""

from rescue_shared.settings import ServiceSettings


class PredictionSettings(ServiceSettings):
    service_name: str = "prediction"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./.local/run/prediction.db"

"""Prediction service settings (environment variables; see the README)."""

from pydantic import Field

from rescue_shared.settings import ServiceSettings


class PredictionSettings(ServiceSettings):
    service_name: str = "prediction"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./.local/run/prediction.db"
    fhir_bundle_max_entries: int = Field(
        1000, ge=1, le=100_000,
        description="Most entries accepted in one FHIR Bundle on POST /v1/fhir (413 beyond); "
                    "counted before any validation.")

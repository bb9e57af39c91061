"""The console's configuration, from the environment (pydantic-settings)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rescue_shared.settings import LOCAL_DEV_JWT_SECRET

SERVICES = ("eligibility", "prediction", "randomization", "followup")


class ConsoleSettings(BaseSettings):
    """Every field maps to an environment variable (upper case). The console keeps no data of its
    own but the sign-in sessions (in memory): a restart signs everyone out."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field("console", description="Name written in every log line.")
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, description="HTTP port.")
    eligibility_url: str = Field("http://127.0.0.1:8001", description="Eligibility API base URL.")
    prediction_url: str = Field("http://127.0.0.1:8002", description="Prediction API base URL.")
    randomization_url: str = Field("http://127.0.0.1:8003",
                                   description="Randomization API base URL.")
    followup_url: str = Field("http://127.0.0.1:8004", description="Follow-up API base URL.")
    request_timeout_seconds: float = Field(15.0, gt=0, description="Timeout of one API call.")

    dev_sign_in: bool = Field(
        True, description="Offer the local sign-in (choose a site and roles, get a development "
                          "token signed with JWT_SECRET). Turn off in production.")
    jwt_secret: str = Field(LOCAL_DEV_JWT_SECRET,
                            description="HS256 secret of development tokens (the services').")
    jwt_issuer: str | None = Field(None, description="`iss` of development tokens, when set.")
    jwt_audience: str | None = Field(None, description="`aud` of development tokens, when set.")

    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer URL; sign-in by authorization code with PKCE "
                          "when set (discovery at <issuer>/.well-known/openid-configuration).")
    oidc_client_id: str | None = Field(None, description="The console's client id at the IdP.")
    oidc_client_secret: str | None = Field(
        None, description="Client secret, for a confidential client (PKCE is used either way).")
    oidc_redirect_uri: str | None = Field(
        None, description="This console's callback, registered at the IdP: "
                          "https://<console>/auth/callback.")
    oidc_scopes: str = Field("openid profile", description="Scopes asked for.")
    oidc_provider_name: str = Field("your identity provider",
                                    description="Shown on the sign-in button.")

    session_ttl_seconds: int = Field(8 * 3600, ge=60, description="A session's lifetime.")
    cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only "
                                                   "(set true behind TLS).")
    log_level: str = Field("INFO", description="Python log level.")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        # docker compose passes `${OIDC_ISSUER:-}` as an empty string when it is not set.
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if v != "" or not k.lower().startswith("oidc")}
        return values

    @model_validator(mode="after")
    def _oidc_complete(self) -> ConsoleSettings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_redirect_uri):
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_REDIRECT_URI")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url"))

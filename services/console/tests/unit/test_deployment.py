"""The console as deployed: its compose service talks to the four services by their compose names
and ports, every variable it sets is a setting, the one Dockerfile's command runs it, and a blank
OIDC variable (compose's `${OIDC_ISSUER:-}`) means no OIDC."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from unittest import mock

import yaml

from rescue_console.settings import SERVICES, ConsoleSettings

REPO = Path(__file__).resolve().parents[4]


def test_the_compose_console_reaches_each_service_by_its_compose_name_and_port() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    console = compose["services"]["console"]
    assert console["build"]["args"] == {"SERVICE": "console", "PORT": 8000}
    environment = console["environment"]
    for service in SERVICES:
        port = compose["services"][service]["environment"]["PORT"]
        assert environment[f"{service.upper()}_URL"] == f"http://{service}:{port}"
        assert console["depends_on"][service] == {"condition": "service_healthy"}
    settings = set(ConsoleSettings.model_fields)
    assert {name.lower() for name in environment} <= settings
    assert "8000/healthz" in " ".join(console["healthcheck"]["test"])
    assert ConsoleSettings.model_fields["port"].default == 8000


def test_the_one_dockerfile_runs_the_console_script() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert 'CMD ["sh", "-c", "exec rescue-$SERVICE serve"]' in dockerfile
    project = tomllib.loads((REPO / "services" / "console" / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["rescue-console"] == "rescue_console.__main__:main"


def test_blank_oidc_variables_leave_oidc_off() -> None:
    blank = {"OIDC_ISSUER": "", "OIDC_CLIENT_ID": "", "OIDC_REDIRECT_URI": ""}
    with mock.patch.dict(os.environ, blank):
        assert not ConsoleSettings().oidc_enabled
    with mock.patch.dict(os.environ, blank | {"OIDC_ISSUER": "https://idp.example"}):
        try:
            ConsoleSettings()
        except ValueError as error:
            assert "OIDC_CLIENT_ID" in str(error)
        else:
            raise AssertionError("an issuer without a client id was accepted")

"""Settings as a deployment file's environment makes them, for the compose and Helm checks:
which variable names a settings class reads, and the settings built from a mapping alone."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


def settings_env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """Environment variable -> field name, as pydantic-settings maps them for `cls`."""
    prefix = cls.model_config.get("env_prefix", "")
    names = {}
    for field_name, info in cls.model_fields.items():
        alias = info.validation_alias or info.alias
        env_name = alias if isinstance(alias, str) else f"{prefix}{field_name}"
        names[env_name.upper()] = field_name
    return names


@functools.cache
def _isolated(cls: type[BaseSettings]) -> type[BaseSettings]:
    """`cls` reading only its keyword arguments: the checks must not see this shell's env."""

    class Isolated(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type, init_settings: PydanticBaseSettingsSource,
            **other_sources: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    return Isolated


def settings_from_env(cls: type[BaseSettings], env: Mapping[str, str]) -> Any:
    """`cls` built from `env` alone (the variables it reads; others ignored)."""
    names = settings_env_names(cls)
    return _isolated(cls)(**{names[key]: value for key, value in env.items() if key in names})

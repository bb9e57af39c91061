"""Versioned protocol files: one loader for every service.

A service keeps its protocol as YAML package data, `<stem>-v<version>.yaml` (e.g.
`eligibility-v1.yaml`), each declaring its own `version`. The version in force for new records is
the `PROTOCOL_VERSION` setting; records keep the version they were made under, so a later file
never rewrites them. Files are read once per process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Generic, TypeVar

import yaml

Protocol = TypeVar("Protocol")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class ProtocolFileError(ValueError):
    """A protocol file that is missing, unreadable or invalid."""


def _natural_key(version: str) -> list[tuple[int, int | str]]:
    """Digit runs compare as numbers, the rest as text: 1 < 2 < 2a < 10 < 10.1."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", version) if p]


class ProtocolFiles(Generic[Protocol]):
    """The `<stem>-v<version>.yaml` files of `package`, each turned into a `Protocol` by `parse`
    (which receives the file's mapping and its name, and raises ValueError when invalid)."""

    def __init__(self, package: str, stem: str,
                 parse: Callable[[Mapping[str, Any], str], Protocol]) -> None:
        self.package = package
        self.stem = stem
        self._parse = parse
        self.load = cache(self._load)

    def file_name(self, version: str) -> str:
        return f"{self.stem}-v{version}.yaml"

    def available_versions(self) -> list[str]:
        """The versions present, in natural order (1, 2, 2a, 10)."""
        pattern = re.compile(rf"^{re.escape(self.stem)}-v(.+)\.yaml$")
        names = (f.name for f in resources.files(self.package).iterdir())
        return sorted((m.group(1) for n in names if (m := pattern.match(n))), key=_natural_key)

    def _declared_version(self, data: Mapping[str, Any]) -> str:
        """`version: 1`, or `protocol_version: <stem>-v1` (the prediction file's spelling)."""
        if "version" in data:
            return str(data["version"])
        label = str(data.get("protocol_version", ""))
        prefix = f"{self.stem}-v"
        return label[len(prefix):] if label.startswith(prefix) else label

    def _load(self, version: str) -> Protocol:
        """The protocol of `version`; ProtocolFileError when missing, invalid or mislabelled."""
        if not _VERSION.match(version):
            raise ProtocolFileError(f"invalid protocol version {version!r}")
        name = self.file_name(version)
        path = resources.files(self.package) / name
        if not path.is_file():
            raise ProtocolFileError(f"no protocol file {name} (available: "
                                    f"{', '.join(self.available_versions()) or 'none'})")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ProtocolFileError(f"{name} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ProtocolFileError(f"{name} must hold a mapping")
        declared = self._declared_version(data)
        if declared != version:
            raise ProtocolFileError(f"{name} declares version {declared!r}")
        try:
            return self._parse(data, name)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ProtocolFileError(f"{name} is invalid: {exc}") from exc

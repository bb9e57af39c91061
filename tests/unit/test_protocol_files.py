"""One loader reads every service's versioned protocol files."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from rescue_shared.protocols import ProtocolFileError, ProtocolFiles

PACKAGES = {
    "rescue_eligibility.protocols": "eligibility",
    "rescue_prediction.protocols": "prediction",
    "rescue_randomization.protocols": "randomization",
    "rescue_followup.protocols": "followup",
}


def as_mapping(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    return dict(data)


@pytest.mark.parametrize(("package", "stem"), PACKAGES.items())
def test_every_service_has_version_1_in_force(package: str, stem: str) -> None:
    files = ProtocolFiles(package, stem, as_mapping)
    assert "1" in files.available_versions()
    assert files.load("1")  # declares the version its name says
    assert files.load("1") is files.load("1")  # read once per process


def test_a_missing_version_names_the_file_and_what_exists() -> None:
    files = ProtocolFiles("rescue_followup.protocols", "followup", as_mapping)
    with pytest.raises(ProtocolFileError, match=r"followup-v9\.yaml.*available: 1"):
        files.load("9")


def test_a_path_in_the_version_is_refused() -> None:
    files = ProtocolFiles("rescue_followup.protocols", "followup", as_mapping)
    with pytest.raises(ProtocolFileError, match="invalid protocol version"):
        files.load("../1")


def test_the_parser_rejecting_the_file_is_a_protocol_error() -> None:
    def strict(data: Mapping[str, Any], name: str) -> None:
        raise ValueError("visit_schedule.every_months must be positive")

    files = ProtocolFiles("rescue_followup.protocols", "followup", strict)
    with pytest.raises(ProtocolFileError, match=r"followup-v1\.yaml is invalid: visit_schedule"):
        files.load("1")


def test_versions_are_in_natural_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("10", "2", "1", "2a", "1.10", "1.9"):
        (tmp_path / f"followup-v{version}.yaml").write_text(f"version: '{version}'\n")
    (tmp_path / "README.md").write_text("not a protocol")
    (tmp_path / "followup-v3.yml").write_text("version: '3'\n")
    monkeypatch.setattr(resources, "files", lambda _package: tmp_path)
    files = ProtocolFiles("rescue_followup.protocols", "followup", as_mapping)
    assert files.available_versions() == ["1", "1.9", "1.10", "2", "2a", "10"]
    assert files.load("1.10") == {"version": "1.10"}

"""The protocol's criteria: the version in force, and any version shipped."""

from __future__ import annotations

from dataclasses import dataclass

from rescue_eligibility.domain.criteria import Protocol
from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rescue_shared.errors import NotFound


@dataclass(frozen=True)
class CriteriaInForce:
    current_version: str
    available_versions: list[str]
    protocol: Protocol


def criteria_in_force(uow: EligibilityUnitOfWork) -> CriteriaInForce:
    """The criteria new screenings are judged by, and the versions there are."""
    return CriteriaInForce(current_version=uow.protocol_version,
                           available_versions=uow.protocols.available_versions(),
                           protocol=uow.protocols.load(uow.protocol_version))


def protocol_of_version(uow: EligibilityUnitOfWork, version: str) -> Protocol:
    """The criteria of `version`; NotFound, listing the versions there are, when none."""
    available = uow.protocols.available_versions()
    if version not in available:
        raise NotFound(f"unknown eligibility protocol version {version!r}; "
                       f"available: {', '.join(available)}")
    return uow.protocols.load(version)

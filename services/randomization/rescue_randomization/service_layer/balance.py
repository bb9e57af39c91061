"""Allocation balance by arm, overall and per stratum (never the next allocation)."""

from __future__ import annotations

from rescue_randomization.domain.arms import Arm
from rescue_randomization.service_layer.trial_setup import configuration_in_force
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_randomization.service_layer.views import ArmCounts, Balance, StratumBalance


def _add(counts: ArmCounts, arm: str) -> None:
    if arm == Arm.SCS_CHEMO:
        counts.SCS_CHEMO += 1
    elif arm == Arm.CHEMO:
        counts.CHEMO += 1
    else:
        raise ValueError(f"unknown arm {arm!r}")
    counts.total += 1


async def balance(uow: RandomizationUnitOfWork, *, protocol_version: str) -> Balance:
    """`allocated` counts every allocation (an invalidated one keeps its slot); `valid` leaves
    invalidated ones out."""
    config = await configuration_in_force(uow, protocol_version)
    result = Balance(scheme=config.scheme.scheme, allocated=ArmCounts(), valid=ArmCounts(),
                     invalidated=0, strata=[])
    strata: dict[str, StratumBalance] = {}
    for row in await uow.allocations.in_order():
        stratum = strata.setdefault(row.stratum_key, StratumBalance(
            stratum=dict(row.stratum), stratum_key=row.stratum_key, allocated=ArmCounts(),
            valid=ArmCounts(), imbalance=0))
        _add(result.allocated, row.arm)
        _add(stratum.allocated, row.arm)
        if row.invalidated_at is None:
            _add(result.valid, row.arm)
            _add(stratum.valid, row.arm)
        else:
            result.invalidated += 1
        stratum.imbalance = stratum.allocated.SCS_CHEMO - stratum.allocated.CHEMO
    result.strata = sorted(strata.values(), key=lambda s: s.stratum_key)
    return result

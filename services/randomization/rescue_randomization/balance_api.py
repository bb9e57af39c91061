"""Allocation balance by arm, overall and per stratum (never the next allocation)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from rescue_randomization.access import ProtocolVersion, TrialTeam
from rescue_randomization.protocol import load_protocol
from rescue_randomization.schemas import ArmCounts, Balance, StratumBalance
from rescue_randomization.tables import Allocation, Trial
from rescue_randomization.trial import config_of
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["balance"])


def _add(counts: ArmCounts, arm: str) -> None:
    setattr(counts, arm, getattr(counts, arm) + 1)
    counts.total += 1


@router.get("/balance", response_model=Balance,
            summary="Counts by arm overall and per stratum")
async def balance(principal: TrialTeam, uow: UoW, version: ProtocolVersion) -> Balance:
    """`allocated` counts every allocation (an invalidated one keeps its slot); `valid` leaves
    invalidated ones out."""
    trial = await uow.session.get(Trial, 1)
    config = config_of(trial) if trial else load_protocol(version).randomization
    rows = (await uow.session.exec(select(Allocation).order_by(col(Allocation.sequence)))).all()
    result = Balance(scheme=config.scheme.scheme, allocated=ArmCounts(), valid=ArmCounts(),
                     invalidated=0, strata=[])
    strata: dict[str, StratumBalance] = {}
    for row in rows:
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

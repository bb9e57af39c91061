"""What a subject's CA-125 figure shows: her values, the fitted decline, the window, the ULN."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rescue_prediction.domain.kinetics import KineticsResult, fit_k, points_from_observations
from rescue_prediction.domain.units import NormalisedCa125
from rescue_prediction.service_layer.access import Caller, visible_subject
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.errors import NotFound


@dataclass(frozen=True)
class Ca125Curve:
    subject_id: str
    values: list[NormalisedCa125]
    chemotherapy_start_date: date | None
    fit: KineticsResult | None  # None without a chemotherapy start
    uln_u_ml: float


async def ca125_curve(uow: PredictionUnitOfWork, caller: Caller, subject_id: str) -> Ca125Curve:
    """Her curve's data; NotFound when she has no values."""
    subject = await visible_subject(uow, caller, subject_id)
    values = [m.normalised() for m in await uow.ca125.series(subject_id)]
    if not values:
        raise NotFound(f"no CA-125 values for subject {subject_id}")
    protocol = uow.protocol
    start = subject.chemotherapy_start_date
    fit = (fit_k(points_from_observations(values, start), protocol.kinetics_settings())
           if start else None)
    return Ca125Curve(subject_id=subject_id, values=values, chemotherapy_start_date=start,
                      fit=fit, uln_u_ml=protocol.gcig.uln_u_ml_default.value)

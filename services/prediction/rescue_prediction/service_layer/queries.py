"""Prediction's automatic data-query check, run whenever the prediction is recomputed (a
screening, CA-125 values or a correction arrived; docs/data-queries.md): the
screening's "GCIG CA-125 response" against the CA-125 series received. It runs with every
change of its inputs, so it needs no sweep."""

from __future__ import annotations

from collections.abc import Sequence

from rescue_prediction.domain.model import StoredCa125, Subject
from rescue_prediction.domain.query_checks import (
    GCIG_RESPONSE_VS_CA125,
    gcig_response_disagreement,
)
from rescue_prediction.domain.units import NormalisedCa125
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.contracts.events import PredictionQueryChanged
from rescue_shared.queries.use_cases import sync_findings


async def check_subject(uow: PredictionUnitOfWork, subject: Subject,
                        series: Sequence[StoredCa125]) -> int:
    """Open or close the subject's automatic queries (the caller commits)."""
    if subject.awaiting_screening or subject.chemotherapy_start_date is None:
        return 0
    values = [NormalisedCa125(effective_date=v.effective_date, value_u_ml=v.value_u_ml,
                              original_value=v.original_value, original_unit=v.original_unit,
                              loinc=v.loinc, censoring=v.censoring) for v in series]
    finding = gcig_response_disagreement(subject.subject_id, subject.clinical_facts, values,
                                         subject.chemotherapy_start_date,
                                         uow.protocol.gcig_kwargs())
    changed = await sync_findings(uow, PredictionQueryChanged, site_id=subject.site_id,
                                  subject_id=subject.subject_id, checks={GCIG_RESPONSE_VS_CA125},
                                  findings=[finding] if finding else [])
    return len(changed)


async def site_of(uow: PredictionUnitOfWork, subject_id: str) -> str | None:
    subject = await uow.subjects.get(subject_id)
    return None if subject is None or subject.awaiting_screening else subject.site_id

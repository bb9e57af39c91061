"""GET /v1/subjects: a site's screened subjects with their latest screening (the console's
worklist), never another site's."""

from __future__ import annotations

import pytest
from harness import ELIGIBLE_FACTS

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration


async def test_each_site_lists_its_own_subjects_with_their_latest_screening(
    eligibility: RunningService,
) -> None:
    s01, s02 = auth("S01", "site_user"), auth("S02", "investigator")
    for subject, site, date, facts in (
        ("S01-0001", s01, "2026-03-01", {"age_years": 18}),
        ("S01-0001", s01, "2026-03-05", {}),  # re-screened: the latest counts
        ("S01-0002", s01, "2026-03-03", {}),
        ("S02-0001", s02, "2026-03-04", {}),
    ):
        response = await eligibility.client.post("/v1/screenings", headers=s01 | site, json={
            "subject_id": subject, "screening_date": date,
            "facts": {**ELIGIBLE_FACTS, **facts}})
        assert response.status_code == 201, response.text

    own = (await eligibility.client.get("/v1/subjects", headers=s01)).json()
    assert [(s["subject_id"], s["screening_date"], s["outcome"]) for s in own] == [
        ("S01-0001", "2026-03-05", "eligible"), ("S01-0002", "2026-03-03", "eligible")]
    everyone = (await eligibility.client.get("/v1/subjects",
                                             headers=auth(None, "statistician"))).json()
    assert {s["subject_id"] for s in everyone} == {"S01-0001", "S01-0002", "S02-0001"}
    assert (await eligibility.client.get("/v1/subjects")).status_code == 401
